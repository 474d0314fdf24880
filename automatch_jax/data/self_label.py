"""Training tracks from real video without a person labelling it: forward-backward consistent CSRT tracks.

A real camera sequence teaches what pasted still images cannot: perspective change, motion blur, camera shake,
lighting and sensor noise. No box comes with such footage, so boxes are made by a classical tracker and kept only
where tracking forward and then backward in time agrees with itself (the forward-backward error of Kalal et al.,
2010):

1. **Seeds**: every ``start_every`` frames, ``seeds`` boxes are drawn on textured, non-overlapping regions of the
   frame (mean gradient magnitude inside the box well above the frame's; sides ``min_side``-``max_side`` of the
   shorter image side, aspect ratio within 1:2-2:1).
2. **Forward-backward**: OpenCV's CSRT follows each seed for ``length`` frames; a second CSRT starts from the last
   forward box and follows it back to the seed frame.
3. **Consistency**: the track is kept when the backward box on the seed frame overlaps the seed with IoU >=
   ``min_iou``; within it, a frame is labelled (visible) where its forward and backward boxes overlap with IoU >=
   ``min_iou``, and its box is their mean. A track ends at the first frame where either pass lost the target.

:func:`label_frames` does this for one sequence; :func:`write_mot` stores the tracks in the MOTChallenge layout (the
``mot`` reader of :mod:`automatch_jax.data.training_sets` reads it back), :func:`label_videos` runs both over a list
of videos or frame folders with a progress bar and a pool of worker processes, and :func:`fetch_real_video` does it
for the real camera sequences of Debian's ``visp-images-data`` (the ``real-video`` training source).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from automatch_jax.boxes import iou_xywh
from automatch_jax.errors import AutomatchError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mpeg", ".mpg", ".webm", ".m4v", ".wmv")
# visp-images-data's real camera sequences (image folder, file glob): the others are renderings, test charts or
# textureless shapes. Frames are 8-bit grayscale.
VISP_PACKAGE = "visp-images-data"
VISP_ROOT = "usr/share/visp-images-data/ViSP-images"
VISP_SEQUENCES = {"visp-cube": ("cube", "image.*.pgm"), "visp-mbt-cube": ("mbt/cube", "image*.pgm"),
                  "visp-mire-2": ("mire-2", "image.*.pgm"), "visp-castel": ("mbt-depth/castel/castel", "image_*.pgm")}


@dataclasses.dataclass(frozen=True)
class SelfLabelConfig:
    """How seeds are drawn and tracks are kept (see the module doc)."""

    seeds: int = 4  # seed boxes per start frame
    start_every: int = 25  # frames between start frames
    length: int = 50  # frames a seed is tracked forward (and back)
    min_iou: float = 0.6  # forward-backward agreement to keep a track and to label a frame
    min_side: float = 0.12  # box sides as fractions of the shorter image side
    max_side: float = 0.4
    min_texture: float = 1.3  # mean gradient magnitude in the box over the frame's
    candidates: int = 200  # random boxes scored per start frame

    def __post_init__(self):
        if self.seeds < 1 or self.start_every < 1 or self.length < 2 or self.candidates < self.seeds:
            raise AutomatchError(f"self-labelling: seeds, start_every >= 1, length >= 2 and candidates >= seeds "
                                 f"expected, got {self}")
        if not 0 < self.min_iou < 1 or not 0 < self.min_side <= self.max_side < 1:
            raise AutomatchError(f"self-labelling: 0 < min_iou < 1 and 0 < min_side <= max_side < 1 expected, "
                                 f"got min_iou {self.min_iou}, sides {self.min_side}-{self.max_side}")


@dataclasses.dataclass(frozen=True)
class Track:
    """One self-labelled track: frame ``start + i`` has box ``boxes[i]`` (x, y, w, h pixels, (L, 4)) where
    ``visible[i]`` ((L,) bool)."""

    start: int
    boxes: np.ndarray
    visible: np.ndarray


def propose_boxes(frame: np.ndarray, cfg: SelfLabelConfig, rng: np.random.Generator) -> np.ndarray:
    """(K <= cfg.seeds, 4) seed boxes on textured, mutually non-overlapping (IoU < 0.1) regions of ``frame``
    ((H, W) or (H, W, 3) uint8), most textured first."""
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    gray = gray.astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    integral = cv2.integral(magnitude)
    h, w = gray.shape
    short = min(h, w)
    side = rng.uniform(cfg.min_side, cfg.max_side, cfg.candidates) * short
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0), cfg.candidates))
    bw = np.minimum(side * np.sqrt(aspect), w - 2).astype(int)
    bh = np.minimum(side / np.sqrt(aspect), h - 2).astype(int)
    x = (rng.random(cfg.candidates) * (w - bw - 1)).astype(int)
    y = (rng.random(cfg.candidates) * (h - bh - 1)).astype(int)
    inside = (integral[y + bh, x + bw] - integral[y, x + bw] - integral[y + bh, x] + integral[y, x]) / (bw * bh)
    texture = inside / max(float(magnitude.mean()), 1e-6)
    chosen: list[np.ndarray] = []
    for k in np.argsort(-texture):
        if texture[k] < cfg.min_texture or len(chosen) == cfg.seeds:
            break
        box = np.array([x[k], y[k], bw[k], bh[k]], np.float64)
        if all(iou_xywh(box, other) < 0.1 for other in chosen):
            chosen.append(box)
    return np.array(chosen, np.float64).reshape(-1, 4)


def _bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame


def csrt_track(frames: Sequence[np.ndarray], box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSRT from ``box`` on ``frames[0]`` through the rest: ((T, 4) boxes, (T,) bool tracked). Once CSRT reports a
    loss the remaining frames are not tracked."""
    boxes = np.zeros((len(frames), 4), np.float64)
    ok = np.zeros(len(frames), bool)
    boxes[0], ok[0] = box, True
    tracker = cv2.TrackerCSRT_create()
    tracker.init(_bgr(frames[0]), tuple(int(v) for v in np.round(box)))
    for t in range(1, len(frames)):
        found, found_box = tracker.update(_bgr(frames[t]))
        if not found or found_box[2] <= 0 or found_box[3] <= 0:
            break
        boxes[t], ok[t] = found_box, True
    return boxes, ok


def forward_backward(frames: Sequence[np.ndarray], seed: np.ndarray, min_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """((T', 4) boxes, (T',) bool visible) of the consistent prefix of tracking ``seed`` through ``frames`` and back;
    T' = 0 when the backward pass does not return to the seed."""
    forward, tracked = csrt_track(frames, seed)
    end = int(np.argmin(tracked)) if not tracked.all() else len(frames)
    if end < 2:
        return np.zeros((0, 4)), np.zeros(0, bool)
    backward_rev, back_ok = csrt_track(frames[:end][::-1], forward[end - 1])
    backward, back_ok = backward_rev[::-1], back_ok[::-1]
    if not back_ok[0] or iou_xywh(backward[0], seed) < min_iou:
        return np.zeros((0, 4)), np.zeros(0, bool)
    agree = back_ok & (iou_xywh(forward[:end], backward) >= min_iou)
    return (forward[:end] + backward) / 2, agree


def label_start(window: Sequence[np.ndarray], start: int, cfg: SelfLabelConfig, seed: int) -> list[Track]:
    """The tracks seeded on ``window[0]`` (frame ``start`` of its sequence) and followed through ``window``; the
    seeds are drawn with ``numpy.random.default_rng([seed, start])``."""
    tracks = []
    if len(window) < 2:
        return tracks
    for box in propose_boxes(window[0], cfg, np.random.default_rng([seed, start])):
        boxes, visible = forward_backward(window, box, cfg.min_iou)
        if visible.sum() >= 2:
            tracks.append(Track(int(start), boxes.astype(np.float32), visible))
    return tracks


def start_frames(count: int, cfg: SelfLabelConfig) -> range:
    """The seed frames of a sequence of ``count`` frames: every ``cfg.start_every``-th but the last."""
    return range(0, max(count - 1, 1), cfg.start_every)


def label_frames(frames: Sequence[np.ndarray], cfg: SelfLabelConfig = SelfLabelConfig(), seed: int = 0) -> list[Track]:
    """Self-labelled tracks of one sequence of frames (each (H, W) or (H, W, 3) uint8), seeded on
    :func:`start_frames`. Deterministic for a given ``seed``."""
    return [track for start in start_frames(len(frames), cfg)
            for track in label_start(frames[start : start + cfg.length], start, cfg, seed)]


def write_mot(out: Path, name: str, frames: Sequence[np.ndarray], tracks: Sequence[Track],
              frame_rate: int = 25) -> Path:
    """Writes ``frames`` and ``tracks`` as one MOTChallenge sequence ``out/name``: ``img1/000001.jpg...``,
    ``gt/gt.txt`` (``frame, id, x, y, w, h, 1, -1, 1`` for visible frames, 1-based frames and ids) and
    ``seqinfo.ini``. Returns the sequence folder."""
    folder = Path(out) / name
    (folder / "img1").mkdir(parents=True, exist_ok=True)
    (folder / "gt").mkdir(exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / "img1" / f"{i + 1:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    rows = []
    for track_id, track in enumerate(tracks, start=1):
        for i in np.nonzero(track.visible)[0]:
            x, y, w, h = track.boxes[i]
            rows.append(f"{track.start + i + 1},{track_id},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,-1,1")
    (folder / "gt" / "gt.txt").write_text("".join(r + "\n" for r in rows))
    height, width = frames[0].shape[:2]
    (folder / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate={frame_rate}\nseqLength={len(frames)}\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n")
    return folder


def read_frames(source: Path, pattern: str = "*") -> list[np.ndarray]:
    """The frames of a video file or of a folder of images (files matching ``pattern``, in name order), as uint8
    arrays; one clear :class:`AutomatchError` naming the file for an unreadable or non-8-bit image, or when fewer than
    two frames can be read."""
    source = Path(source)
    if source.is_dir():
        frames = []
        for path in sorted(p for p in source.glob(pattern) if p.suffix.lower() in IMAGE_SUFFIXES):
            frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if frame is None or frame.dtype != np.uint8:
                what = "unreadable" if frame is None else f"{frame.dtype} pixels, expected 8-bit"
                raise AutomatchError(f"{path}: {what} (label-video reads 8-bit grey, BGR or BGRA frames)")
            if frame.ndim == 3 and frame.shape[2] == 4:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
            frames.append(frame)
    elif source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        capture = cv2.VideoCapture(str(source))
        frames = []
        while capture.isOpened():
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
        capture.release()
    elif source.exists():
        raise AutomatchError(f"{source}: neither a folder of frames nor a video ({', '.join(VIDEO_SUFFIXES)})")
    else:
        raise AutomatchError(f"{source}: not found")
    if len(frames) < 2:
        raise AutomatchError(f"{source}: fewer than 2 readable 8-bit frames")
    return frames


def video_sources(paths: Sequence[Path]) -> dict[str, tuple[Path, str]]:
    """``name -> (path, "*")`` for :func:`label_videos`, checked before any work: every path exists and is a video
    file or a folder holding images; names (the file or folder stems) are made unique."""
    sources: dict[str, tuple[Path, str]] = {}
    for path in map(Path, paths):
        if not path.exists():
            raise AutomatchError(f"{path}: not found")
        if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES:
            raise AutomatchError(f"{path}: not a video file ({', '.join(VIDEO_SUFFIXES)}) or a folder of frames")
        if path.is_dir() and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            raise AutomatchError(f"{path}: folder holds no image ({', '.join(IMAGE_SUFFIXES)})")
        name, k = path.stem or "video", 1
        while name in sources:
            k += 1
            name = f"{path.stem}-{k}"
        sources[name] = (path, "*")
    return sources


def _label_job(job: tuple[Sequence[np.ndarray], int, SelfLabelConfig, int]) -> list[Track]:
    return label_start(*job)


def label_videos(sources: dict[str, tuple[Path, str]], out: Path, cfg: SelfLabelConfig = SelfLabelConfig(),
                 seed: int = 0, workers: int = 2, progress: bool = True) -> dict[str, int]:
    """Self-labels every ``name -> (video or folder, file pattern)`` of ``sources`` into the MOTChallenge layout
    under ``out``; returns name -> number of tracks. The start frames are spread over ``workers`` processes; the
    result does not depend on their number."""
    frames_of = {name: read_frames(path, pattern) for name, (path, pattern) in sources.items()}
    names, jobs = [], []
    for k, (name, frames) in enumerate(frames_of.items()):
        for start in start_frames(len(frames), cfg):
            names.append(name)
            jobs.append((frames[start : start + cfg.length], start, cfg, seed + k))
    results: dict[str, list[Track]] = {name: [] for name in frames_of}
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        labelled = pool.map(_label_job, jobs) if pool else map(_label_job, jobs)
        with tqdm(total=len(jobs), desc="self-labelling", unit="start", disable=not progress, leave=False) as bar:
            for name, tracks in zip(names, labelled, strict=True):
                results[name].extend(tracks)
                bar.update()
    finally:
        if pool:
            pool.shutdown()
    for name, frames in frames_of.items():
        write_mot(out, name, frames, results[name])
    return {name: len(tracks) for name, tracks in results.items()}


def fetch_real_video(out: Path, download: Callable[[tuple[str, ...], Path], Path], cfg: SelfLabelConfig =
                     SelfLabelConfig(), workers: int = 2, log: Callable[[str], None] = print) -> dict[str, int]:
    """Downloads ``visp-images-data`` with ``download(packages, work_dir) -> unpacked root`` and self-labels its real
    camera sequences (:data:`VISP_SEQUENCES`) into ``out`` (MOTChallenge layout); returns name -> tracks."""
    with tempfile.TemporaryDirectory() as tmp:
        root = download((VISP_PACKAGE,), Path(tmp)) / VISP_ROOT
        sources = {name: (root / folder, pattern) for name, (folder, pattern) in VISP_SEQUENCES.items()
                   if (root / folder).is_dir()}
        if not sources:
            log(f"skipped real video: {VISP_PACKAGE} could not be had")
            return {}
        staging = Path(tmp) / "labelled"
        counts = label_videos(sources, staging, cfg, workers=workers)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staging, out)
    log(f"{sum(counts.values())} self-labelled tracks in {len(counts)} real camera sequences in {out}")
    return counts
