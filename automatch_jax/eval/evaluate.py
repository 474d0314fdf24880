"""Evaluating trackers' result folders on a benchmark: per sequence, per attribute and overall.

This module joins the three parts of evaluation: a dataset reader (ground truth), the results reader
(:mod:`automatch_jax.eval.results`) and the dataset's protocol (:mod:`automatch_jax.eval.protocols`), or, for
VOT's reset-based experiment, the trajectories and scores of :mod:`automatch_jax.eval.supervised`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np

from automatch_jax.data.sequence import BenchmarkDataset, Sequence
from automatch_jax.data.vot import frame_size
from automatch_jax.errors import AutomatchError, ResultsError
from automatch_jax.eval import protocols, supervised
from automatch_jax.eval.metrics import fps_from_times
from automatch_jax.eval.results import read_sequence_result
from automatch_jax.eval.vot_overlap import Regions

CURVE_KEYS = protocols.CURVE_KEYS
EVAL_PROTOCOLS = ("one-pass", "supervised")
"""``one-pass``: each benchmark's protocol on one run per sequence; ``supervised``: VOT's reset-based
experiment (accuracy, robustness, EAO) on trajectories written by ``run-benchmark --protocol supervised``."""


@dataclasses.dataclass(frozen=True)
class TrackerReport:
    """One tracker's numbers on one benchmark.

    Attributes:
      name: the tracker's name (its results folder's name).
      overall: metric name -> value over the whole benchmark (fractions in [0, 1]; ``fps`` in frames/s).
      curves: overall curves by key: ``success_curve``, ``precision_curve``, ``norm_precision_curve`` (one-pass),
        ``eao_curve`` (supervised: EAO per sequence length 0..L-1).
      sequences: sequence name -> its metrics.
      attributes: attribute -> metrics over the sequences carrying it (only attributes some sequence has).
      attribute_curves: attribute -> its curves, as ``curves``.
      attribute_counts: attribute -> number of sequences carrying it.
      thresholds: curve key -> the thresholds its points are taken at (``success_curve``: 21 IoU thresholds;
        ``precision_curve``: 51 pixel thresholds, 21 on TrackingNet; ...).
      convention: the evaluation's convention (``got10k``, ``pysot``, ``pytracking``) or ``supervised:<stack>``.
    """

    name: str
    overall: dict[str, float]
    curves: dict[str, np.ndarray]
    sequences: dict[str, dict[str, float]]
    attributes: dict[str, dict[str, float]]
    attribute_curves: dict[str, dict[str, np.ndarray]]
    attribute_counts: dict[str, int]
    thresholds: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    convention: str = "got10k"


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


def _sequences(dataset: BenchmarkDataset, label: str, progress: bool) -> Iterator[tuple[str, Sequence]]:
    """Each sequence of ``dataset`` in order (with a progress bar), refusing private ground truth."""
    names = dataset.sequence_names
    if progress:
        from tqdm import tqdm

        names = tqdm(names, desc=label, unit="seq", leave=False)
    for name in names:
        seq = dataset[name]
        if not seq.fully_annotated:
            raise AutomatchError(
                f"{dataset.name}: the ground truth of {name} is private (test split); "
                "write a server submission with 'automatch submission' instead"
            )
        yield name, seq


def check_options(protocol: str, convention: str, stack: str | None) -> None:
    """Refuses a meaningless combination of evaluation options (one line, before any file is read)."""
    if protocol not in EVAL_PROTOCOLS:
        raise AutomatchError(f"unknown protocol {protocol!r}; known: {', '.join(EVAL_PROTOCOLS)}")
    if convention not in protocols.CONVENTIONS:
        raise AutomatchError(f"unknown convention {convention!r}; known: {', '.join(protocols.CONVENTIONS)}")
    if protocol == "supervised":
        if stack is None:
            known = ", ".join(f"{k} [{lo}, {hi}]" for k, (lo, hi) in supervised.STACKS.items())
            raise AutomatchError(f"the supervised protocol needs --stack, whose EAO interval it uses ({known})")
        supervised.stack_interval(stack)
        if convention != "got10k":
            raise AutomatchError("--convention applies to one-pass evaluation, not to --protocol supervised")
    elif stack is not None:
        raise AutomatchError("--stack applies to --protocol supervised only")


def evaluate_tracker(
    dataset: BenchmarkDataset,
    tracker_dir: Path,
    progress: bool = False,
    convention: str = "got10k",
    protocol: str = "one-pass",
    stack: str | None = None,
) -> TrackerReport:
    """Evaluates the results in ``tracker_dir`` (``RESULTS/<tracker>``) on every sequence of ``dataset``.

    Args:
      convention: ``got10k`` (each benchmark's official toolkit), ``pysot`` or ``pytracking``
        (:mod:`automatch_jax.eval.protocols`).
      protocol: ``one-pass``, or ``supervised`` for VOT's reset-based experiment (then ``stack`` names the VOT
        stack whose EAO interval is used: ``vot2016`` ... ``vot2019``).

    Raises:
      ResultsError: the folder is missing, or a sequence's result is missing or malformed (one line naming
        the file and the problem).
      AutomatchError: the dataset's ground truth is private (test splits evaluated on a server), or the options
        do not fit the dataset.
    """
    check_options(protocol, convention, stack)
    tracker_dir = Path(tracker_dir)
    if not tracker_dir.is_dir():
        layout = "baseline/<seq>/<seq>_001.txt" if protocol == "supervised" else "<sequence>.txt"
        raise ResultsError(f"{tracker_dir}: results folder not found (expected RESULTS/<tracker>/{layout})")
    if protocol == "supervised":
        return _evaluate_supervised(dataset, tracker_dir, stack or "", progress)
    evals: dict[str, protocols.SequenceEval] = {}
    attributes: dict[str, list[str]] = {}
    protocol_: protocols.Protocol | None = None
    for name, seq in _sequences(dataset, f"eval {tracker_dir.name}", progress):
        if protocol_ is None or protocol_.name != seq.dataset:
            protocol_ = protocols.get_protocol(seq.dataset, convention)
        result = read_sequence_result(tracker_dir, _result_names(dataset, name), len(seq))
        evals[name] = evaluate_sequence(protocol_, seq, result.boxes, result.times)
        for attribute in seq.attributes:
            attributes.setdefault(attribute, []).append(name)
    if protocol_ is None:
        raise AutomatchError(f"{dataset.name}: the dataset holds no sequence to evaluate")
    overall, curves = _split_summary(protocol_.aggregate(list(evals.values())))
    attribute_metrics, attribute_curves = {}, {}
    order = [a for a in dataset.attribute_names if a in attributes] + sorted(
        a for a in attributes if a not in dataset.attribute_names
    )
    for attribute in order:
        members = [evals[n] for n in attributes[attribute]]
        attribute_metrics[attribute], attribute_curves[attribute] = _split_summary(
            protocol_.aggregate(members)
        )
    return TrackerReport(
        name=tracker_dir.name,
        overall=overall,
        curves=curves,
        sequences={n: {k: float(v) for k, v in e.metrics.items()} for n, e in evals.items()},
        attributes=attribute_metrics,
        attribute_curves=attribute_curves,
        attribute_counts={a: len(attributes[a]) for a in order},
        thresholds={k: v for k, v in protocol_.thresholds.items() if k in curves},
        convention=convention,
    )


def _evaluate_supervised(dataset: BenchmarkDataset, tracker_dir: Path, stack: str, progress: bool) -> TrackerReport:
    """VOT's supervised experiment on ``RESULTS/<tracker>/baseline``: accuracy, robustness and EAO."""
    scores: dict[str, supervised.SequenceScores] = {}
    for name, seq in _sequences(dataset, f"eval {tracker_dir.name}", progress):
        if seq.dataset != "vot":
            raise AutomatchError(f"{dataset.name}: the supervised protocol is VOT's; evaluate it one-pass")
        trajectories = [supervised.read_trajectory(p, len(seq)) for p in supervised.trajectory_files(tracker_dir, name)]
        gt = Regions.from_annotation(seq.gt, seq.polygons, seq.flags.get("rectangle"))
        scores[name] = supervised.score_sequence(trajectories, gt, frame_size(seq.frames[0]))
    if not scores:
        raise AutomatchError(f"{dataset.name}: the dataset holds no sequence to evaluate")
    overall, curve = supervised.summarize(list(scores.values()), stack)
    return TrackerReport(
        name=tracker_dir.name,
        overall=overall,
        curves={"eao_curve": curve},
        sequences={
            n: {"accuracy": s.accuracy, "robustness": s.failures, "n_frames": float(s.n_frames)}
            for n, s in scores.items()
        },
        attributes={},
        attribute_curves={},
        attribute_counts={},
        thresholds={"eao_curve": np.arange(len(curve), dtype=np.float64)},
        convention=f"supervised:{stack}",
    )


def evaluate_trackers(
    dataset: BenchmarkDataset,
    tracker_dirs: SequenceOf[Path],
    progress: bool = False,
    convention: str = "got10k",
    protocol: str = "one-pass",
    stack: str | None = None,
) -> list[TrackerReport]:
    """Evaluates several result folders (options as :func:`evaluate_tracker`); their names must differ."""
    check_options(protocol, convention, stack)
    seen: dict[str, Path] = {}
    for tracker_dir in tracker_dirs:
        path = Path(tracker_dir)
        if path.name in seen:
            raise ResultsError(
                f"{path}: tracker name {path.name!r} repeats {seen[path.name]}; rename one folder"
            )
        seen[path.name] = path
    return [
        evaluate_tracker(dataset, Path(d), progress, convention=convention, protocol=protocol, stack=stack)
        for d in tracker_dirs
    ]
