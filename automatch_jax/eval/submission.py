"""Server submission files for benchmarks whose test ground truth is private.

- GOT-10k test (http://got-10k.aitestunion.com): a zip holding, per sequence, ``<seq>/<seq>_001.txt``
  (one ``x,y,w,h`` line per frame, comma-separated, as the got10k toolkit records it) and
  ``<seq>/<seq>_time.txt`` (seconds per frame); repetitions ``_002``, ``_003`` when present.
- TrackingNet test (https://eval.ai, TrackingNet challenge): a zip holding ``<seq>.txt`` per sequence at its
  top level, one ``x,y,w,h`` line per frame, comma-separated.

Every sequence of the split must have a valid result (right number of rows, finite values) before anything is
written, so a server never receives a partial submission.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from automatch_jax.data.sequence import BenchmarkDataset
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.results import SequenceResult, read_sequence_result
from automatch_jax.registry import Registry


def _text(values: np.ndarray, fmt: str) -> str:
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt=fmt, delimiter=",")
    return buffer.getvalue()


def _got10k_members(name: str, result: SequenceResult) -> dict[str, str]:
    members = {f"{name}/{name}_{r + 1:03d}.txt": _text(boxes, "%.3f") for r, boxes in enumerate(result.boxes)}
    times = result.times if result.times.size else np.zeros(0)
    members[f"{name}/{name}_time.txt"] = _text(times[: result.boxes.shape[1]], "%.8f")
    return members


def _trackingnet_members(name: str, result: SequenceResult) -> dict[str, str]:
    return {f"{name}.txt": _text(result.boxes[0], "%.4f")}


WRITERS: Registry[Callable[[str, SequenceResult], dict[str, str]]] = Registry("server submission format")
"""Benchmark family -> ``writer(sequence name, result) -> {zip member: text}``."""
WRITERS.register("got10k", _got10k_members)
WRITERS.register("trackingnet", _trackingnet_members)


def write_submission(dataset: BenchmarkDataset, tracker_dir: Path, out: Path, progress: bool = True) -> Path:
    """Validates the results in ``tracker_dir`` against ``dataset`` and writes the server's zip to ``out``.

    Raises:
      AutomatchError: the dataset has no server format here, or a result is missing or malformed.
    """
    tracker_dir = Path(tracker_dir)
    if not tracker_dir.is_dir():
        raise AutomatchError(f"{tracker_dir}: results folder not found")
    from tqdm import tqdm  # imported here: `automatch eval` never pays for it

    members: dict[str, str] = {}
    names = dataset.sequence_names
    for name in tqdm(names, desc="submission", unit="seq", disable=not progress, leave=False):
        seq = dataset[name]
        if seq.dataset not in WRITERS:
            raise AutomatchError(
                f"{dataset.name}: no server submission format (known: {', '.join(sorted(WRITERS))}); "
                "evaluate it locally with 'automatch eval'"
            )
        writer = WRITERS.get(seq.dataset)
        members.update(writer(name, read_sequence_result(tracker_dir, [name], len(seq))))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    tmp.replace(out)
    return out
