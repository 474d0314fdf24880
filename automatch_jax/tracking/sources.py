"""Where frames come from: a video file, a folder of frames, an OTB or VOT sequence folder, or a webcam.

Every source yields BGR uint8 frames (OpenCV's order) and fails with one clear line when it cannot be read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.errors import AutomatchError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def read_image(path: str | Path) -> np.ndarray:
    """A frame file as (H, W, 3) uint8 BGR; AutomatchError naming the file if it is missing or unreadable."""
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        problem = "not found" if not Path(path).is_file() else "unreadable image"
        raise AutomatchError(f"{path}: {problem}")
    return frame


@dataclasses.dataclass
class FrameSource:
    """Frames in order, with what is known about them.

    Attributes:
      name: a name for results (the sequence or video name).
      init_box: the first frame's ``x, y, w, h`` from the sequence's annotation, if the source has one.
      gt: (N, 4) ground truth where the source is an annotated sequence.
      fps: the video's frame rate if known (for the annotated video written back).
      length: number of frames if known.
    """

    name: str
    _frames: Iterator[np.ndarray]
    init_box: np.ndarray | None = None
    gt: np.ndarray | None = None
    fps: float | None = None
    length: int | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        return self._frames


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _from_files(name: str, files: list[str] | list[Path], **kwargs) -> FrameSource:
    return FrameSource(name, (read_image(f) for f in files), length=len(files), **kwargs)


def _from_capture(name: str, capture: cv2.VideoCapture, what: str) -> FrameSource:
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise AutomatchError(f"{what}: no frame could be read (empty or unreadable video)")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None

    def frames() -> Iterator[np.ndarray]:
        frame = first
        try:
            while frame is not None:
                yield frame
                ok, frame = capture.read()
                if not ok:
                    break
        finally:
            capture.release()

    return FrameSource(name, frames(), fps=fps, length=count if count and count > 0 else None)


def _sequence_source(folder: Path) -> FrameSource | None:
    """An OTB (``groundtruth_rect*.txt`` + ``img/``) or VOT (``groundtruth.txt`` + ``color/`` or images) folder,
    read on its own (a broken sibling folder does not matter)."""
    from automatch_jax.data.benchmarks import read_sequence_folder

    sequence = read_sequence_folder(folder)
    if sequence is None:
        return None
    missing = [f for f in sequence.frames if not Path(f).is_file()]
    if missing:
        raise AutomatchError(
            f"{folder}: {len(missing)} frames of the annotation are missing (first: {missing[0]})"
        )
    return _from_files(
        sequence.name, list(sequence.frames), init_box=np.asarray(sequence.init_box), gt=sequence.gt
    )


def open_source(source: str | Path) -> FrameSource:
    """The frames of ``source``: a video file, a folder of frames, an OTB/VOT sequence folder, or a webcam index."""
    text = str(source)
    if text.isdigit() and not Path(text).exists():
        capture = cv2.VideoCapture(int(text))
        if not capture.isOpened():
            raise AutomatchError(f"webcam {text}: cannot be opened")
        return _from_capture(f"webcam{text}", capture, f"webcam {text}")
    path = Path(source)
    if not path.exists():
        raise AutomatchError(f"{path}: no such video, folder or webcam index")
    if path.is_dir():
        sequence = _sequence_source(path)
        if sequence is not None:
            return sequence
        files = _image_files(path)
        if not files:
            raise AutomatchError(f"{path}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        return _from_files(path.name, files)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _from_files(path.stem, [path])
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise AutomatchError(f"{path}: unreadable video")
    return _from_capture(path.stem, capture, str(path))
