"""Our evaluation against small ports of the other toolkits' computations, on fixtures in the real layouts.

Each reference below is written here from the toolkit's definition, in that toolkit's own order of operations
and style (loops over frames and thresholds), independently of ``automatch_jax.eval``: the LaSOT / TNL2K MATLAB
toolkits (``calc_seq_err_robust.m``, ``eval_tracker.m``, ``calc_rect_int.m``, run as Octave does), the
TrackingNet devkit (``metrics.py``), pysot (``ope_benchmark.py``, ``statistics.py``) and pytracking
(``extract_results.py``, float32 curves).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.data.lasot import LaSOTDataset
from automatch_jax.data.otb import OTBDataset
from automatch_jax.data.trackingnet import TrackingNetDataset
from automatch_jax.eval.evaluate import evaluate_tracker
from automatch_jax.eval.protocols import get_protocol
from tests.data.fixtures import (
    tracker_output,
    write_lasot_root,
    write_otb_root,
    write_tnl2k_root,
    write_trackingnet_split,
)

EPS = np.finfo(np.float64).eps


def _write_results(folder: Path, results: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, boxes in results.items():
        np.savetxt(folder / f"{name}.txt", boxes, fmt="%.3f", delimiter=",")
    return folder


def _results_for(gts: dict[str, np.ndarray], rng: np.random.Generator, size=(1280, 720)) -> dict[str, np.ndarray]:
    results = {}
    for name, gt in gts.items():
        boxes = tracker_output(rng, np.where(gt > 0, gt, 50.0), size)
        zero = rng.random(len(gt)) < 0.1  # zero-size boxes: repaired by some toolkits, not by others
        boxes[zero, 2 + rng.integers(0, 2)] = 0.0
        results[name] = np.round(boxes, 3)
    return results


# --- LaSOT / TNL2K MATLAB toolkit ----------------------------------------------------------------------------


def _calc_rect_int(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left_a, bottom_a = a[:, 0], a[:, 1]
    right_a, top_a = left_a + a[:, 2] - 1, bottom_a + a[:, 3] - 1
    left_b, bottom_b = b[:, 0], b[:, 1]
    right_b, top_b = left_b + b[:, 2] - 1, bottom_b + b[:, 3] - 1
    inter = np.maximum(0, np.minimum(right_a, right_b) - np.maximum(left_a, left_b) + 1) * np.maximum(
        0, np.minimum(top_a, top_b) - np.maximum(bottom_a, bottom_b) + 1
    )
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def _matlab_seq_err(results: np.ndarray, anno: np.ndarray, absent: np.ndarray, norm_dst: bool):
    results = results.copy()
    for i in range(1, len(anno)):
        r = results[i]
        if (np.isnan(r).any() or r[2] <= 0 or r[3] <= 0) and not np.isnan(anno[i]).any():
            results[i] = results[i - 1]
    rect_mat = results.copy()
    rect_mat[0] = anno[0]
    rect_mat, anno = rect_mat[absent != 1], anno[absent != 1]
    center_gt = np.column_stack([anno[:, 0] + (anno[:, 2] - 1) / 2, anno[:, 1] + (anno[:, 3] - 1) / 2])
    center = np.column_stack([rect_mat[:, 0] + (rect_mat[:, 2] - 1) / 2, rect_mat[:, 1] + (rect_mat[:, 3] - 1) / 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        if norm_dst:
            center[:, 0] = center[:, 0] / anno[:, 2]
            center[:, 1] = center[:, 1] / anno[:, 3]
            center_gt[:, 0] = center_gt[:, 0] / anno[:, 2]
            center_gt[:, 1] = center_gt[:, 1] / anno[:, 3]
        err_center = np.sqrt(np.sum((center - center_gt) ** 2, axis=1))
    idx = np.sum(anno > 0, axis=1) == 4
    err_coverage = -np.ones(len(idx))
    err_coverage[idx] = _calc_rect_int(rect_mat[idx], anno[idx])
    err_center[~idx] = -1
    return err_coverage, err_center


def _matlab_curves(results: np.ndarray, anno: np.ndarray, absent: np.ndarray) -> dict[str, np.ndarray]:
    overlap_thresholds = np.arange(21) * 0.05  # Octave's 0:0.05:1
    error_thresholds = np.arange(51) / 1
    coverage, center = _matlab_seq_err(results, anno, absent, False)
    _, center_norm = _matlab_seq_err(results, anno, absent, True)
    n = len(anno) + EPS
    return {
        "success_curve": np.array([np.sum(coverage > t) for t in overlap_thresholds]) / n,
        "precision_curve": np.array([np.sum(center <= t) for t in error_thresholds]) / n,
        "norm_precision_curve": np.array([np.sum(center_norm <= t) for t in error_thresholds / 100]) / n,
    }


def _assert_curve_report(report, curves: dict[str, list[np.ndarray]]) -> None:
    for key, per_sequence in curves.items():
        np.testing.assert_allclose(report.curves[key], np.mean(per_sequence, axis=0), atol=1e-12, err_msg=key)


def test_tnl2k_drops_absent_frames_as_its_toolkit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    gts = write_tnl2k_root(tmp_path / "TNL2K", rng)
    results = _results_for(gts, rng)
    report = evaluate_tracker(load_benchmark("tnl2k", tmp_path / "TNL2K"), _write_results(tmp_path / "T", results))
    curves: dict[str, list[np.ndarray]] = {}
    for name, gt in gts.items():
        absent = np.all(gt == 0, axis=1).astype(int)  # what the toolkit's annos/absent/<seq>.txt holds
        for key, curve in _matlab_curves(results[name], gt, absent).items():
            curves.setdefault(key, []).append(curve)
    _assert_curve_report(report, curves)
    # Counting the absent frames as the LaSOT rules' "centre error -1" would inflate the precision.
    inflated = np.mean(
        [_matlab_curves(results[n], g, np.zeros(len(g)))["precision_curve"][20] for n, g in gts.items()]
    )
    assert report.overall["precision_20"] < inflated - 0.05


def test_lasot_matches_its_toolkit_including_ties(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    gts = write_lasot_root(tmp_path / "LaSOT", rng, train=())
    # A normalised error exactly at a threshold k/100 in exact arithmetic: the toolkit divides each centre by
    # the size before subtracting (3.25/5 - 3/5 > 0.05), not the difference (0.25/5 = 0.05).
    name = "airplane-1"
    gts[name][:] = [1, 20, 5, 8]
    np.savetxt(tmp_path / "LaSOT" / "airplane" / name / "groundtruth.txt", gts[name], fmt="%d", delimiter=",")
    results = _results_for(gts, rng)
    results[name][:] = [1.25, 20, 5, 8]
    dataset = LaSOTDataset(tmp_path / "LaSOT")
    report = evaluate_tracker(dataset, _write_results(tmp_path / "T", results))
    curves: dict[str, list[np.ndarray]] = {}
    for seq_name, gt in gts.items():
        seq = dataset[seq_name]
        absent = (seq.flags["full_occlusion"] | seq.flags["out_of_view"]).astype(int)
        for key, curve in _matlab_curves(results[seq_name], gt, absent).items():
            curves.setdefault(key, []).append(curve)
    _assert_curve_report(report, curves)
    # Only the first frame (replaced by the ground truth) is a success at 0.05; every visible one at 0.06.
    seq = dataset[name]
    visible = seq.target_visible()
    mine = get_protocol("lasot").evaluate_sequence(results[name], seq, None).norm_precision_curve
    assert mine[5] == pytest.approx(1 / len(seq)) and mine[6] == pytest.approx(visible.sum() / len(seq))


# --- TrackingNet devkit ---------------------------------------------------------------------------------------


def _devkit_sequence(anno_rows: np.ndarray, subm_rows: np.ndarray) -> tuple[list, list, list]:
    ious, distances, ndistances = [], [], []
    for i, (anno, subm) in enumerate(zip(anno_rows, subm_rows, strict=True)):
        ax1, ay1, aw, ah = (round(float(v)) * 1.0 for v in anno)
        sx1, sy1, sw, sh = (round(float(v)) * 1.0 for v in (anno if i == 0 else subm))
        ax2, ay2, sx2, sy2 = ax1 + aw - 1.0, ay1 + ah - 1.0, sx1 + sw - 1.0, sy1 + sh - 1.0
        acx, acy = ax1 + (aw + 1.0) / 2.0, ay1 + (ah + 1.0) / 2.0
        scx, scy = sx1 + (sw + 1.0) / 2.0, sy1 + (sh + 1.0) / 2.0
        iw = max(round(min(ax2, sx2) - max(ax1, sx1) + 1), 0)
        ih = max(round(min(ay2, sy2) - max(ay1, sy1) + 1), 0)
        inter = iw * ih
        union = ah * aw + sh * sw - inter
        ious.append(inter / union if union else math.nan)
        distances.append(math.sqrt((acx - scx) * (acx - scx) + (acy - scy) * (acy - scy)))
        ndistances.append(math.sqrt((acx - scx) / aw * (acx - scx) / aw + (acy - scy) / ah * (acy - scy) / ah))
    return ious, distances, ndistances


def test_trackingnet_reports_the_server_definitions(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    gts = write_trackingnet_split(tmp_path, "TRAIN_3", rng, n_sequences=6)
    results = {n: np.round(tracker_output(rng, gt) + rng.uniform(-0.6, 0.6, gt.shape), 3) for n, gt in gts.items()}
    results["video_001"][2] = [100.5, 100.5, 40.5, 30.5]  # halves: rounded to even
    report = evaluate_tracker(TrackingNetDataset(tmp_path, "TRAIN_3"), _write_results(tmp_path / "T", results))
    success_x, precision_x, nprecision_x = np.linspace(0, 1, 21), np.linspace(0, 50, 21), np.linspace(0, 0.5, 21)
    success, precision, nprecision = np.zeros(21), np.zeros(21), np.zeros(21)
    for name in gts:
        anno = np.loadtxt(tmp_path / "TRAIN_3" / "anno" / f"{name}.txt", delimiter=",")
        ious, distances, ndistances = _devkit_sequence(anno, results[name])
        success += np.array([sum(i > t for i in ious) / len(ious) for t in success_x])
        precision += np.array([sum(d <= t for d in distances) / len(distances) for t in precision_x])
        nprecision += np.array([sum(d <= t for d in ndistances) / len(ndistances) for t in nprecision_x])
    success, precision, nprecision = success / len(gts), precision / len(gts), nprecision / len(gts)
    np.testing.assert_allclose(report.curves["success_curve"], success, atol=1e-12)
    np.testing.assert_allclose(report.curves["precision_curve"], precision, atol=1e-12)
    np.testing.assert_allclose(report.curves["norm_precision_curve"], nprecision, atol=1e-12)
    assert report.overall["success_auc"] == pytest.approx(np.trapezoid(success, x=success_x), abs=1e-12)
    assert report.overall["precision_auc"] == pytest.approx(np.trapezoid(precision, x=success_x), abs=1e-12)
    assert report.overall["norm_precision_auc"] == pytest.approx(np.trapezoid(nprecision, x=success_x), abs=1e-12)
    np.testing.assert_allclose(report.thresholds["precision_curve"], precision_x)
    # The OTB-style values stay available under their own keys, and are not the server's.
    otb = evaluate_tracker(OTBDataset(_as_otb(tmp_path, gts), "otb"), tmp_path / "T")
    assert report.overall["otb_success_auc"] == pytest.approx(otb.overall["success_auc"], abs=1e-12)
    assert report.overall["otb_precision_20"] == pytest.approx(otb.overall["precision_20"], abs=1e-12)
    assert "precision_20" not in report.overall and "norm_precision" not in report.overall


def _as_otb(tmp_path: Path, gts: dict[str, np.ndarray]) -> Path:
    """The same ground truth written as OTB-format sequences (the OTB rules' reference)."""
    root = tmp_path / "as_otb"
    for name, gt in gts.items():
        (root / name).mkdir(parents=True)
        np.savetxt(root / name / "groundtruth_rect.txt", gt, fmt="%.2f", delimiter=",")
    return root


# --- pysot and pytracking -------------------------------------------------------------------------------------


def _pysot_sequence(gt: np.ndarray, boxes: np.ndarray, absent_keep: np.ndarray | None):
    n_frame = len(gt)
    if absent_keep is not None:
        gt, boxes = gt[absent_keep], boxes[absent_keep]
    iou = np.ones(len(gt)) * -1
    mask = np.sum(gt[:, 2:] > 0, axis=1) == 2
    a, b = gt[mask], boxes[mask]
    left, right = np.maximum(a[:, 0], b[:, 0]), np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    top, bottom = np.maximum(a[:, 1], b[:, 1]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.maximum(0, right - left) * np.maximum(0, bottom - top)
    with np.errstate(invalid="ignore"):
        iou[mask] = np.maximum(np.minimum(1, inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)), 0)
    success = np.array([np.sum(iou > t) / float(n_frame) for t in np.arange(0, 1.05, 0.05)])

    def centre(bb: np.ndarray) -> np.ndarray:
        return np.array([bb[:, 0] + (bb[:, 2] - 1) / 2, bb[:, 1] + (bb[:, 3] - 1) / 2]).T

    def success_error(gt_center: np.ndarray, result_center: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        dist = np.ones(len(gt_center)) * -1
        mask = np.sum(gt_center > 0, axis=1) == 2
        dist[mask] = np.sqrt(np.sum(np.power(gt_center[mask] - result_center[mask], 2), axis=1))
        return np.array([np.sum(dist <= t) / float(n_frame) for t in thresholds])

    precision = success_error(centre(gt), centre(boxes), np.arange(0, 51, 1))
    wh = gt[:, 2:4] + 1e-16
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = success_error(centre(gt) / wh, centre(boxes) / wh, np.arange(0, 51, 1) / 100)
    return success, precision, norm


def _pytracking_sequence(gt: np.ndarray, boxes: np.ndarray, visible: np.ndarray | None, lasot: bool):
    pred = boxes.copy()
    if (pred[:, 2:] == 0.0).any():
        for i in range(1, pred.shape[0]):
            if (pred[i, 2:] == 0.0).any() and not np.isnan(gt[i, :]).any():
                pred[i, :] = pred[i - 1, :]
    pred[0, :] = gt[0, :]
    valid = (gt[:, 2:] > 0.0).sum(1) == 2
    if visible is not None:
        valid = valid & visible

    def err_center(normalized: bool) -> np.ndarray:
        pc, ac = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0), gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
        if normalized:
            pc, ac = pc / gt[:, 2:], ac / gt[:, 2:]
        return np.sqrt(((pc - ac) ** 2).sum(1))

    with np.errstate(invalid="ignore", divide="ignore"):
        center, center_norm = err_center(False), err_center(True)
        tl = np.maximum(pred[:, :2], gt[:, :2])
        br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
        size = np.clip(br - tl + 1.0, 0, None)
        inter = size.prod(axis=1)
        overlap = inter / (pred[:, 2:].prod(axis=1) + gt[:, 2:].prod(axis=1) - inter)
    center[~valid], center_norm[~valid], overlap[~valid] = np.inf, -1.0, -1.0
    if lasot:
        center_norm[~visible], center[~visible] = np.inf, np.inf
    n = gt.shape[0]
    thresholds = np.arange(0.0, 1.0 + 0.05, 0.05)
    as_f32 = np.float32
    return (
        ((overlap[:, None] > thresholds[None]).sum(0).astype(as_f32) / n).astype(as_f32),
        ((center[:, None] <= np.arange(0, 51.0)[None]).sum(0).astype(as_f32) / n).astype(as_f32),
        ((center_norm[:, None] <= (np.arange(0, 51.0) / 100.0)[None]).sum(0).astype(as_f32) / n).astype(as_f32),
    )


@pytest.mark.parametrize("convention", ["pysot", "pytracking"])
@pytest.mark.parametrize("family", ["otb", "lasot"])
def test_conventions_match_the_toolkits(tmp_path: Path, convention: str, family: str) -> None:
    rng = np.random.default_rng(8)
    if family == "otb":
        gts = write_otb_root(tmp_path / "data", rng)
        dataset = OTBDataset(tmp_path / "data", "otb100")
        size = (640, 480)
    else:
        gts = write_lasot_root(tmp_path / "data", rng, train=())
        dataset = LaSOTDataset(tmp_path / "data")
        size = (1280, 720)
    # Frames each toolkit treats specially: a zero-size ground truth, and one whose centre lies left of x = 0.
    first = dataset.sequence_names[0]
    gts[first][1, 2] = 0
    gts[first][2, 0] = -80
    _rewrite_gt(tmp_path / "data", family, first, gts[first])
    results = _results_for(gts, rng, size)
    report = evaluate_tracker(dataset, _write_results(tmp_path / "T", results), convention=convention)
    per_sequence = []
    for name in dataset.sequence_names:
        seq = dataset[name]
        gt = np.asarray(seq.gt)
        visible = seq.target_visible() if family == "lasot" else None
        if convention == "pysot":
            per_sequence.append(_pysot_sequence(gt, results[name], visible))
        else:
            per_sequence.append(_pytracking_sequence(gt, results[name], visible, family == "lasot"))
    success, precision, norm = (np.mean([s[k] for s in per_sequence], axis=0) for k in range(3))
    atol = 1e-12 if convention == "pysot" else 1e-6  # pytracking keeps float32 curves
    np.testing.assert_allclose(report.curves["success_curve"], success, atol=atol)
    np.testing.assert_allclose(report.curves["precision_curve"], precision, atol=atol)
    np.testing.assert_allclose(report.curves["norm_precision_curve"], norm, atol=atol)
    assert report.overall["success_auc"] == pytest.approx(float(np.mean(success)), abs=atol)
    assert report.overall["precision_20"] == pytest.approx(float(precision[20]), abs=atol)
    assert report.overall["norm_precision"] == pytest.approx(float(norm[20]), abs=atol)  # at 0.20, not the area
    official = evaluate_tracker(dataset, tmp_path / "T")
    keys = ("success_auc", "precision_20", "norm_precision")
    assert any(report.overall[k] != official.overall[k] for k in keys)  # the conventions do differ


def _rewrite_gt(root: Path, family: str, name: str, gt: np.ndarray) -> None:
    if family == "otb":
        from automatch_jax.data import otb_table

        entry = otb_table.TABLE[name]
        path = root / entry.folder / entry.anno_file
    else:
        path = root / name.rsplit("-", 1)[0] / name / "groundtruth.txt"
    np.savetxt(path, gt, fmt="%g", delimiter=",")
