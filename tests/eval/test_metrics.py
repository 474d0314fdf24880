"""Per-frame metrics and each protocol's frame rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from automatch_jax.data.sequence import Sequence
from automatch_jax.errors import AutomatchError
from automatch_jax.eval import metrics as m
from automatch_jax.eval.protocols import PROTOCOLS, get_protocol

_box = arrays(np.float64, (5, 4), elements=st.floats(0.5, 500, allow_nan=False))


def _seq(gt: np.ndarray, dataset: str, **kwargs) -> Sequence:
    return Sequence(
        name="s",
        frames=tuple(f"{i}.jpg" for i in range(len(gt))),
        gt=np.asarray(gt, float),
        dataset=dataset,
        **kwargs,
    )


def test_iou_and_centre_error_agree_with_got10k() -> None:
    got10k = pytest.importorskip("got10k.utils.metrics")
    rng = np.random.default_rng(0)
    a = rng.uniform(-50, 600, (500, 4))
    b = rng.uniform(-50, 600, (500, 4))
    a[:, 2:] = np.abs(a[:, 2:])
    b[:, 2:] = np.abs(b[:, 2:])
    np.testing.assert_allclose(m.box_iou(a, b), got10k.rect_iou(a.copy(), b.copy()), atol=1e-12)
    np.testing.assert_allclose(
        m.box_iou(a, b, (640, 480)), got10k.rect_iou(a.copy(), b.copy(), (640, 480)), atol=1e-12
    )
    np.testing.assert_allclose(m.center_error(a, b), got10k.center_error(a, b), atol=1e-12)


def test_known_values() -> None:
    box = np.array([[10.0, 10, 20, 20]])
    assert m.box_iou(box, box)[0] == pytest.approx(1.0)
    assert m.box_iou(box, np.array([[20.0, 10, 20, 20]]))[0] == pytest.approx(1 / 3)
    assert m.box_iou(box, np.array([[100.0, 10, 20, 20]]))[0] == 0.0
    assert m.center_error(box, np.array([[13.0, 14, 20, 20]]))[0] == pytest.approx(5.0)
    # Normalised by the ground truth's size: (10/20, 0/40) -> 0.5.
    assert m.normalized_center_error(np.array([[10.0, 0, 20, 40]]), np.array([[0.0, 0, 20, 40]]))[0] == 0.5
    assert m.normalized_center_error(box, np.array([[0.0, 0, 0, 10]]))[0] == np.inf
    # The toolkits divide each centre by the size, then subtract: 3.25/5 - 3/5 is just above 0.05.
    assert m.normalized_center_error(np.array([[1.25, 0, 5, 8]]), np.array([[1.0, 0, 5, 8]]))[0] > 0.05
    assert m.center_error(np.array([[3.0, 4, 1, 1]]), np.array([[0.0, 0, 1, 1]]))[0] == 5.0
    # Success counts IoU strictly above a threshold, precision an error at most the threshold.
    assert m.success_curve(np.array([0.5]))[10] == 0.0 and m.success_curve(np.array([0.5]))[9] == 1.0
    assert m.precision_curve(np.array([20.0]))[20] == 1.0 and m.precision_curve(np.array([20.5]))[20] == 0.0
    assert m.fps_from_times(np.array([0.01, 0.02, 0.0, np.nan])) == pytest.approx(75.0)
    assert m.fps_from_times(np.array([0.0])) is None


@settings(max_examples=50, deadline=None)
@given(_box, _box, st.floats(-100, 100), st.floats(0.1, 10))
def test_iou_properties(a: np.ndarray, b: np.ndarray, shift: float, scale: float) -> None:
    iou = m.box_iou(a, b)
    assert ((iou >= 0) & (iou <= 1)).all()
    np.testing.assert_allclose(iou, m.box_iou(b, a), atol=1e-12)
    moved_a, moved_b = a.copy(), b.copy()
    moved_a[:, :2] += shift
    moved_b[:, :2] += shift
    np.testing.assert_allclose(m.box_iou(moved_a, moved_b), iou, atol=1e-9)
    np.testing.assert_allclose(m.box_iou(a * scale, b * scale), iou, atol=1e-9)


def test_polygon_iou() -> None:
    shapely = pytest.importorskip("shapely.geometry")
    rng = np.random.default_rng(1)
    boxes = rng.uniform(0, 100, (50, 4))
    boxes[:, 2:] += 5
    polygons = []
    for _ in range(50):
        cx, cy, w, h, angle = *rng.uniform(20, 120, 2), *rng.uniform(5, 60, 2), rng.uniform(0, np.pi)
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        polygons.append((corners @ rot.T + [cx, cy]).ravel())
    polygons = np.array(polygons)
    expected = []
    for box, polygon in zip(boxes, polygons, strict=True):
        x, y, w, h = box
        p = shapely.Polygon(polygon.reshape(4, 2))
        q = shapely.box(x, y, x + w, y + h)
        expected.append(p.intersection(q).area / p.union(q).area)
    np.testing.assert_allclose(m.box_polygon_iou(boxes, polygons), expected, atol=1e-9)
    square = np.array([[0.0, 0, 10, 0, 10, 10, 0, 10]])
    assert m.box_polygon_iou(np.array([[0.0, 0, 10, 10]]), square)[0] == pytest.approx(1.0)
    assert m.box_polygon_iou(np.array([[0.0, 0, 10, 10]]), square[:, ::-1].copy())[0] == pytest.approx(1.0)


def test_registry() -> None:
    assert set(PROTOCOLS) == {"otb", "trackingnet", "vot", "lasot", "tnl2k", "got10k"}
    with pytest.raises(ValueError, match="unknown evaluation protocol 'x'"):
        get_protocol("x")
    assert get_protocol("lasot", "pysot").name == "lasot" and get_protocol("otb", "pytracking").name == "otb"
    with pytest.raises(AutomatchError, match="unknown convention 'mine'"):
        get_protocol("otb", "mine")
    with pytest.raises(AutomatchError, match="supervised"):
        get_protocol("vot", "pysot")


def test_otb_replaces_the_first_box() -> None:
    gt = np.array([[10.0, 10, 20, 20]] * 4)
    boxes = np.array([[500.0, 500, 1, 1]] * 4)
    result = get_protocol("otb").evaluate_sequence(boxes, _seq(gt, "otb"), None)
    assert result.metrics["success_auc"] == pytest.approx(0.25 * 20 / 21) and "fps" not in result.metrics


def test_lasot_rules() -> None:
    gt = np.array([[10.0, 10, 20, 20], [10, 10, 20, 20], [0, 10, 20, 20], [10, 10, 20, 20], [10, 10, 20, 20]])
    boxes = np.array([[0.0, 0, 1, 1], [10, 10, 20, 20], [10, 10, 20, 20], [10, 10, 0, 20], [10, 10, 20, 20]])
    flags = {"full_occlusion": np.array([0, 0, 0, 0, 1], bool), "out_of_view": np.zeros(5, bool)}
    result = get_protocol("lasot").evaluate_sequence(boxes, _seq(gt, "lasot", flags=flags), None)
    # Frame 0: replaced by gt (IoU 1); frame 1: IoU 1; frame 2: gt x=0 -> IoU -1, error -1; frame 3: w=0 ->
    # previous box (IoU 1); frame 4: absent, removed, but still in the denominator of 5.
    np.testing.assert_allclose(result.ious, [1, 1, -1, 1])
    assert result.success_curve[0] == pytest.approx(3 / 5)
    assert result.precision_curve[0] == pytest.approx(4 / 5)
    assert get_protocol("tnl2k").evaluate_sequence(boxes, _seq(gt, "tnl2k"), None).success_curve[0] == 0.8


def test_tnl2k_drops_absent_frames() -> None:
    # Frame 2 is absent (0,0,0,0): removed from the counts, still in the denominator of 4; frame 3 is lost.
    gt = np.array([[10.0, 10, 20, 20], [10, 10, 20, 20], [0, 0, 0, 0], [10, 10, 20, 20]])
    boxes = np.array([[10.0, 10, 20, 20], [10, 10, 20, 20], [300, 300, 20, 20], [300, 300, 20, 20]])
    flags = {"absent": np.all(gt == 0, axis=1)}
    result = get_protocol("tnl2k").evaluate_sequence(boxes, _seq(gt, "tnl2k", flags=flags), None)
    assert result.precision_curve[20] == pytest.approx(2 / 4)  # not 3/4 with the absent frame a "success"
    assert result.norm_precision_curve[20] == pytest.approx(2 / 4) and result.success_curve[0] == 0.5


def test_got10k_rules() -> None:
    gt = np.array([[10.0, 10, 20, 20], [10, 10, 20, 20], [90, 10, 20, 20], [10, 10, 20, 20]])
    boxes = np.array([[0.0, 0, 1, 1], [10, 10, 20, 20], [90, 10, 40, 20], [500, 500, 5, 5]])
    flags = {"cover": np.array([8, 8, 8, 0])}
    seq = _seq(gt, "got10k", flags=flags, image_size=(100, 100))
    result = get_protocol("got10k").evaluate_sequence(boxes, seq, np.array([0.1, 0.1]))
    # Frame 0 skipped; frame 2's prediction is clipped at x=100 (IoU 1); frame 3 has cover 0: skipped.
    np.testing.assert_allclose(result.ious, [1.0, 1.0])
    assert result.metrics == {"ao": 1.0, "sr50": 1.0, "sr75": 1.0, "fps": pytest.approx(10.0)}
    pooled = get_protocol("got10k").aggregate([result, result])
    assert pooled["ao"] == 1.0 and pooled["success_curve"].shape == (21,)


def test_vot_uses_polygons() -> None:
    polygons = np.array([[0.0, 5, 5, 0, 10, 5, 5, 10]] * 3)  # a diamond of area 50 inside a 10x10 AABB
    gt = np.array([[0.0, 0, 10, 10]] * 3)
    result = get_protocol("vot").evaluate_sequence(gt, _seq(gt, "vot", polygons=polygons), None)
    assert result.metrics["ao"] == pytest.approx(0.5)
