"""Reading the small numeric text files benchmarks are made of (annotations, flags, results).

One parser serves them all: values separated by commas, tabs, spaces or semicolons, one record per line.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from automatch_jax.errors import AutomatchError, DatasetError

SEPARATORS = re.compile(r"[,\t ;\r]+")
_TO_SPACES = str.maketrans({",": " ", "\t": " ", ";": " ", "\r": " "})


def parse_numbers(
    path: Path, columns: int, kind: str = "annotation", error: type[AutomatchError] = DatasetError
) -> np.ndarray:
    """Reads a text file of ``columns`` numbers per line into an (N, columns) float64 array.

    Values may be separated by commas, tabs, spaces or semicolons (a trailing separator is allowed). Blank
    lines at the end are ignored; any other blank, short, long or non-numeric line raises error naming
    the line. A well-formed file costs one translation and numpy's C parser; only a faulty one is re-read
    line by line to name its first bad line.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise error(f"{path}: missing {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read {kind} file ({exc.__class__.__name__})") from None
    spaced = text.translate(_TO_SPACES).rstrip()
    try:
        values = np.loadtxt(io.StringIO(spaced), dtype=np.float64, comments=None, ndmin=2) if spaced else None
    except ValueError:
        values = None
    # numpy skips blank lines, which are errors here: then the row count falls short of the line count.
    if values is not None and values.shape == (spaced.count("\n") + 1, columns):
        return values
    lines = SEPARATORS.sub(" ", text).rstrip().split("\n")
    if lines == [""]:
        raise error(f"{path}: empty {kind} file")
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        count = line.count(" ") + 1 if line else 0
        if count != columns:
            original = text.split("\n")[number - 1].strip()[:40]
            raise error(f"{path}: line {number} has {count} values, expected {columns} ({original!r})")
    try:
        return np.array(" ".join(lines).split(), dtype=np.float64).reshape(len(lines), columns)
    except ValueError:
        for number, line in enumerate(lines, start=1):
            try:
                [float(cell) for cell in line.split()]
            except ValueError:
                raise error(f"{path}: line {number} is not numeric ({line.strip()[:40]!r})") from None
        raise


def read_flags(path: Path, kind: str = "label") -> np.ndarray:
    """(N,) int64 per-frame labels from a file of integers in any layout (one per line, or one
    comma-separated line as LaSOT's ``full_occlusion.txt``). Raises DatasetError naming the file."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing {kind} file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read {kind} file ({exc.__class__.__name__})") from None
    try:
        values = np.array(SEPARATORS.sub(" ", content).split(), dtype=np.float64)
    except ValueError:
        raise DatasetError(f"{path}: {kind} file is not numeric") from None
    if not np.isfinite(values).all() or (values != np.round(values)).any():
        raise DatasetError(f"{path}: {kind} file holds values that are not integers")
    return values.astype(np.int64)
