"""The demo sequence: a real photo (scikit-image's ``chelsea``) moving over another (``rocket``) along a smooth
path, with scale and illumination change, written in OTB layout with its exact ground truth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DEMO_NAME = "Demo"
FRAME_SIZE = (480, 320)  # width, height


def demo_frames(n_frames: int = 100, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``n_frames`` BGR frames and their (N, 4) ``x, y, w, h`` boxes (0-based pixel edges)."""
    from skimage import data as photos

    rng = np.random.default_rng(seed)
    width, height = FRAME_SIZE
    background = cv2.resize(photos.rocket()[..., ::-1], (width, height), interpolation=cv2.INTER_AREA)
    target = photos.chelsea()[:, 40:420, ::-1]  # the cat's face
    base_w, base_h = 72, 57
    phase = rng.uniform(0, 2 * np.pi, 4)
    frames, boxes = [], []
    for i in range(n_frames):
        t = i / max(n_frames - 1, 1)
        scale = 1.0 + 0.25 * np.sin(2 * np.pi * t + phase[0])
        w, h = base_w * scale, base_h * scale
        cx = width / 2 + (width / 2 - w) * 0.8 * np.sin(2 * np.pi * t * 1.0 + phase[1])
        cy = height / 2 + (height / 2 - h) * 0.7 * np.sin(2 * np.pi * t * 1.5 + phase[2])
        x0, y0 = cx - w / 2, cy - h / 2
        # paste with sub-pixel accuracy: an affine map of the target photo onto its box
        sx, sy = w / target.shape[1], h / target.shape[0]
        matrix = np.array([[sx, 0, x0 + 0.5 * sx - 0.5], [0, sy, y0 + 0.5 * sy - 0.5]])
        layer = cv2.warpAffine(target, matrix, (width, height), flags=cv2.INTER_AREA)
        mask = cv2.warpAffine(np.ones(target.shape[:2], np.float32), matrix, (width, height))[..., None]
        gain = 1.0 + 0.3 * np.sin(2 * np.pi * t * 2 + phase[3])  # illumination change over the whole frame
        frame = background * (1 - mask) + layer * mask
        frames.append(np.clip(frame * gain, 0, 255).astype(np.uint8))
        boxes.append([x0, y0, w, h])
    return frames, np.array(boxes)


def write_demo_sequence(root: Path, n_frames: int = 100, seed: int = 0) -> Path:
    """Write the demo as an OTB-format sequence ``root/Demo`` (``img/0001.jpg``..., ``groundtruth_rect.txt``,
    ``attributes.txt``); returns the sequence folder."""
    frames, boxes = demo_frames(n_frames, seed)
    folder = Path(root) / DEMO_NAME
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / "img" / f"{i:04d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    np.savetxt(folder / "groundtruth_rect.txt", boxes, fmt="%.3f", delimiter=",")
    (folder / "attributes.txt").write_text("IV,SV\n")
    return folder
