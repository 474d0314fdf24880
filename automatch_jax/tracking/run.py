"""Running a tracker over a frame source or a benchmark, with progress, annotated video and resumable results."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from automatch_jax.errors import AutomatchError
from automatch_jax.eval.supervised import Trajectory
from automatch_jax.tracking.tracker import Tracker


@dataclasses.dataclass
class TrackResult:
    """Per frame: ``boxes`` (N, 4) ``x, y, w, h`` (the first is the given box), ``scores`` (N,) (1 for the first),
    ``times`` (N,) seconds spent in ``init``/``update``."""

    boxes: np.ndarray
    scores: np.ndarray
    times: np.ndarray

    @property
    def fps(self) -> float:
        """Frames per second of the tracker itself (decoding and drawing excluded), after warm-up: the first
        two frames (``init`` and the first ``update``) include compilation and are left out when there are more."""
        times = self.times[2:] if len(self.times) > 3 else self.times
        return float(len(times) / max(times.sum(), 1e-9))


def draw(frame: np.ndarray, box: np.ndarray, score: float, gt: np.ndarray | None = None) -> np.ndarray:
    """A copy of the BGR ``frame`` with the box (green), its score and the ground truth (white) drawn on it."""
    out = frame.copy()
    if gt is not None and np.all(np.isfinite(gt)):
        x, y, w, h = (round(float(v)) for v in gt)
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 255, 255), 1)
    x, y, w, h = (round(float(v)) for v in box)
    cv2.rectangle(out, (x, y), (x + w, y + h), (0, 220, 0), 2)
    cv2.putText(out, f"{score:.2f}", (x, max(y - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 220, 0), 1)
    return out


class VideoWriter:
    """An MP4 writer opened on the first frame; a clear error if the file cannot be written."""

    def __init__(self, path: Path, fps: float | None):
        self.path, self.fps, self._writer = Path(path), fps or 30.0, None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(
                str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height)
            )
            if not self._writer.isOpened():
                raise AutomatchError(f"{self.path}: cannot write a video there")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


def track_frames(
    tracker: Tracker,
    frames: Iterable[np.ndarray],
    init_box: np.ndarray,
    video: Path | None = None,
    fps: float | None = None,
    gt: np.ndarray | None = None,
    progress: bool = True,
    total: int | None = None,
    description: str = "tracking",
) -> TrackResult:
    """Run ``tracker`` over ``frames`` (BGR) from ``init_box``; optionally write an annotated MP4."""
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise AutomatchError("the source holds no frames")
    start = time.perf_counter()
    tracker.init(first, init_box)  # validates the box before any progress is shown
    boxes, scores, times = [tracker.box], [1.0], [time.perf_counter() - start]
    size = first.shape[:2]
    writer = VideoWriter(video, fps) if video else None
    try:
        if writer:
            writer.write(draw(first, boxes[0], 1.0, gt[0] if gt is not None else None))
        bar = tqdm(
            frames, total=total, initial=1, desc=description, unit="frame", disable=not progress, leave=False
        )
        for i, frame in enumerate(bar, start=1):
            if frame.shape[:2] != size:
                raise AutomatchError(
                    f"frame {i + 1} is {frame.shape[1]}x{frame.shape[0]}, the video started at {size[1]}x{size[0]}"
                )
            start = time.perf_counter()
            box, score = tracker.update(frame)
            times.append(time.perf_counter() - start)
            boxes.append(box)
            scores.append(score)
            if writer:
                writer.write(draw(frame, box, score, gt[i] if gt is not None and i < len(gt) else None))
    finally:
        if writer:
            writer.close()
    return TrackResult(np.array(boxes), np.array(scores), np.array(times))


BENCHMARK_PROTOCOLS = ("one-pass", "supervised")
"""``one-pass``: one run per sequence from the first frame; ``supervised``: VOT's reset-based experiment."""


def run_supervised(
    tracker: Tracker, sequence, skip: int | None = None, failure_overlap: float | None = None
) -> Trajectory:
    """VOT's supervised run of ``tracker`` on one sequence, as the VOT2016-2019 stacks' ``baseline`` experiment
    runs it (vot-toolkit's ``SupervisedExperiment``): initialise on the ground truth, update frame by frame, and
    on a frame whose VOT overlap (inside the image) is at most ``failure_overlap`` (0) record a failure and
    re-initialise ``skip`` (5) frames later. Skipped frames are never decoded.

    The tracker is initialised with the area-preserving axis-aligned box of the annotated polygon (VOT's
    convention for box trackers, the one the authors' code uses); a frame without annotation cannot start a
    run, so initialisation moves on to the next annotated frame.

    Returns the :class:`~automatch_jax.eval.supervised.Trajectory` (codes, boxes, seconds per frame).
    """
    from automatch_jax.data.vot import polygon_to_box
    from automatch_jax.eval import supervised
    from automatch_jax.eval.vot_overlap import Regions, region_overlaps
    from automatch_jax.tracking.sources import read_image

    skip = supervised.SKIP_INITIALIZE if skip is None else skip
    failure_overlap = supervised.FAILURE_OVERLAP if failure_overlap is None else failure_overlap
    n = len(sequence)
    gt = Regions.from_annotation(sequence.gt, sequence.polygons, sequence.flags.get("rectangle"))
    init_boxes = np.array(sequence.gt, dtype=np.float64)
    if sequence.polygons is not None:
        polygon_rows = np.isfinite(sequence.polygons).all(axis=1) & ~np.asarray(
            sequence.flags.get("rectangle", np.zeros(n, bool)), dtype=bool
        )
        init_boxes[polygon_rows] = polygon_to_box(sequence.polygons[polygon_rows], "area")
    codes = np.full(n, supervised.UNKNOWN, dtype=np.int64)
    boxes = np.full((n, 4), np.nan)
    times = np.full(n, np.nan)
    size: tuple[int, int] | None = None
    frame = 0
    while frame < n:
        if not np.isfinite(init_boxes[frame]).all():
            frame += 1
            continue
        image = read_image(sequence.frames[frame])
        size = size or (image.shape[1], image.shape[0])
        start = time.perf_counter()
        tracker.init(image, init_boxes[frame])
        times[frame] = time.perf_counter() - start
        codes[frame] = supervised.INITIALIZATION
        frame += 1
        while frame < n:
            image = read_image(sequence.frames[frame])
            start = time.perf_counter()
            box, _ = tracker.update(image)
            times[frame] = time.perf_counter() - start
            overlap = region_overlaps(Regions.from_boxes(np.asarray(box)[None]), gt[frame : frame + 1], size)[0]
            if overlap <= failure_overlap:
                codes[frame] = supervised.FAILURE
                frame += skip
                break
            codes[frame] = supervised.REGION
            boxes[frame] = box
            frame += 1
    return supervised.Trajectory.from_boxes(codes, boxes, times)


def run_benchmark(
    tracker: Tracker,
    dataset,
    results_dir: Path,
    progress: bool = True,
    overwrite: bool = False,
    protocol: str = "one-pass",
) -> dict[str, str]:
    """Track every sequence of ``dataset`` into ``results_dir/<sequence>.txt`` (+ ``_time.txt``), or, with
    ``protocol="supervised"`` (VOT only), VOT's reset-based trajectories into
    ``results_dir/baseline/<sequence>/<sequence>_001.txt`` (+ ``_001_time.value``), vot-toolkit's layout.

    Sequences whose result file already holds one row per frame are skipped, so a killed run resumes where it
    stopped. Returns ``{sequence: "done" | "skipped"}``.
    """
    from automatch_jax.eval import supervised
    from automatch_jax.eval.results import write_sequence_result
    from automatch_jax.tracking.sources import read_image

    if protocol not in BENCHMARK_PROTOCOLS:
        raise AutomatchError(f"unknown protocol {protocol!r}; known: {', '.join(BENCHMARK_PROTOCOLS)}")
    if protocol == "supervised" and dataset.name != "vot":
        raise AutomatchError(f"--protocol supervised is VOT's reset-based experiment; {dataset.name} runs one-pass")
    status: dict[str, str] = {}
    names = dataset.sequence_names
    for name in tqdm(names, desc=f"{dataset.name}", unit="seq", disable=not progress):
        sequence = dataset[name]
        if protocol == "supervised":
            folder = results_dir / supervised.EXPERIMENT / name
            done = folder / f"{supervised.trajectory_name(name)}.txt"
        else:
            done = results_dir / f"{name}.txt"
        if not overwrite and done.is_file() and _rows(done) == len(sequence):
            status[name] = "skipped"
            continue
        if protocol == "supervised":
            trajectory = run_supervised(tracker, sequence)
            supervised.write_trajectory(folder, supervised.trajectory_name(name), trajectory)
        else:
            frames = (read_image(f) for f in sequence.frames)
            result = track_frames(tracker, frames, sequence.init_box, progress=False, total=len(sequence))
            write_sequence_result(results_dir, name, result.boxes, result.times)
        status[name] = "done"
    return status


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.strip())
