"""Each benchmark's official evaluation protocol, chosen by name from one registry.

A protocol turns one tracker's boxes on one sequence into a :class:`SequenceEval`, and a list of those into
the benchmark's summary. What differs between benchmarks is which frames count, how the curves are pooled
and which scores are reported:

========== ======================================================================================= ==========
protocol   frames, pooling                                                                          reference
========== ======================================================================================= ==========
otb        every frame, the first one replaced by the ground truth; curves averaged over sequences  got10k
trackingnet as ``otb`` (the TrackingNet server's definitions: AUC, precision@20px, norm. prec.@0.2)  devkit
lasot      as the official MATLAB toolkit: invalid results (w or h <= 0) replaced by the previous   LaSOT
           box, frames marked absent (full_occlusion or out_of_view) removed, frames whose ground  toolkit
           truth is not all-positive count IoU -1 and centre error -1, and every count is divided
           by the sequence's full length
tnl2k      as ``lasot`` (TNL2K's toolkit is LaSOT's); TNL2K has no absent flags
got10k     frames 1..N-1, boxes clipped to the image, only frames with ``cover > 0``; AO, SR and   got10k
           the success curve pooled over all frames of all sequences (and repetitions)
vot        as ``otb``, but the IoU is taken against the rotated polygon (region overlap)            (ours)
========== ======================================================================================= ==========

Every curve is a fraction in [0, 1]; ``success_auc`` is the mean of the 21-point success curve,
``precision_20`` and ``norm_precision`` are the precision curves' values at 20 px and 0.2.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence as SequenceOf

import numpy as np

from automatch_jax.data.sequence import Sequence
from automatch_jax.eval import metrics as m

CURVE_KEYS = ("success_curve", "precision_curve", "norm_precision_curve")


@dataclasses.dataclass(frozen=True)
class SequenceEval:
    """One tracker on one sequence.

    Attributes:
      name: the sequence's name.
      n_frames: how many frames the protocol evaluated.
      ious: (n_frames,) IoU of every evaluated frame (-1 where the LaSOT toolkit marks the frame invalid).
      times: (T,) positive per-frame times in seconds (empty if the tracker wrote none).
      metrics: score name -> value (fractions; ``fps`` in frames per second).
      success_curve: (21,) or None; precision_curve: (51,) or None; norm_precision_curve: (51,) or None.
    """

    name: str
    n_frames: int
    ious: np.ndarray
    times: np.ndarray
    metrics: dict[str, float]
    success_curve: np.ndarray | None = None
    precision_curve: np.ndarray | None = None
    norm_precision_curve: np.ndarray | None = None

    def curves(self) -> dict[str, np.ndarray]:
        """The curves this protocol defines, by key."""
        return {k: getattr(self, k) for k in CURVE_KEYS if getattr(self, k) is not None}


class Protocol(abc.ABC):
    """A benchmark's evaluation rules."""

    name: str
    metric_keys: tuple[str, ...]

    @abc.abstractmethod
    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        """Scores (N, 4) result boxes against ``seq`` (whose ground truth is complete)."""

    @abc.abstractmethod
    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        """The summary over sequences: every metric key and every curve key the protocol defines."""


def _fps_metric(times: np.ndarray | None) -> dict[str, float]:
    fps = m.fps_from_times(times) if times is not None else None
    return {} if fps is None else {"fps": fps}


def _mean_fps(evals: SequenceOf[SequenceEval]) -> dict[str, float]:
    """got10k's OTB rule: the mean of the per-sequence speeds, over the sequences that have one."""
    speeds = [e.metrics["fps"] for e in evals if "fps" in e.metrics]
    return {"fps": float(np.mean(speeds))} if speeds else {}


def _curve_scores(success: np.ndarray, precision: np.ndarray, norm_precision: np.ndarray) -> dict[str, float]:
    return {
        "success_auc": m.area_under_curve(success),
        "precision_20": float(precision[m.PRECISION_INDEX]),
        "norm_precision": float(norm_precision[m.PRECISION_INDEX]),
    }


class _CurveProtocol(Protocol):
    """Protocols whose summary is the mean of per-sequence success and precision curves."""

    metric_keys = ("success_auc", "precision_20", "norm_precision", "fps")

    def _finish(
        self,
        seq: Sequence,
        ious: np.ndarray,
        errors: np.ndarray,
        norm_errors: np.ndarray,
        times: np.ndarray | None,
        denominator: int | None = None,
    ) -> SequenceEval:
        success = m.success_curve(ious, denominator)
        precision = m.precision_curve(errors, m.CENTER_THRESHOLDS, denominator)
        norm_precision = m.precision_curve(norm_errors, m.NORM_CENTER_THRESHOLDS, denominator)
        metrics = {**_curve_scores(success, precision, norm_precision), **_fps_metric(times)}
        return SequenceEval(
            name=seq.name,
            n_frames=len(ious),
            ious=ious,
            metrics=metrics,
            times=np.zeros(0) if times is None else np.asarray(times, dtype=np.float64),
            success_curve=success,
            precision_curve=precision,
            norm_precision_curve=norm_precision,
        )

    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        success = np.mean([e.success_curve for e in evals], axis=0)
        precision = np.mean([e.precision_curve for e in evals], axis=0)
        norm_precision = np.mean([e.norm_precision_curve for e in evals], axis=0)
        return {
            **_curve_scores(success, precision, norm_precision),
            **_mean_fps(evals),
            "success_curve": success,
            "precision_curve": precision,
            "norm_precision_curve": norm_precision,
        }


class OTBProtocol(_CurveProtocol):
    """OTB as the got10k toolkit evaluates it (``ExperimentOTB.report``): all frames, the first box replaced
    by the ground truth. A NaN ground-truth row, which OTB does not have, counts as a failure there too."""

    name = "otb"

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        boxes = np.array(boxes, dtype=np.float64, copy=True)
        boxes[0] = seq.gt[0]
        with np.errstate(invalid="ignore"):
            ious = m.box_iou(boxes, seq.gt)
            errors = m.center_error(boxes, seq.gt)
            norm_errors = m.normalized_center_error(boxes, seq.gt)
        return self._finish(seq, ious, errors, norm_errors, times)


class TrackingNetProtocol(OTBProtocol):
    """TrackingNet: the OTB rules; its reported scores are AUC, precision@20px and normalised precision@0.2."""

    name = "trackingnet"


class VOTProtocol(OTBProtocol):
    """VOT sequences evaluated one-pass (no re-initialisation): the OTB rules with the IoU taken against the
    annotated rotated polygon rather than its bounding box; frames without annotation (NaN) are skipped.

    This is not VOT's supervised EAO protocol, which needs the tracker re-run after every failure.
    """

    name = "vot"
    metric_keys = ("success_auc", "precision_20", "norm_precision", "ao", "fps")

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        boxes = np.array(boxes, dtype=np.float64, copy=True)
        boxes[0] = seq.gt[0]
        keep = np.isfinite(seq.gt).all(axis=1)
        if seq.polygons is not None:
            keep &= np.isfinite(seq.polygons).all(axis=1)
            ious = m.box_polygon_iou(boxes[keep], seq.polygons[keep])
        else:
            ious = m.box_iou(boxes[keep], seq.gt[keep])
        errors = m.center_error(boxes[keep], seq.gt[keep])
        norm_errors = m.normalized_center_error(boxes[keep], seq.gt[keep])
        result = self._finish(seq, ious, errors, norm_errors, times)
        result.metrics["ao"] = float(np.mean(ious)) if len(ious) else 0.0
        return result

    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        summary = super().aggregate(evals)
        summary["ao"] = float(np.mean([e.metrics["ao"] for e in evals]))
        return summary


class LaSOTProtocol(_CurveProtocol):
    """The LaSOT MATLAB toolkit (``calc_seq_err_robust.m`` and ``eval_tracker.m``), quirks included:

    - a result row with NaN or a non-positive width/height is replaced by the previous row (when the ground
      truth row is not NaN), then the first row by the ground truth;
    - frames marked absent (``full_occlusion`` or ``out_of_view``) are removed;
    - of the rest, a frame whose ground truth is not all-positive (x, y, w, h > 0) gets IoU -1 (never a
      success) and centre error -1 (a success at every threshold);
    - counts are divided by the full sequence length, absent frames included.
    """

    name = "lasot"

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        gt = np.asarray(seq.gt, dtype=np.float64)
        boxes = _lasot_fill_invalid(np.asarray(boxes, dtype=np.float64), gt)
        boxes[0] = gt[0]
        visible = seq.target_visible()
        if visible is not None:
            boxes, gt = boxes[visible], gt[visible]
        with np.errstate(invalid="ignore"):
            valid = (gt > 0).all(axis=1)
        ious = np.full(len(gt), -1.0)
        errors = np.full(len(gt), -1.0)
        norm_errors = np.full(len(gt), -1.0)
        ious[valid] = m.box_iou(boxes[valid], gt[valid])
        errors[valid] = m.center_error(boxes[valid], gt[valid])
        norm_errors[valid] = m.normalized_center_error(boxes[valid], gt[valid])
        return self._finish(seq, ious, errors, norm_errors, times, denominator=len(seq.gt))


def _lasot_fill_invalid(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Replaces, from the second row on, every invalid row by the previous (already replaced) row."""
    with np.errstate(invalid="ignore"):
        invalid = np.isnan(boxes).any(axis=1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    invalid &= ~np.isnan(gt).any(axis=1)
    invalid[0] = False
    source = np.where(invalid, 0, np.arange(len(boxes)))
    source = np.maximum.accumulate(source)
    return boxes[source].copy()


class TNL2KProtocol(LaSOTProtocol):
    """TNL2K: evaluated with the LaSOT toolkit's rules (TNL2K ships no absent flags)."""

    name = "tnl2k"


class GOT10kProtocol(Protocol):
    """GOT-10k as the got10k toolkit evaluates the validation split (``ExperimentGOT10k.report``).

    Frames 1..N-1 (the initialisation frame excluded), both boxes clipped to the image size from
    ``meta_info.ini``, only frames whose ``cover`` label is above 0. AO, SR and FPS over a set of sequences
    are pooled over all their frames (frame-weighted), not averaged per sequence.
    """

    name = "got10k"
    metric_keys = ("ao", "sr50", "sr75", "fps")

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        boxes = np.asarray(boxes, dtype=np.float64)[1:]
        gt = np.asarray(seq.gt, dtype=np.float64)[1:]
        ious = m.box_iou(boxes, gt, bound=seq.image_size)
        if "cover" in seq.flags:
            ious = ious[np.asarray(seq.flags["cover"])[1:] > 0]
        times = np.zeros(0) if times is None else np.asarray(times, dtype=np.float64)
        return SequenceEval(
            name=seq.name,
            n_frames=len(ious),
            ious=ious,
            times=times,
            metrics={**_pooled_scores(ious), **_fps_metric(times)},
            success_curve=m.success_curve(ious),
        )

    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        ious = np.concatenate([e.ious for e in evals])
        summary: dict[str, float | np.ndarray] = {
            **_pooled_scores(ious),
            "success_curve": m.success_curve(ious),
        }
        summary.update(_fps_metric(np.concatenate([e.times for e in evals])))
        return summary


def _pooled_scores(ious: np.ndarray) -> dict[str, float]:
    if len(ious) == 0:
        return {"ao": 0.0, "sr50": 0.0, "sr75": 0.0}
    return {
        "ao": float(np.mean(ious)),
        "sr50": float(np.mean(ious > 0.5)),
        "sr75": float(np.mean(ious > 0.75)),
    }


PROTOCOLS: dict[str, type[Protocol]] = {
    p.name: p
    for p in (OTBProtocol, TrackingNetProtocol, VOTProtocol, LaSOTProtocol, TNL2KProtocol, GOT10kProtocol)
}


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name`` (a :attr:`Sequence.dataset` family name)."""
    try:
        return PROTOCOLS[name]()
    except KeyError:
        raise ValueError(
            f"unknown evaluation protocol {name!r}; known: {', '.join(sorted(PROTOCOLS))}"
        ) from None
