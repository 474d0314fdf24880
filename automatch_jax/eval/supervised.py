"""VOT's supervised (reset-based) experiment: trajectories on disk, accuracy, robustness and EAO.

As the VOT2016-VOT2019 short-term stacks define the ``baseline`` experiment (and vot-toolkit 0.9 computes it):
the tracker is initialised on the first frame; a frame whose overlap (:mod:`automatch_jax.eval.vot_overlap`,
inside the image) is 0 is a failure, and the tracker is re-initialised on the ground truth 5 frames later.
A trajectory records per frame ``1`` (initialisation), ``2`` (failure), ``0`` (skipped after a failure) or
the tracker's region.

- **accuracy**: per trajectory, the mean overlap over the tracked frames, leaving out the 10 frames from each
  initialisation on (burn-in), failures and skipped frames; per sequence the mean over repetitions; overall
  the mean over sequences weighted by their length;
- **robustness**: per sequence the number of failures (mean over repetitions); overall the mean over sequences
  weighted by their length (vot-toolkit's ``R``); ``failure_rate`` is failures per 100 frames, the value the
  VOT2018/2019 result tables and pysot print as robustness;
- **EAO**: every trajectory is cut into segments from each initialisation to the next failure (a segment that
  ends in a failure continues with zero overlap to any length; the last, unfailed one ends with the sequence);
  the expected average overlap of length L is the mean over segments long enough (or failed) of their average
  overlap over frames 1..L-1 of the segment (its initialisation frame left out), and the EAO score is its mean
  over the stack's interval of lengths [low, high].

Results layout (vot-toolkit's and pysot's)::

    RESULTS/<tracker>/baseline/<seq>/<seq>_001.txt        one line per frame: 1, 2, 0 or x,y,w,h (or a polygon)
    RESULTS/<tracker>/baseline/<seq>/<seq>_001_time.value seconds per frame (blank where skipped)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np

from automatch_jax.data import text
from automatch_jax.errors import AutomatchError, ResultsError
from automatch_jax.eval.vot_overlap import EMPTY, POLYGON, RECTANGLE, Regions, region_overlaps

STACKS: dict[str, tuple[int, int]] = {
    "vot2016": (108, 371),
    "vot2017": (100, 356),
    "vot2018": (100, 356),
    "vot2019": (46, 291),
}
"""The EAO interval [low, high] of sequence lengths of each short-term stack (vot-toolkit's stack files)."""

SKIP_INITIALIZE = 5
"""Frames from a failure to the re-initialisation (the stacks' ``skip_initialize``)."""

BURNIN = 10
"""Frames from each initialisation left out of the accuracy (vot-toolkit's default ``burnin``)."""

FAILURE_OVERLAP = 0.0
"""A frame whose overlap is at most this is a failure (the stacks' ``failure_overlap``)."""

EXPERIMENT = "baseline"

UNKNOWN, INITIALIZATION, FAILURE = 0, 1, 2
REGION = -1
"""Per-frame codes of a trajectory: VOT's special codes, and REGION for a frame holding the tracker's region."""


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """One supervised run on one sequence of N frames.

    Attributes:
      codes: (N,) int: :data:`INITIALIZATION`, :data:`FAILURE`, :data:`UNKNOWN` or :data:`REGION`.
      regions: the tracker's region per frame (empty where ``codes`` is not REGION).
      times: (N,) seconds per frame, NaN where none was recorded.
    """

    codes: np.ndarray
    regions: Regions
    times: np.ndarray

    @staticmethod
    def from_boxes(codes: np.ndarray, boxes: np.ndarray, times: np.ndarray) -> Trajectory:
        """A trajectory of (N, 4) ``x, y, w, h`` boxes (NaN rows where ``codes`` is not REGION)."""
        codes = np.asarray(codes, dtype=np.int64)
        boxes = np.where((codes == REGION)[:, None], np.asarray(boxes, dtype=np.float64), np.nan)
        return Trajectory(codes, Regions.from_boxes(boxes), np.asarray(times, dtype=np.float64))


def trajectory_name(sequence: str, repetition: int = 1) -> str:
    return f"{sequence}_{repetition:03d}"


def write_trajectory(folder: Path, name: str, trajectory: Trajectory) -> Path:
    """Writes ``folder/<name>.txt`` and ``folder/<name>_time.value`` (vot-toolkit's text format), each through a
    temporary file so that a killed run never leaves a half-written trajectory; returns the trajectory's path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for code, kind, values in zip(trajectory.codes, trajectory.regions.kind, trajectory.regions.values, strict=True):
        if code != REGION:
            lines.append(str(int(code)))
        elif kind == RECTANGLE:
            lines.append(",".join(f"{v:.4f}" for v in values[:4]))
        else:
            lines.append(",".join(f"{v:.4f}" for v in values))
    times = ["" if not np.isfinite(t) else f"{t:.6f}" for t in trajectory.times]
    for path, content in ((folder / f"{name}_time.value", times), (folder / f"{name}.txt", lines)):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("\n".join(content) + "\n", encoding="utf-8")
        tmp.replace(path)
    return folder / f"{name}.txt"


def read_trajectory(path: Path, n_frames: int) -> Trajectory:
    """Reads a supervised trajectory of ``n_frames`` frames (and its ``_time.value`` file when present).

    Raises:
      ResultsError: missing or unreadable file, a wrong number of lines, a line that is neither a code
        (0, 1, 2), a rectangle nor a polygon, a NaN or infinite region, or a first line that is not 1 (a one-pass
        result is not a supervised trajectory).
    """
    try:
        content = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing trajectory file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read trajectory file ({exc.__class__.__name__})") from None
    lines = content.rstrip().split("\n") if content.strip() else []
    if len(lines) != n_frames:
        raise ResultsError(f"{path}: {len(lines)} lines, expected {n_frames} (one per frame of the sequence)")
    codes = np.full(n_frames, REGION, dtype=np.int64)
    kind = np.full(n_frames, EMPTY, dtype=np.int8)
    values = np.zeros((n_frames, 8))
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("m"):
            raise ResultsError(f"{path}: line {number} is a segmentation mask, which is not supported")
        cells = text.SEPARATORS.sub(" ", line).split()
        try:
            numbers = np.array(cells, dtype=np.float64)
        except ValueError:
            raise ResultsError(f"{path}: line {number} is not numeric ({line.strip()[:40]!r})") from None
        if len(numbers) == 1 and numbers[0] in (UNKNOWN, INITIALIZATION, FAILURE):
            codes[number - 1] = int(numbers[0])
        elif len(numbers) == 4 or len(numbers) == 8:
            if not np.isfinite(numbers).all():
                raise ResultsError(f"{path}: line {number} holds NaN or infinity")
            kind[number - 1] = RECTANGLE if len(numbers) == 4 else POLYGON
            values[number - 1, : len(numbers)] = numbers
        else:
            raise ResultsError(
                f"{path}: line {number} has {len(numbers)} values, expected a code (0, 1, 2), x,y,w,h or a polygon"
            )
    if codes[0] != INITIALIZATION:
        raise ResultsError(
            f"{path}: line 1 is not 1 (initialisation): not a supervised (reset-based) trajectory; "
            "write one with 'automatch run-benchmark --protocol supervised'"
        )
    return Trajectory(codes, Regions(kind, values), _read_times(path.with_name(path.stem + "_time.value"), n_frames))


def _read_times(path: Path, n_frames: int) -> np.ndarray:
    """(n_frames,) seconds per frame from a ``.value`` file (blank lines and a missing file give NaN)."""
    times = np.full(n_frames, np.nan)
    if not path.is_file():
        return times
    for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()[:n_frames]):
        try:
            times[i] = float(line) if line.strip() else np.nan
        except ValueError:
            raise ResultsError(f"{path}: line {i + 1} is not a number ({line.strip()[:40]!r})") from None
    return times


def trajectory_files(tracker_dir: Path, sequence: str) -> list[Path]:
    """The repetitions ``<seq>_001.txt ...`` of one sequence under ``RESULTS/<tracker>/baseline/<seq>/`` (or
    ``RESULTS/<tracker>/<seq>/``); ResultsError naming the expected file when there is none."""
    for folder in (tracker_dir / EXPERIMENT / sequence, tracker_dir / sequence):
        if folder.is_dir():
            files = sorted(
                p for p in folder.glob(f"{sequence}_[0-9]*.txt") if p.stem[len(sequence) + 1 :].isdigit()
            )
            if files:
                return files
    expected = tracker_dir / EXPERIMENT / sequence / f"{trajectory_name(sequence)}.txt"
    raise ResultsError(f"{expected}: missing supervised trajectory for sequence {sequence}")


@dataclasses.dataclass(frozen=True)
class SequenceScores:
    """One sequence's supervised results over its repetitions.

    Attributes:
      accuracy: mean over repetitions of the burn-in-free mean overlap (0 when no frame counts).
      failures: mean over repetitions of the number of failures.
      n_frames: the sequence's length (its weight in the overall means).
      segments: the EAO segments of every repetition: (overlaps (L,), failed) pairs.
      times: the recorded per-frame times of every repetition (positive finite ones).
    """

    accuracy: float
    failures: float
    n_frames: int
    segments: list[tuple[np.ndarray, bool]]
    times: np.ndarray


def score_sequence(
    trajectories: SequenceOf[Trajectory], gt: Regions, image_size: tuple[int, int], burnin: int = BURNIN
) -> SequenceScores:
    """Accuracy, failures and EAO segments of a sequence's repetitions against its ground-truth regions."""
    accuracies, failures, segments, times = [], [], [], []
    for trajectory in trajectories:
        overlaps = region_overlaps(trajectory.regions, gt, image_size)
        codes = trajectory.codes
        counted = codes == REGION
        for start in np.flatnonzero(codes == INITIALIZATION):
            counted[start : start + burnin] = False
        accuracies.append(float(np.mean(overlaps[counted])) if counted.any() else 0.0)
        fails = np.flatnonzero(codes == FAILURE)
        inits = np.flatnonzero(codes == INITIALIZATION)
        failures.append(len(fails))
        segments += [(overlaps[inits[i] : fails[i]], True) for i in range(len(fails))]
        if len(inits) > len(fails):
            segments.append((overlaps[inits[-1] :], False))
        recorded = trajectory.times[np.isfinite(trajectory.times) & (trajectory.times > 0)]
        times.append(recorded)
    return SequenceScores(
        accuracy=float(np.mean(accuracies)),
        failures=float(np.mean(failures)),
        n_frames=len(gt),
        segments=segments,
        times=np.concatenate(times) if times else np.zeros(0),
    )


def eao_curve(segments: SequenceOf[tuple[np.ndarray, bool]]) -> np.ndarray:
    """(L,) expected average overlap for each sequence length 0..L-1, L the longest segment
    (vot-toolkit's ``compute_eao_curve`` with unit weights, in float64)."""
    if not segments:
        raise AutomatchError("no supervised segment to compute the EAO from")
    length = max(len(o) for o, _ in segments)
    overlaps = np.zeros((len(segments), length))
    counted = np.zeros((len(segments), length), dtype=bool)
    for i, (o, failed) in enumerate(segments):
        overlaps[i, : len(o)] = o
        counted[i, :] = True if failed else np.arange(length) < len(o)
    average = overlaps.copy()
    if length > 1:
        average[:, 1:] = np.cumsum(overlaps[:, 1:], axis=1) / np.arange(1, length)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (average * counted).sum(axis=0) / counted.sum(axis=0)


def eao_score(curve: np.ndarray, stack: str) -> float:
    """The EAO of ``stack``: the mean of the EAO curve over the stack's interval of lengths (inclusive; as
    vot-toolkit, over the part of it the curve reaches). AutomatchError when the curve ends before the interval
    starts (every segment shorter than ``low`` frames), where vot-toolkit would report NaN."""
    low, high = stack_interval(stack)
    if len(curve) <= low:
        raise AutomatchError(
            f"the longest supervised segment has {len(curve)} frames, so the EAO curve never reaches the "
            f"{stack} interval [{low}, {high}] of lengths: these sequences are too short for a {stack} EAO"
        )
    return float(np.mean(curve[low : high + 1]))


def stack_interval(stack: str) -> tuple[int, int]:
    """The stack's EAO interval; AutomatchError naming the known stacks for an unknown one."""
    try:
        return STACKS[stack]
    except KeyError:
        raise AutomatchError(f"unknown VOT stack {stack!r}; known: {', '.join(STACKS)}") from None


def summarize(scores: SequenceOf[SequenceScores], stack: str) -> tuple[dict[str, float], np.ndarray]:
    """Overall ``accuracy``, ``robustness``, ``failures``, ``failure_rate``, ``eao`` (and ``fps``) and the EAO curve."""
    weights = np.array([s.n_frames for s in scores], dtype=np.float64)
    curve = eao_curve([segment for s in scores for segment in s.segments])
    failures = np.array([s.failures for s in scores])
    overall = {
        "accuracy": float(np.sum(weights * [s.accuracy for s in scores]) / weights.sum()),
        "robustness": float(np.sum(weights * failures) / weights.sum()),
        "failures": float(failures.sum()),
        "failure_rate": float(100.0 * failures.sum() / weights.sum()),
        "eao": eao_score(curve, stack),
    }
    times = np.concatenate([s.times for s in scores])
    if times.size:
        overall["fps"] = float(np.mean(1.0 / times))
    return overall, curve
