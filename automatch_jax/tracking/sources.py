"""Where frames come from: a video file, a folder of frames, an OTB or VOT sequence folder, or a webcam.

Every source yields (H, W, 3) BGR uint8 frames (OpenCV's order) and fails with one clear line naming the file when
it cannot be read. Image files: 8- and 16-bit files (16-bit scaled to 8 bits), greyscale (replicated to three
channels) and alpha (dropped) are read by OpenCV; float and 32-bit integer TIFFs follow the tracker's frame rules
(:data:`~automatch_jax.tracking.core.FRAME_RULES`: values on 0..255, float on 0..1 scaled by 255, anything else
refused). Videos: OpenCV decodes them with FFmpeg into BGR whatever their pixel format (greyscale, alpha, 10- or
16-bit); a video whose declared frames cannot all be decoded is refused before its first frame when it is
truncated (its last frame is probed first), and with a line naming the first undecodable frame when decoding
stops early in the middle. FFmpeg's and OpenCV's own log lines are kept off stderr
(``OPENCV_FFMPEG_LOGLEVEL``, when not set already, is FFmpeg's quiet level -8): the one-line errors replace them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.errors import AutomatchError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# frames a video may fall short of its declared count without being refused (containers such as Matroska declare
# no count and OpenCV estimates it from the duration): 2 frames plus 0.5 %
MISSING_FRAMES_ALLOWED = (2, 0.005)

# read by OpenCV when it first loads FFmpeg (at the first video opened, not at import)
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's own warnings (``[ WARN:0@...]`` lines on stderr) off for the duration; errors still raise."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def _as_uint8(image: np.ndarray, path: str | Path) -> np.ndarray:
    """An image OpenCV read unchanged (float or 32-bit samples, 1, 3 or 4 channels) as (H, W, 3) BGR uint8, by
    the tracker's frame rules; AutomatchError naming ``path`` if they refuse it."""
    from automatch_jax.tracking.core import as_frame

    try:
        frame = as_frame(image)
    except AutomatchError as exc:
        raise AutomatchError(f"{path}: {exc}") from None
    return frame if frame.dtype == np.uint8 else np.rint(frame).astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """A frame file as (H, W, 3) uint8 BGR; AutomatchError naming the file if it is missing or unreadable."""
    with quiet_opencv():
        try:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:  # float and 32-bit TIFFs are read only unchanged
                frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            frame = None
    if frame is None or not isinstance(frame, np.ndarray):
        problem = "not found" if not Path(path).is_file() else "unreadable image"
        raise AutomatchError(f"{path}: {problem}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        frame = _as_uint8(frame, path)
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


def _allowed_missing(count: int) -> int:
    """How many of a video's ``count`` declared frames may be missing (:data:`MISSING_FRAMES_ALLOWED`)."""
    frames, fraction = MISSING_FRAMES_ALLOWED
    return frames + int(count * fraction)


def decodable_frames(path: str | Path, count: int) -> int:
    """How far the video at ``path`` can be decoded towards its ``count`` declared frames: ``count`` when its last
    frame decodes, else the frame position where decoding stopped (a truncated file). One seek, not a full
    decode."""
    with quiet_opencv():
        capture = cv2.VideoCapture(str(path))
        try:
            capture.set(cv2.CAP_PROP_POS_FRAMES, count - 1)
            ok, _ = capture.read()
            reached = int(capture.get(cv2.CAP_PROP_POS_FRAMES))
        finally:
            capture.release()
    return count if ok else min(reached, count)


def _capture_frames(capture: cv2.VideoCapture, first: np.ndarray, what: str, expected: int | None) -> Iterator:
    """``first`` and every further frame of ``capture`` (released at the end); when decoding stops more than
    :func:`_allowed_missing` frames short of ``expected``, an AutomatchError naming the frame."""
    frame, decoded = first, 0
    try:
        while frame is not None:
            yield frame
            decoded += 1
            with quiet_opencv():
                ok, frame = capture.read()
            if not ok:
                break
    finally:
        capture.release()
    if expected is not None and decoded < expected - _allowed_missing(expected):
        raise AutomatchError(f"{what}: frame {decoded + 1} of {expected} cannot be decoded (corrupt video)")


def _from_capture(name: str, capture: cv2.VideoCapture, what: str, path: Path | None = None) -> FrameSource:
    """The frames of an opened ``capture``; ``path`` (a video file, not a webcam) is checked for truncation."""
    with quiet_opencv():
        ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise AutomatchError(f"{what}: no frame could be read (empty or unreadable video)")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    count = count if count > 0 else None
    expected = None
    if path is not None and count is not None and count > 1:
        expected = decodable_frames(path, count)
        if expected < count - _allowed_missing(count):
            capture.release()
            raise AutomatchError(f"{what}: only {expected} of its {count} frames can be decoded (truncated or "
                                 "corrupt video)")
    return FrameSource(name, _capture_frames(capture, first, what, expected), fps=fps, length=count)


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
        with quiet_opencv():
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
    if path.stat().st_size == 0:
        raise AutomatchError(f"{path}: empty file, not a video")
    with quiet_opencv():
        capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise AutomatchError(f"{path}: not a video that can be decoded (unknown format, or a corrupt or truncated "
                             "file)")
    return _from_capture(path.stem, capture, str(path), path)
