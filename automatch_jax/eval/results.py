"""Tracking results on disk: finding, reading, validating and writing them.

The layout read and written is the one of the got10k toolkit and pysot::

    RESULTS/<tracker>/<sequence>.txt          one "x,y,w,h" line per frame (comma, tab or space separated)
    RESULTS/<tracker>/<sequence>_time.txt     optional: seconds per frame, one per line

Also read, so that results made by those toolkits evaluate unchanged:

    RESULTS/<tracker>/times/<sequence>_time.txt                 (got10k toolkit, OTB experiments)
    RESULTS/<tracker>/<sequence>/<sequence>_001.txt, _002, ...  (got10k toolkit, GOT-10k: repetitions)
    RESULTS/<tracker>/<sequence>/<sequence>_time.txt            (one column per repetition)

A result that cannot be right (missing, too few or too many rows, NaN, infinite or non-numeric cells, a
negative width or height) raises :class:`~automatch_jax.errors.ResultsError` naming the file and the line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from automatch_jax.data import text
from automatch_jax.errors import ResultsError


@dataclasses.dataclass(frozen=True)
class SequenceResult:
    """One tracker's output on one sequence.

    Attributes:
      boxes: (R, N, 4) float64 ``x, y, w, h`` for R repetitions (R = 1 in the usual layout) of N frames.
      times: (M,) float64 seconds per frame pooled over repetitions, only the finite positive ones.
      files: the result files read, one per repetition.
    """

    boxes: np.ndarray
    times: np.ndarray
    files: tuple[Path, ...]


def parse_numbers(path: Path, columns: int, kind: str = "result") -> np.ndarray:
    """Reads a result file of ``columns`` numbers per line (:func:`automatch_jax.data.text.parse_numbers`);
    problems raise ResultsError."""
    return text.parse_numbers(path, columns, kind=kind, error=ResultsError)


def _check_boxes(path: Path, boxes: np.ndarray, n_frames: int, sequence: str) -> None:
    if len(boxes) != n_frames:
        raise ResultsError(
            f"{path}: {len(boxes)} rows, expected {n_frames} (one x,y,w,h line per frame of {sequence})"
        )
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        line = int(np.argmax(bad)) + 1
        raise ResultsError(f"{path}: line {line} holds NaN or infinity; every frame needs a box")
    negative = (boxes[:, 2:] < 0).any(axis=1)
    if negative.any():
        line = int(np.argmax(negative)) + 1
        raise ResultsError(f"{path}: line {line} has a negative width or height")


def result_files(tracker_dir: Path, names: Iterable[str]) -> list[Path]:
    """The result files of one sequence, trying each of its names (first found wins).

    Returns one path per repetition; raises ResultsError naming the expected file when none exists.
    """
    names = list(names)
    for name in names:
        plain = tracker_dir / f"{name}.txt"
        if plain.is_file():
            return [plain]
        folder = tracker_dir / name
        if folder.is_dir():
            repetitions = sorted(
                p for p in folder.glob(f"{name}_[0-9]*.txt") if p.stem[len(name) + 1 :].isdigit()
            )
            if repetitions:
                return repetitions
    raise ResultsError(f"{tracker_dir / (names[0] + '.txt')}: missing result file for sequence {names[0]}")


def time_file(tracker_dir: Path, names: Iterable[str]) -> Path | None:
    """The per-frame time file of one sequence in any of the supported places, or None."""
    for name in names:
        for candidate in (
            tracker_dir / f"{name}_time.txt",
            tracker_dir / "times" / f"{name}_time.txt",
            tracker_dir / name / f"{name}_time.txt",
        ):
            if candidate.is_file():
                return candidate
    return None


def read_times(path: Path) -> np.ndarray:
    """(M,) the finite positive per-frame times of a time file (all columns, i.e. all repetitions)."""
    try:
        values = np.array(
            text.SEPARATORS.sub(" ", path.read_text(encoding="utf-8", errors="replace")).split(),
            dtype=np.float64,
        )
    except ValueError:
        raise ResultsError(f"{path}: time file is not numeric") from None
    return values[np.isfinite(values) & (values > 0)]


def read_sequence_result(tracker_dir: Path, names: Iterable[str], n_frames: int) -> SequenceResult:
    """Reads and validates one tracker's result on one sequence of ``n_frames`` frames.

    Args:
      tracker_dir: ``RESULTS/<tracker>``.
      names: the sequence's name followed by any aliases its result file may carry (e.g. ``Jogging-1`` and
        ``Jogging.1`` for OTB's two-target sequences).
      n_frames: how many rows each result file must hold.
    """
    names = list(names)
    files = result_files(tracker_dir, names)
    boxes = []
    for path in files:
        values = parse_numbers(path, 4)
        _check_boxes(path, values, n_frames, names[0])
        boxes.append(values)
    times_path = time_file(tracker_dir, names)
    times = read_times(times_path) if times_path is not None else np.zeros(0)
    return SequenceResult(boxes=np.stack(boxes), times=times, files=tuple(files))


def write_sequence_result(
    tracker_dir: Path, name: str, boxes: np.ndarray, times: np.ndarray | None = None
) -> Path:
    """Writes ``RESULTS/<tracker>/<name>.txt`` (and ``<name>_time.txt`` when times are given).

    Writes to a temporary file and renames it, so that a killed run never leaves a half-written result that
    a resumed run would take as done.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    tracker_dir.mkdir(parents=True, exist_ok=True)
    if times is not None:
        _atomic_savetxt(tracker_dir / f"{name}_time.txt", np.asarray(times, dtype=np.float64), "%.6f", ",")
    return _atomic_savetxt(tracker_dir / f"{name}.txt", boxes, "%.3f", ",")


def _atomic_savetxt(path: Path, values: np.ndarray, fmt: str, delimiter: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    np.savetxt(tmp, values, fmt=fmt, delimiter=delimiter)
    tmp.replace(path)
    return path
