"""Small datasets written in the exact on-disk formats of the benchmarks, for reader and parity tests.

Images are empty files (readers never open them; the got10k toolkit only lists them).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.data import otb_table
from automatch_jax.data.imagery import INDEX, Imagery
from automatch_jax.data.lasot import TEST_SEQUENCES

# OTB sequences with more images on disk than annotated frames: name -> number of images.
_OTB_EXTRA_IMAGES = {"David": 770, "Football1": 79, "Freeman3": 463, "Freeman4": 285, "Diving": 219}
_SEPARATORS = ("\t", ",", " ", ", ")


def random_boxes(rng: np.random.Generator, n: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """(n, 4) boxes drifting smoothly inside an image of ``size``, rounded to pixels like real annotations."""
    w = rng.uniform(20, 120) * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    h = rng.uniform(20, 120) * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    x = np.clip(rng.uniform(0, size[0] - 150) + np.cumsum(rng.normal(0, 3, n)), 1, size[0] - 130)
    y = np.clip(rng.uniform(0, size[1] - 150) + np.cumsum(rng.normal(0, 3, n)), 1, size[1] - 130)
    return np.round(np.stack([x, y, w, h], axis=1))


def tracker_output(
    rng: np.random.Generator, gt: np.ndarray, size: tuple[int, int] = (640, 480)
) -> np.ndarray:
    """Plausible tracker boxes for ``gt``: jittered, sometimes lost far away, sometimes partly off-image."""
    n = len(gt)
    boxes = gt + rng.normal(0, 6, (n, 4)) * np.array([1, 1, 0.5, 0.5])
    lost = rng.random(n) < 0.15
    boxes[lost, :2] = rng.uniform(0, size[0], (int(lost.sum()), 2))
    off = rng.random(n) < 0.05
    boxes[off, 0] = -boxes[off, 2] / 2
    boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
    return np.round(boxes, 3)


def _write_boxes(path: Path, boxes: np.ndarray, sep: str = ",", fmt: str = "%g") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(fmt % v for v in row) for row in boxes]
    path.write_text("\n".join(lines) + "\n")


def _touch_images(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).touch()


def write_otb_root(root: Path, rng: np.random.Generator, images: bool = False) -> dict[str, np.ndarray]:
    """All 100 OTB100 sequences (annotation files, and empty images when ``images``); returns name -> gt."""
    gts: dict[str, np.ndarray] = {}
    for index, (name, entry) in enumerate(otb_table.TABLE.items()):
        n = entry.end_frame - entry.start_frame + 1 if entry.end_frame else int(rng.integers(6, 12))
        if entry.folder != name and entry.folder + "-1" != name:
            # the second target of a two-target video has the same length as the first
            n = len(gts[entry.folder + "-1"])
        gt = random_boxes(rng, n)
        gts[name] = gt
        folder = root / entry.folder
        _write_boxes(folder / entry.anno_file, gt, _SEPARATORS[index % len(_SEPARATORS)])
        if name == "Human4":
            (folder / "groundtruth_rect.1.txt").write_text("\n")
        if images:
            last = _OTB_EXTRA_IMAGES.get(name, entry.start_frame + n - 1)
            first = 1 if name in _OTB_EXTRA_IMAGES else entry.start_frame
            _touch_images(folder / "img", [f"{i:0{entry.digits}d}.jpg" for i in range(first, last + 1)])
    return gts


def write_got10k_split(
    root: Path, split: str, rng: np.random.Generator, n_sequences: int = 4, first_only: bool = False
) -> dict[str, np.ndarray]:
    """A GOT-10k split folder ``root/split`` with ``n_sequences`` videos; returns name -> full gt."""
    names = [f"GOT-10k_{split.capitalize()}_{i:06d}" for i in range(1, n_sequences + 1)]
    split_dir = root / split
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "list.txt").write_text("\n".join(names) + "\n")
    gts = {}
    for name in names:
        n = int(rng.integers(8, 20))
        size = (int(rng.choice([640, 1280])), int(rng.choice([360, 720])))
        gt = random_boxes(rng, n, size)
        gt[-1, 0] = size[0] - gt[-1, 2] / 2  # a box cut by the image border: GOT-10k clips it
        gts[name] = gt
        folder = split_dir / name
        _write_boxes(folder / "groundtruth.txt", gt[:1] if first_only else gt, ",", "%.4f")
        _touch_images(folder, [f"{i:08d}.jpg" for i in range(1, n + 1)])
        (folder / "meta_info.ini").write_text(
            "[METAINFO]\nurl: https://youtu.be/x\nbegin_time: 0\nend_time: 10\nanno_fps: 10Hz\n"
            f"object_class: cat\nmotion_class: walking\nmajor_class: animal\nroot_class: object\n"
            f"motion_adverb: slowly\nresolution: ({size[0]}, {size[1]})\n"
        )
        if not first_only:
            cover = rng.integers(0, 9, n)
            cover[0] = 8
            absence = (cover == 0).astype(int)
            for label, values in (
                ("cover", cover),
                ("absence", absence),
                ("cut_by_image", rng.integers(0, 2, n)),
            ):
                (folder / f"{label}.label").write_text("\n".join(str(v) for v in values) + "\n")
    return gts


def write_lasot_root(
    root: Path,
    rng: np.random.Generator,
    grouped: bool = True,
    train: tuple[str, ...] = ("airplane-2", "cat-5"),
) -> dict[str, np.ndarray]:
    """The 280 LaSOT test videos (and a few training ones), 4-9 frames each; returns name -> gt."""
    gts = {}
    for name in (*TEST_SEQUENCES, *train):
        n = int(rng.integers(4, 10))
        folder = root / name.rsplit("-", 1)[0] / name if grouped else root / name
        gt = random_boxes(rng, n, (1280, 720))
        gt[0, 0] = max(gt[0, 0], 1)
        gts[name] = gt
        _write_boxes(folder / "groundtruth.txt", gt, ",", "%d")
        occlusion = (rng.random(n) < 0.2).astype(int)
        out_of_view = (rng.random(n) < 0.1).astype(int)
        occlusion[0] = out_of_view[0] = 0
        (folder / "full_occlusion.txt").write_text(",".join(map(str, occlusion)))
        (folder / "out_of_view.txt").write_text(",".join(map(str, out_of_view)))
        (folder / "nlp.txt").write_text(f"the {name.split('-')[0]} in the middle\n")
    return gts


def write_trackingnet_split(
    root: Path, split: str, rng: np.random.Generator, n_sequences: int = 3
) -> dict[str, np.ndarray]:
    """A TrackingNet split; TEST annotations hold the first box only. Returns name -> full gt."""
    gts = {}
    for i in range(n_sequences):
        name = f"video_{i:03d}"
        n = int(rng.integers(5, 12))
        gt = random_boxes(rng, n)
        gts[name] = gt
        _write_boxes(root / split / "anno" / f"{name}.txt", gt[:1] if split == "TEST" else gt, ",", "%.2f")
        _touch_images(root / split / "frames" / name, [f"{k}.jpg" for k in range(n)])
    return gts


def save_imagery(imagery: Imagery, folder: Path) -> Path:
    """Writes ``imagery`` as an imagery cache folder (what ``automatch fetch-imagery`` makes)."""
    for kind, items, suffix in (("backgrounds", imagery.backgrounds, "jpg"), ("cutouts", imagery.cutouts, "png")):
        (folder / kind).mkdir(parents=True)
        for i, image in enumerate(items):
            cv2.imwrite(str(folder / kind / f"{i}.{suffix}"), image)
    index = {"backgrounds": [f"{i}.jpg" for i in range(len(imagery.backgrounds))],
             "cutouts": [f"{i}.png" for i in range(len(imagery.cutouts))]}
    (folder / INDEX).write_text(json.dumps(index))
    return folder


def rotated_boxes(rng: np.random.Generator, n: int, size: tuple[int, int] = (96, 72)) -> np.ndarray:
    """(n, 8) rotated rectangles x1, y1, ..., x4, y4 (VOT polygons) drifting inside an image of ``size``."""
    w, h = size
    centre = np.array([w / 2, h / 2]) + np.cumsum(rng.normal(0, 1.0, (n, 2)), axis=0)
    centre = np.clip(centre, [12, 12], [w - 12, h - 12])
    sides = np.abs(rng.uniform(14, 24, 2) + np.cumsum(rng.normal(0, 0.2, (n, 2)), axis=0)) + 4
    angle = rng.uniform(0, np.pi) + np.cumsum(rng.normal(0, 0.05, n))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) / 2
    out = np.empty((n, 8))
    for i in range(n):
        rotation = np.array([[np.cos(angle[i]), -np.sin(angle[i])], [np.sin(angle[i]), np.cos(angle[i])]])
        out[i] = ((corners * sides[i]) @ rotation.T + centre[i]).ravel()
    return np.round(out, 3)


def write_vot_root(
    root: Path, rng: np.random.Generator, lengths: tuple[int, ...] = (40, 55), size: tuple[int, int] = (96, 72)
) -> dict[str, np.ndarray]:
    """A VOT2019-style folder: ``list.txt``, per sequence ``color/00000001.jpg ...`` (real, tiny JPEG frames),
    ``groundtruth.txt`` of polygons (the second sequence's first two frames written as x,y,w,h) and the
    ``sequence`` metadata file vot-toolkit reads. Returns name -> (n, 8) polygons."""
    names = [f"seq{i}" for i in range(len(lengths))]
    (root / "list.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "list.txt").write_text("\n".join(names) + "\n")
    frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    polygons = {}
    for index, (name, n) in enumerate(zip(names, lengths, strict=True)):
        folder = root / name
        (folder / "color").mkdir(parents=True)
        poly = rotated_boxes(rng, n, size)
        polygons[name] = poly
        lines = [",".join(f"{v:g}" for v in row) for row in poly]
        if index == 1:
            for i in range(2):
                xs, ys = poly[i, 0::2], poly[i, 1::2]
                box = [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
                lines[i] = ",".join(f"{v:.3f}" for v in box)
        (folder / "groundtruth.txt").write_text("\n".join(lines) + "\n")
        for i in range(1, n + 1):
            cv2.imwrite(str(folder / "color" / f"{i:08d}.jpg"), frame)
        (folder / "sequence").write_text(f"channels.color=color/%08d.jpg\nfps=30\nformat=default\nname={name}\n")
    return polygons


def write_tnl2k_root(root: Path, rng: np.random.Generator, n_sequences: int = 4) -> dict[str, np.ndarray]:
    """TNL2K videos (``imgs/00001.png ...``, ``groundtruth.txt``, ``language.txt``) with a stretch of absent
    frames annotated 0,0,0,0 in each; returns name -> gt."""
    gts = {}
    for i in range(n_sequences):
        name = f"Video_{i:03d}"
        n = int(rng.integers(12, 25))
        gt = random_boxes(rng, n, (1280, 720))
        start = int(rng.integers(2, n - 3))
        gt[start : start + int(rng.integers(1, 4))] = 0
        gts[name] = gt
        _write_boxes(root / name / "groundtruth.txt", gt, ",", "%d")
        _touch_images(root / name / "imgs", [f"{k:05d}.png" for k in range(1, n + 1)])
        (root / name / "language.txt").write_text("the person in red\n")
    return gts
