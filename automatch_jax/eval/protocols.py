"""Each benchmark's official evaluation protocol, and two other toolkits' conventions, from one registry.

A protocol turns one tracker's boxes on one sequence into a :class:`SequenceEval`, and a list of those into
the benchmark's summary. What differs between benchmarks is which frames count, how the curves are pooled
and which scores are reported. The default convention, ``got10k``, is each benchmark's official toolkit:

=========== ====================================================================================== ==========
protocol    frames, pooling                                                                         reference
=========== ====================================================================================== ==========
otb         every frame, the first one replaced by the ground truth; curves averaged over sequences got10k
trackingnet boxes rounded to integers, the first replaced; 21-point curves (IoU 0..1, centre error  devkit
            0..50 px, normalised error 0..0.5), reported as the areas under them (trapezoid rule);
            the OTB-style values of ``otb`` under ``otb_*`` keys
lasot       as the official MATLAB toolkit: invalid results (w or h <= 0) replaced by the previous  LaSOT
            box, frames marked absent (full_occlusion or out_of_view) removed, frames whose ground  toolkit
            truth is not all-positive count IoU -1 and centre error -1, and every count is divided
            by the sequence's full length
tnl2k       as ``lasot`` (TNL2K's toolkit is LaSOT's), its absent frames being those whose ground   TNL2K
            truth is 0,0,0,0                                                                        toolkit
got10k      frames 1..N-1, boxes clipped to the image, only frames with ``cover > 0``; AO, SR and  got10k
            the success curve pooled over all frames of all sequences (and repetitions)
vot         as ``otb``, but the IoU is taken against the rotated polygon (region overlap)           (ours)
=========== ====================================================================================== ==========

``convention="pysot"`` and ``"pytracking"`` instead apply those toolkits' one-pass rules to any benchmark but VOT
(:class:`PysotProtocol`, :class:`PytrackingProtocol`). VOT's reset-based experiment is
:mod:`automatch_jax.eval.supervised`.

Every curve is a fraction in [0, 1]; ``success_auc`` is the mean of the 21-point success curve (the trapezoid
area on TrackingNet), ``precision_20`` and ``norm_precision`` are the precision curves' values at 20 px and 0.2.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Sequence as SequenceOf

import numpy as np

from automatch_jax.boxes import xywh_to_cxcywh, xywh_to_xyxy
from automatch_jax.data.sequence import Sequence
from automatch_jax.errors import AutomatchError
from automatch_jax.eval import metrics as m
from automatch_jax.registry import Registry

CURVE_KEYS = ("success_curve", "precision_curve", "norm_precision_curve")

CONVENTIONS = ("got10k", "pysot", "pytracking")
"""``got10k``: each benchmark's official toolkit (the got10k toolkit for OTB and GOT-10k); ``pysot`` and
``pytracking``: those toolkits' one-pass evaluation, for comparing with papers that used them."""

OPE_THRESHOLDS = {
    "success_curve": m.OVERLAP_THRESHOLDS,
    "precision_curve": m.CENTER_THRESHOLDS,
    "norm_precision_curve": m.NORM_CENTER_THRESHOLDS,
}

TRACKINGNET_THRESHOLDS = {
    "success_curve": np.linspace(0.0, 1.0, 21),
    "precision_curve": np.linspace(0.0, 50.0, 21),
    "norm_precision_curve": np.linspace(0.0, 0.5, 21),
}
"""The TrackingNet devkit's 21-point grids (``metrics.py``)."""


@dataclasses.dataclass(frozen=True)
class SequenceEval:
    """One tracker on one sequence.

    Attributes:
      name: the sequence's name.
      n_frames: how many frames the protocol evaluated.
      ious: (n_frames,) IoU of every evaluated frame (-1 where the toolkit marks the frame invalid).
      times: (T,) positive per-frame times in seconds (empty if the tracker wrote none).
      metrics: score name -> value (fractions; ``fps`` in frames per second).
      success_curve, precision_curve, norm_precision_curve: the curves the protocol defines (None otherwise),
        sampled at the protocol's :attr:`Protocol.thresholds`.
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
    thresholds: dict[str, np.ndarray] = OPE_THRESHOLDS
    """Curve key -> the thresholds (x values) its points are taken at."""

    @abc.abstractmethod
    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        """Scores (N, 4) result boxes against ``seq`` (whose ground truth is complete)."""

    @abc.abstractmethod
    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        """The summary over sequences: every metric key and every curve key the protocol defines."""


def _times(times: np.ndarray | None) -> np.ndarray:
    return np.zeros(0) if times is None else np.asarray(times, dtype=np.float64)


def _fps_metric(times: np.ndarray | None) -> dict[str, float]:
    fps = m.fps_from_times(times) if times is not None else None
    return {} if fps is None else {"fps": fps}


def _mean_fps(evals: SequenceOf[SequenceEval]) -> dict[str, float]:
    """got10k's OTB rule: the mean of the per-sequence speeds, over the sequences that have one."""
    speeds = [e.metrics["fps"] for e in evals if "fps" in e.metrics]
    return {"fps": float(np.mean(speeds))} if speeds else {}


def _mean_curves(evals: SequenceOf[SequenceEval]) -> dict[str, np.ndarray]:
    return {key: np.mean([getattr(e, key) for e in evals], axis=0) for key in CURVE_KEYS}


class _CurveProtocol(Protocol):
    """Protocols whose summary is the mean of per-sequence success and precision curves (OPE): subclasses
    give each frame's IoU, centre error and normalised centre error, and the count's denominator."""

    metric_keys = ("success_auc", "precision_20", "norm_precision", "fps")

    def scores(self, curves: dict[str, np.ndarray]) -> dict[str, float]:
        """The reported scores of a set of curves (per sequence, or averaged over sequences)."""
        return {
            "success_auc": m.area_under_curve(curves["success_curve"]),
            "precision_20": float(curves["precision_curve"][m.PRECISION_INDEX]),
            "norm_precision": float(curves["norm_precision_curve"][m.PRECISION_INDEX]),
        }

    def _finish(
        self,
        seq: Sequence,
        ious: np.ndarray,
        errors: np.ndarray,
        norm_errors: np.ndarray,
        times: np.ndarray | None,
        denominator: int | None = None,
    ) -> SequenceEval:
        t = self.thresholds
        curves = {
            "success_curve": m.success_curve(ious, denominator, t["success_curve"]),
            "precision_curve": m.precision_curve(errors, t["precision_curve"], denominator),
            "norm_precision_curve": m.precision_curve(norm_errors, t["norm_precision_curve"], denominator),
        }
        return SequenceEval(
            name=seq.name,
            n_frames=len(ious),
            ious=ious,
            metrics={**self.scores(curves), **_fps_metric(times)},
            times=_times(times),
            **curves,
        )

    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        curves = _mean_curves(evals)
        return {**self.scores(curves), **_mean_fps(evals), **curves}


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


def trackingnet_errors(boxes: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) IoU, centre error and normalised centre error of the TrackingNet devkit (``metrics.py``).

    Both box arrays are rounded to integers (half to even) and the first result replaced by the ground truth;
    corners are ``x + w - 1``, the intersection's size is rounded and clipped at 0, areas are ``w * h``; the
    normalised error divides each axis's difference by the ground truth's rounded size. An empty union gives
    NaN (never a success), as there.
    """
    box = np.round(np.asarray(boxes, dtype=np.float64))
    anno = np.round(np.asarray(gt, dtype=np.float64))
    box[0] = anno[0]
    x1 = np.maximum(anno[:, :2], box[:, :2])
    x2 = np.minimum(xywh_to_xyxy(anno)[:, 2:] - 1.0, xywh_to_xyxy(box)[:, 2:] - 1.0)
    inter_size = np.clip(np.round(x2 - x1 + 1), 0, None)
    inter = inter_size[:, 0] * inter_size[:, 1]
    union = anno[:, 2] * anno[:, 3] + box[:, 2] * box[:, 3] - inter
    inclusive = np.array([0.0, 0.0, 1.0, 1.0])  # centres of the pixel-inclusive size w + 1, h + 1
    d = xywh_to_cxcywh(anno + inclusive)[:, :2] - xywh_to_cxcywh(box + inclusive)[:, :2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ious = inter / union
        errors = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
        norm_errors = np.sqrt(
            d[:, 0] / anno[:, 2] * d[:, 0] / anno[:, 2] + d[:, 1] / anno[:, 3] * d[:, 1] / anno[:, 3]
        )
    return ious, errors, norm_errors


def trapezoid_area(curve: np.ndarray) -> float:
    """The TrackingNet server's score of a 21-point curve: its trapezoid area over x = 0..1 (``np.trapz``)."""
    return float(np.trapezoid(curve, x=TRACKINGNET_THRESHOLDS["success_curve"]))


class TrackingNetProtocol(_CurveProtocol):
    """TrackingNet as its evaluation server (the devkit's ``metrics.py``) scores it: :func:`trackingnet_errors`,
    per-sequence curves on 21-point grids averaged over sequences, and the areas under the success,
    precision (0-50 px) and normalised-precision (0-0.5) curves. The OTB-style values (AUC as the mean of the
    success curve, precision at 20 px, normalised precision at 0.2, of unrounded boxes) are kept under
    ``otb_success_auc``, ``otb_precision_20`` and ``otb_norm_precision``.
    """

    name = "trackingnet"
    metric_keys = (
        "success_auc",
        "precision_auc",
        "norm_precision_auc",
        "otb_success_auc",
        "otb_precision_20",
        "otb_norm_precision",
        "fps",
    )
    thresholds = TRACKINGNET_THRESHOLDS

    def scores(self, curves: dict[str, np.ndarray]) -> dict[str, float]:
        return {
            "success_auc": trapezoid_area(curves["success_curve"]),
            "precision_auc": trapezoid_area(curves["precision_curve"]),
            "norm_precision_auc": trapezoid_area(curves["norm_precision_curve"]),
        }

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        ious, errors, norm_errors = trackingnet_errors(boxes, seq.gt)
        with np.errstate(invalid="ignore"):
            result = self._finish(seq, ious, errors, norm_errors, times)
        otb = OTBProtocol().evaluate_sequence(boxes, seq, None)
        result.metrics.update({f"otb_{k}": v for k, v in otb.metrics.items()})
        return result

    def aggregate(self, evals: SequenceOf[SequenceEval]) -> dict[str, float | np.ndarray]:
        summary = super().aggregate(evals)
        for key in ("success_auc", "precision_20", "norm_precision"):
            summary[f"otb_{key}"] = float(np.mean([e.metrics[f"otb_{key}"] for e in evals]))
        return summary


class VOTProtocol(OTBProtocol):
    """VOT sequences evaluated one-pass (no re-initialisation): the OTB rules with the IoU taken against the
    annotated rotated polygon rather than its bounding box; frames without annotation (NaN) are skipped.

    This is not VOT's supervised EAO protocol (:mod:`automatch_jax.eval.supervised`), which needs the tracker
    re-run after every failure.
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


def fill_invalid(boxes: np.ndarray, gt: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """A copy of ``boxes`` where, from the second row on, every ``invalid`` row whose ground truth is not NaN
    is replaced by the previous (already replaced) row: the LaSOT toolkit's and pytracking's repair."""
    invalid = np.asarray(invalid, dtype=bool) & ~np.isnan(gt).any(axis=1)
    invalid[0] = False
    source = np.maximum.accumulate(np.where(invalid, 0, np.arange(len(boxes))))
    return np.asarray(boxes, dtype=np.float64)[source].copy()


class LaSOTProtocol(_CurveProtocol):
    """The LaSOT MATLAB toolkit (``calc_seq_err_robust.m`` and ``eval_tracker.m``), quirks included:

    - a result row with NaN or a non-positive width/height is replaced by the previous row (when the ground
      truth row is not NaN), then the first row by the ground truth;
    - frames marked absent (``full_occlusion`` or ``out_of_view``; TNL2K: ground truth 0,0,0,0) are removed;
    - of the rest, a frame whose ground truth is not all-positive (x, y, w, h > 0) gets IoU -1 (never a
      success) and centre error -1 (a success at every threshold);
    - the normalised error divides each centre by the ground truth's size before subtracting;
    - counts are divided by the full sequence length, absent frames included.
    """

    name = "lasot"

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        gt = np.asarray(seq.gt, dtype=np.float64)
        boxes = np.asarray(boxes, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            invalid = np.isnan(boxes).any(axis=1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
        boxes = fill_invalid(boxes, gt, invalid)
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


class TNL2KProtocol(LaSOTProtocol):
    """TNL2K: its toolkit is LaSOT's, with the frames whose ground truth is 0,0,0,0 as the absent ones
    (the reader's ``absent`` flag): removed from every count, still in the denominator."""

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
        times = _times(times)
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


class _ToolkitProtocol(_CurveProtocol):
    """A third-party toolkit's one-pass rules applied to the benchmark family ``family``: the summary is the
    mean of per-sequence curves; scores are AUC (mean of the success curve), precision at 20 px and
    normalised precision at 0.20."""

    convention: str

    def __init__(self, family: str):
        self.family = family
        self.name = family


class PysotProtocol(_ToolkitProtocol):
    """pysot's ``OPEBenchmark`` (``toolkit/evaluation/ope_benchmark.py``, ``toolkit/utils/statistics.py``):

    - results are taken as written: the first frame is not replaced, invalid boxes are not repaired;
    - on LaSOT (the one benchmark pysot carries absence flags for) absent frames are removed, still counted
      in the denominator, which is always the full length;
    - a frame whose ground truth has a non-positive width or height has IoU -1 (never a success);
    - a frame whose ground-truth centre has a coordinate <= 0 has centre error -1, i.e. counts as a success
      at every threshold; the same for the normalised error, whose centres are divided by ``gt_wh + 1e-16``;
    - reported: AUC, precision at 20 px and normalised precision at 0.20 (not the curve's area).
    """

    convention = "pysot"

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        gt = np.asarray(seq.gt, dtype=np.float64)
        boxes = np.asarray(boxes, dtype=np.float64)
        visible = seq.target_visible() if self.family == "lasot" else None
        if visible is not None:
            boxes, gt = boxes[visible], gt[visible]
        with np.errstate(invalid="ignore", divide="ignore"):
            sized = (gt[:, 2:] > 0).all(axis=1)
            ious = np.full(len(gt), -1.0)
            ious[sized] = m.box_iou(boxes[sized], gt[sized], eps=0.0)
            centres = m.box_centers(gt)
            errors = np.where((centres > 0).all(axis=1), m.center_error(boxes, gt), -1.0)
            norm_gt = centres / (gt[:, 2:] + 1e-16)
            norm_errors = np.where(
                (norm_gt > 0).all(axis=1), m.normalized_center_error(boxes, gt, eps=1e-16), -1.0
            )
        return self._finish(seq, ious, errors, norm_errors, times, denominator=len(seq.gt))


def pytracking_iou(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) IoU as pytracking's ``calc_iou_overlap``: corners ``x + w - 1``, intersection ``br - tl + 1``
    clipped at 0, areas ``w * h`` (equal to the continuous IoU up to rounding)."""
    tl = np.maximum(boxes[:, :2], gt[:, :2])
    br = np.minimum(xywh_to_xyxy(boxes)[:, 2:] - 1.0, xywh_to_xyxy(gt)[:, 2:] - 1.0)
    size = np.clip(br - tl + 1.0, 0, None)
    inter = size[:, 0] * size[:, 1]
    return inter / (boxes[:, 2] * boxes[:, 3] + gt[:, 2] * gt[:, 3] - inter)


class PytrackingProtocol(_ToolkitProtocol):
    """pytracking's ``extract_results`` / ``calc_seq_err_robust`` (``pytracking/analysis/extract_results.py``):

    - from the second frame on, a result with zero width or height is replaced by the previous box; then the
      first frame is replaced by the ground truth;
    - a frame is valid when its ground truth has positive width and height (and, on LaSOT, the target is
      visible); an invalid frame has IoU -1 and centre error +inf (never a success) but normalised error -1
      (a success at every threshold); on LaSOT an absent frame has both centre errors +inf;
    - counts are divided by the full sequence length (its ``exclude_invalid_frames=False`` default);
    - reported: AUC, precision at 20 px and normalised precision at 0.20.

    pytracking stores the curves in float32; these are float64 (the scores agree to ~1e-7).
    """

    convention = "pytracking"

    def evaluate_sequence(self, boxes: np.ndarray, seq: Sequence, times: np.ndarray | None) -> SequenceEval:
        gt = np.asarray(seq.gt, dtype=np.float64)
        boxes = np.asarray(boxes, dtype=np.float64)
        boxes = fill_invalid(boxes, gt, (boxes[:, 2:] == 0).any(axis=1))
        boxes[0] = gt[0]
        visible = seq.target_visible() if self.family == "lasot" else None
        with np.errstate(invalid="ignore", divide="ignore"):
            valid = (gt[:, 2:] > 0).all(axis=1)
            if visible is not None:
                valid &= visible
            ious = np.where(valid, pytracking_iou(boxes, gt), -1.0)
            errors = np.where(valid, m.center_error(boxes, gt), np.inf)
            norm_errors = np.where(valid, m.normalized_center_error(boxes, gt), -1.0)
        if visible is not None:
            errors[~visible] = np.inf
            norm_errors[~visible] = np.inf
        return self._finish(seq, ious, errors, norm_errors, times, denominator=len(gt))


PROTOCOLS: Registry[type[Protocol]] = Registry("evaluation protocol")
"""Benchmark family (:attr:`Sequence.dataset`) -> its official protocol's class, registered under its ``name``."""
for _protocol in (OTBProtocol, TrackingNetProtocol, VOTProtocol, LaSOTProtocol, TNL2KProtocol, GOT10kProtocol):
    PROTOCOLS.register(_protocol.name, _protocol)
del _protocol

_TOOLKITS: dict[str, type[_ToolkitProtocol]] = {"pysot": PysotProtocol, "pytracking": PytrackingProtocol}


def get_protocol(name: str, convention: str = "got10k") -> Protocol:
    """The protocol of the benchmark family ``name`` (a :attr:`Sequence.dataset`) under ``convention``."""
    official = PROTOCOLS.get(name)
    if convention == "got10k":
        return official()
    if convention not in _TOOLKITS:
        raise AutomatchError(f"unknown convention {convention!r}; known: {', '.join(CONVENTIONS)}")
    if name == "vot":
        raise AutomatchError(
            f"--convention {convention} applies to one-pass benchmarks; VOT's is the supervised experiment "
            "(--protocol supervised)"
        )
    return _TOOLKITS[convention](name)
