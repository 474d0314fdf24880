"""Where frames come from: a video file, a folder of frames, an OTB or VOT sequence folder, or a webcam.

Every source yields (H, W, 3) BGR uint8 frames (OpenCV's order) and fails with one clear line naming the file
when it cannot be read.

Frame files are read at their own depth and converted deliberately (:func:`to_bgr_uint8`): 8-bit as they are,
16-bit unsigned scaled by 1/257 (65535 -> 255), other integer types kept when their values lie within 0..255
(refused otherwise), float frames scaled by 255 when their values lie within [0, 1] and clipped to [0, 255]
otherwise (a NaN or infinite value is refused); grayscale becomes BGR, an alpha channel is dropped. Every file of
a frame folder or sequence is checked to be a readable image before the first frame is decoded.

Videos: FFmpeg's own log is silenced (``OPENCV_FFMPEG_LOGLEVEL=-8`` unless the environment sets it), so a broken
video is answered by our line alone. A video whose last declared frame cannot be decoded (a truncated or damaged
file) has no :attr:`FrameSource.length`; its frames are read until decoding stops, less the last frame decoded
(the one the file was cut through, which decodes only in part), and :meth:`FrameSource.shortfall` then says how
many of the declared frames were read.
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


@contextlib.contextmanager
def _opencv_quiet() -> Iterator[None]:
    """OpenCV's own warnings silenced for the duration (our error names the file instead)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def _quiet_ffmpeg() -> None:
    """Silence FFmpeg's log unless the user set ``OPENCV_FFMPEG_LOGLEVEL``; OpenCV reads it at its first capture."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


_quiet_ffmpeg()  # on import too: OpenCV reads it once, at the process's first video capture or writer


def _video_capture(path: Path) -> cv2.VideoCapture:
    """A capture of the video file at ``path`` through FFmpeg where OpenCV has it (its other readers print their own
    complaints about a damaged file)."""
    backend = cv2.CAP_FFMPEG if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) else cv2.CAP_ANY
    with _opencv_quiet():
        return cv2.VideoCapture(str(path), backend)


def _bgr_channels(image: np.ndarray, path: str | Path) -> np.ndarray:
    """(H, W), (H, W, 1..4) -> (H, W, 3): grayscale repeated, the alpha channel (of 2 or 4) dropped."""
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise AutomatchError(f"{path}: an image of shape {image.shape} is not grayscale, BGR or BGRA")
    if image.shape[2] in (1, 2):
        return np.repeat(image[..., :1], 3, axis=2)
    return image[..., :3]


def _uint8_depth(image: np.ndarray, path: str | Path) -> np.ndarray:
    """Any depth -> uint8 on 0..255 (see the module docstring for the rule per dtype)."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer):
        low, high = int(image.min()), int(image.max())
        if low < 0 or high > 255:
            raise AutomatchError(
                f"{path}: {image.dtype} image values span {low}..{high}; expected 0..255 (or a 16-bit unsigned image)"
            )
        return image.astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise AutomatchError(f"{path}: {image.dtype} image holds NaN or infinite values")
        scale = 255.0 if image.min() >= 0 and image.max() <= 1 else 1.0
        return np.clip(np.rint(image.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    raise AutomatchError(f"{path}: {image.dtype} images are not supported")


def to_bgr_uint8(image: np.ndarray, path: str | Path = "image") -> np.ndarray:
    """A decoded image of any depth and 1-4 channels as (H, W, 3) uint8 BGR; ``path`` names it in errors."""
    return np.ascontiguousarray(_uint8_depth(_bgr_channels(image, path), path))


def read_image(path: str | Path) -> np.ndarray:
    """A frame file as (H, W, 3) uint8 BGR (converted by :func:`to_bgr_uint8`); AutomatchError naming the file if
    it is missing or unreadable."""
    with _opencv_quiet():
        image = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)  # applies EXIF orientation
        if image is None:  # e.g. a 4-channel float TIFF, which only the unchanged mode decodes
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        problem = "not found" if not Path(path).is_file() else "unreadable image"
        raise AutomatchError(f"{path}: {problem}")
    return to_bgr_uint8(image, path)


@dataclasses.dataclass
class FrameSource:
    """Frames in order, with what is known about them.

    Attributes:
      name: a name for results (the sequence or video name).
      init_box: the first frame's ``x, y, w, h`` from the sequence's annotation, if the source has one.
      gt: (N, 4) ground truth where the source is an annotated sequence.
      fps: the video's frame rate if known (for the annotated video written back).
      length: number of frames if known (for a video: the declared count, once its last frame has been decoded).
      declared_length: the frame count a video file declares, whether or not that many can be decoded.
      path: the video file, to name it in messages.
      frames_read: frames yielded so far.
      exhausted: whether iteration has reached the end of the source.
    """

    name: str
    _frames: Iterator[np.ndarray]
    init_box: np.ndarray | None = None
    gt: np.ndarray | None = None
    fps: float | None = None
    length: int | None = None
    declared_length: int | None = None
    path: Path | None = None
    frames_read: int = dataclasses.field(default=0, init=False)
    exhausted: bool = dataclasses.field(default=False, init=False)

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in self._frames:
            self.frames_read += 1
            yield frame
        self.exhausted = True

    def shortfall(self) -> str | None:
        """One line when iteration ended before the declared frame count (a truncated or damaged video), else None."""
        if self.declared_length is None or not self.exhausted or self.frames_read >= self.declared_length:
            return None
        return (
            f"{self.path or self.name}: only {self.frames_read} of the {self.declared_length} frames the video "
            "declares could be decoded whole (truncated or damaged file)"
        )


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _from_files(name: str, files: list[str] | list[Path], **kwargs) -> FrameSource:
    """Frames read one by one from ``files``, each checked first to be a file in an image format OpenCV reads."""
    with _opencv_quiet():
        unreadable = [f for f in files if not cv2.haveImageReader(str(f))]
    if unreadable:
        extra = f" ({len(unreadable)} of the {len(files)} frame files)" if len(files) > 1 else ""
        raise AutomatchError(f"{unreadable[0]}: unreadable image{extra}")
    return FrameSource(name, (read_image(f) for f in files), length=len(files), **kwargs)


def _read(capture: cv2.VideoCapture) -> np.ndarray | None:
    with _opencv_quiet():
        ok, frame = capture.read()
    return frame if ok else None


def _last_frame_decodes(path: Path, count: int) -> bool:
    """Whether frame ``count - 1`` of the video at ``path`` decodes (one seek on a second capture)."""
    probe = _video_capture(path)
    with _opencv_quiet():
        try:
            return probe.isOpened() and probe.set(cv2.CAP_PROP_POS_FRAMES, count - 1) and probe.read()[0]
        finally:
            probe.release()


def _from_capture(name: str, capture: cv2.VideoCapture, what: str, path: Path | None = None) -> FrameSource:
    """Frames of an open capture; for a video file (``path``) the declared count is checked by one seek."""
    first = _read(capture)
    if first is None:
        capture.release()
        raise AutomatchError(f"{what}: no frame could be read (empty or unreadable video)")
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    declared = declared if declared > 0 and path is not None else None
    length = declared if declared is None or declared == 1 or _last_frame_decodes(path, declared) else None

    ends_early = declared is not None and length is None
    second = _read(capture)
    if second is None and ends_early and declared > 1:
        capture.release()
        raise AutomatchError(
            f"{what}: declares {declared} frames but not one decodes whole (truncated or damaged file)"
        )

    def frames() -> Iterator[np.ndarray]:
        frame, following = first, second
        try:
            while frame is not None:
                if following is None and ends_early:
                    return  # the frame the file was cut through decodes only in part
                yield frame
                frame, following = following, (_read(capture) if following is not None else None)
        finally:
            capture.release()

    return FrameSource(name, frames(), fps=fps, length=length, declared_length=declared, path=path)


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
    _quiet_ffmpeg()
    text = str(source)
    if text.isdigit() and not Path(text).exists():
        with _opencv_quiet():
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
    capture = _video_capture(path)
    if not capture.isOpened():
        raise AutomatchError(f"{path}: unreadable video")
    return _from_capture(path.stem, capture, str(path), path)
