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


def run_benchmark(
    tracker: Tracker, dataset, results_dir: Path, progress: bool = True, overwrite: bool = False
) -> dict[str, str]:
    """Track every sequence of ``dataset`` into ``results_dir/<sequence>.txt`` (+ ``_time.txt``).

    Sequences whose result file already holds one row per frame are skipped, so a killed run resumes where it
    stopped. Returns ``{sequence: "done" | "skipped"}``.
    """
    from automatch_jax.eval.results import write_sequence_result
    from automatch_jax.tracking.sources import read_image

    status: dict[str, str] = {}
    names = dataset.sequence_names
    for name in tqdm(names, desc=f"{dataset.name}", unit="seq", disable=not progress):
        done = results_dir / f"{name}.txt"
        sequence = dataset[name]
        if not overwrite and done.is_file() and _rows(done) == len(sequence):
            status[name] = "skipped"
            continue
        frames = (read_image(f) for f in sequence.frames)
        result = track_frames(tracker, frames, sequence.init_box, progress=False, total=len(sequence))
        write_sequence_result(results_dir, name, result.boxes, result.times)
        status[name] = "done"
    return status


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.strip())
