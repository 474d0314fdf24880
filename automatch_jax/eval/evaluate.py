"""Evaluating trackers' result folders on a benchmark: per sequence, per attribute and overall.

This module joins the three parts of evaluation: a dataset reader (ground truth), the results reader
(:mod:`automatch_jax.eval.results`) and the dataset's protocol (:mod:`automatch_jax.eval.protocols`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np

from automatch_jax.data.sequence import BenchmarkDataset, Sequence
from automatch_jax.errors import AutomatchError, ResultsError
from automatch_jax.eval import protocols
from automatch_jax.eval.metrics import fps_from_times
from automatch_jax.eval.results import read_sequence_result

CURVE_KEYS = protocols.CURVE_KEYS


@dataclasses.dataclass(frozen=True)
class TrackerReport:
    """One tracker's numbers on one benchmark.

    Attributes:
      name: the tracker's name (its results folder's name).
      overall: metric name -> value over the whole benchmark (fractions in [0, 1]; ``fps`` in frames/s).
      curves: ``success_curve`` (21,), ``precision_curve`` (51,), ``norm_precision_curve`` (51,) overall.
      sequences: sequence name -> its metrics.
      attributes: attribute -> metrics over the sequences carrying it (only attributes some sequence has).
      attribute_curves: attribute -> its curves, as ``curves``.
      attribute_counts: attribute -> number of sequences carrying it.
    """

    name: str
    overall: dict[str, float]
    curves: dict[str, np.ndarray]
    sequences: dict[str, dict[str, float]]
    attributes: dict[str, dict[str, float]]
    attribute_curves: dict[str, dict[str, np.ndarray]]
    attribute_counts: dict[str, int]


def _result_names(dataset: BenchmarkDataset, name: str) -> list[str]:
    aliases = getattr(dataset, "result_name_aliases", None)
    return list(aliases(name)) if aliases is not None else [name]


def _split_summary(summary: dict) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    metrics = {k: float(v) for k, v in summary.items() if k not in CURVE_KEYS}
    curves = {k: np.asarray(summary[k]) for k in CURVE_KEYS if k in summary}
    return metrics, curves


def evaluate_sequence(
    protocol: protocols.Protocol, seq: Sequence, boxes: np.ndarray, times: np.ndarray
) -> protocols.SequenceEval:
    """Evaluates one sequence; ``boxes`` is (R, N, 4) for R repetitions, pooled as the got10k toolkit does."""
    if len(boxes) == 1:
        return protocol.evaluate_sequence(boxes[0], seq, times)
    repetitions = [protocol.evaluate_sequence(b, seq, None) for b in boxes]
    metrics, curves = _split_summary(protocol.aggregate(repetitions))
    merged_times = np.asarray(times, dtype=np.float64)
    fps = fps_from_times(merged_times)
    if fps is not None:
        metrics["fps"] = fps
    return protocols.SequenceEval(
        name=seq.name,
        n_frames=sum(r.n_frames for r in repetitions),
        ious=np.concatenate([r.ious for r in repetitions]),
        times=merged_times,
        metrics=metrics,
        **curves,
    )


def evaluate_tracker(dataset: BenchmarkDataset, tracker_dir: Path, progress: bool = False) -> TrackerReport:
    """Evaluates the results in ``tracker_dir`` (``RESULTS/<tracker>``) on every sequence of ``dataset``.

    Raises:
      ResultsError: the folder is missing, or a sequence's result is missing or malformed (one line naming
        the file and the problem).
      AutomatchError: the dataset's ground truth is private (test splits evaluated on a server).
    """
    tracker_dir = Path(tracker_dir)
    if not tracker_dir.is_dir():
        raise ResultsError(
            f"{tracker_dir}: results folder not found (expected RESULTS/<tracker>/<sequence>.txt)"
        )
    evals: dict[str, protocols.SequenceEval] = {}
    attributes: dict[str, list[str]] = {}
    names = dataset.sequence_names
    protocol: protocols.Protocol | None = None
    iterator = names
    if progress:
        from tqdm import tqdm

        iterator = tqdm(names, desc=f"eval {tracker_dir.name}", unit="seq", leave=False)
    for name in iterator:
        seq = dataset[name]
        if not seq.fully_annotated:
            raise AutomatchError(
                f"{dataset.name}: the ground truth of {name} is private (test split); "
                "write a server submission with 'automatch submission' instead"
            )
        if protocol is None or protocol.name != seq.dataset:
            protocol = protocols.get_protocol(seq.dataset)
        result = read_sequence_result(tracker_dir, _result_names(dataset, name), len(seq))
        evals[name] = evaluate_sequence(protocol, seq, result.boxes, result.times)
        for attribute in seq.attributes:
            attributes.setdefault(attribute, []).append(name)
    if protocol is None:
        raise AutomatchError(f"{dataset.name}: the dataset holds no sequence to evaluate")
    overall, curves = _split_summary(protocol.aggregate(list(evals.values())))
    attribute_metrics, attribute_curves = {}, {}
    order = [a for a in dataset.attribute_names if a in attributes] + sorted(
        a for a in attributes if a not in dataset.attribute_names
    )
    for attribute in order:
        members = [evals[n] for n in attributes[attribute]]
        attribute_metrics[attribute], attribute_curves[attribute] = _split_summary(
            protocol.aggregate(members)
        )
    return TrackerReport(
        name=tracker_dir.name,
        overall=overall,
        curves=curves,
        sequences={n: {k: float(v) for k, v in e.metrics.items()} for n, e in evals.items()},
        attributes=attribute_metrics,
        attribute_curves=attribute_curves,
        attribute_counts={a: len(attributes[a]) for a in order},
    )


def evaluate_trackers(
    dataset: BenchmarkDataset, tracker_dirs: SequenceOf[Path], progress: bool = False
) -> list[TrackerReport]:
    """Evaluates several result folders; their names (the folders' names) must differ."""
    seen: dict[str, Path] = {}
    for tracker_dir in tracker_dirs:
        path = Path(tracker_dir)
        if path.name in seen:
            raise ResultsError(
                f"{path}: tracker name {path.name!r} repeats {seen[path.name]}; rename one folder"
            )
        seen[path.name] = path
    return [evaluate_tracker(dataset, Path(d), progress=progress) for d in tracker_dirs]
