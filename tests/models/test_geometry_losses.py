"""Score-map geometry, label assignment and the losses."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automatch_jax.models.geometry import ScoreGeometry, decode_boxes, geometry_for, make_targets
from automatch_jax.models.losses import classification_loss, iou_loss, tracking_loss

GEOMETRY = ScoreGeometry()


def test_default_geometry() -> None:
    g = geometry_for("resnet50")
    assert (g.score_size, g.exemplar_feature_size, g.exemplar_start, g.offset) == (32, 16, 5, 0.0)
    assert g.positions()[0] == 0 and g.positions()[-1] == 248
    # the exemplar window's middle cell sits on the crop centre (pixel 63) within half a stride
    lite = geometry_for("efficientnet_lite0")
    for geom in (g, lite):
        middle = geom.offset + geom.stride * (geom.exemplar_start + geom.exemplar_cells // 2)
        assert abs(middle - 63) <= geom.stride / 2


def test_geometry_rejects_mismatched_crops() -> None:
    with pytest.raises(ValueError, match="different offsets"):
        geometry_for("efficientnet_lite0", 255, 128)
    with pytest.raises(ValueError, match="exceeds"):
        geometry_for("resnet50", 255, 127, exemplar_cells=17)


@settings(max_examples=30, deadline=None)
@given(x0=st.floats(0, 200), y0=st.floats(0, 200), w=st.floats(4, 120), h=st.floats(4, 120))
def test_regression_targets_decode_back_to_the_box(x0: float, y0: float, w: float, h: float) -> None:
    box = jnp.array([[x0, y0, x0 + w, y0 + h]], jnp.float32)
    targets = make_targets(GEOMETRY, box, jnp.ones(1))
    decoded = decode_boxes(GEOMETRY, targets["reg"])
    np.testing.assert_allclose(decoded[0], np.broadcast_to(box[0], decoded[0].shape), atol=1e-3)
    pos = GEOMETRY.positions()
    inside_x = (pos > x0) & (pos < x0 + w)
    inside_y = (pos > y0) & (pos < y0 + h)
    np.testing.assert_array_equal(targets["reg_weight"][0], inside_y[:, None] & inside_x[None, :])
    # positives lie in the central half of the box and inside it
    rows, cols = np.nonzero(np.asarray(targets["cls"][0]))
    assert np.all(np.abs(pos[cols] - (x0 + w / 2)) <= max(w / 4, 0.5) + 1e-4)
    assert np.all(np.abs(pos[rows] - (y0 + h / 2)) <= max(h / 4, 0.5) + 1e-4)


def test_centred_box_has_positives_at_the_centre_and_negatives_have_none() -> None:
    box = jnp.array([[95.0, 95.0, 159.0, 159.0], [95.0, 95.0, 159.0, 159.0]])
    targets = make_targets(GEOMETRY, box, jnp.array([1.0, 0.0]))
    assert targets["cls"][0, 16, 16] == 1 and targets["cls"][0, 0, 0] == 0
    assert targets["cls"][0].sum() == 16  # pixels 112, 120, 128, 136 lie within 127 +- 16: 4 x 4 cells
    assert targets["cls"][1].sum() == 0 and targets["reg_weight"][1].sum() == 0


def _bce(logit: np.ndarray, label: np.ndarray) -> np.ndarray:
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def test_balanced_bce_matches_hand_computation() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 5)).astype(np.float32)
    labels = (rng.uniform(size=(2, 5, 5)) < 0.2).astype(np.float32)
    per = _bce(logits, labels)
    expected = 0.5 * per[labels == 1].mean() + 0.5 * per[labels == 0].mean()
    assert float(classification_loss(jnp.asarray(logits), jnp.asarray(labels))) == pytest.approx(
        expected, rel=1e-5
    )
    no_positives = float(classification_loss(jnp.asarray(logits), jnp.zeros_like(jnp.asarray(labels))))
    assert no_positives == pytest.approx(_bce(logits, 0 * labels).mean(), rel=1e-5)


def test_focal_loss_matches_hand_computation() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1, 4, 4)).astype(np.float32)
    labels = (rng.uniform(size=(1, 4, 4)) < 0.3).astype(np.float32)
    p = 1 / (1 + np.exp(-logits))
    p_t = np.where(labels == 1, p, 1 - p)
    expected = np.sum(-((1 - p_t) ** 2) * np.log(p_t)) / max(labels.sum(), 1)
    got = float(classification_loss(jnp.asarray(logits), jnp.asarray(labels), "focal"))
    assert got == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="unknown classification loss"):
        classification_loss(jnp.asarray(logits), jnp.asarray(labels), "hinge")


@pytest.mark.parametrize("kind", ["log", "linear", "giou"])
def test_iou_loss_is_zero_for_a_perfect_prediction_and_grows_with_error(kind: str) -> None:
    target = jnp.array([[[[10.0, 20.0, 30.0, 40.0]]]])
    weight = jnp.ones((1, 1, 1))
    assert float(iou_loss(target, target, weight, kind)) == pytest.approx(0.0, abs=1e-6)
    near = float(iou_loss(target * 1.1, target, weight, kind))
    far = float(iou_loss(target * 2.0, target, weight, kind))
    assert 0 < near < far


def test_iou_loss_value_and_weighting() -> None:
    pred = jnp.array([[[[10.0, 10.0, 10.0, 10.0], [1.0, 1.0, 1.0, 1.0]]]])  # a 20x20 box; an ignored cell
    target = jnp.array([[[[5.0, 5.0, 5.0, 5.0], [9.0, 9.0, 9.0, 9.0]]]])  # a 10x10 box inside it
    weight = jnp.array([[[1.0, 0.0]]])
    assert float(iou_loss(pred, target, weight, "linear")) == pytest.approx(1 - 101 / 401, rel=1e-6)
    total, parts = tracking_loss(
        {"cls": jnp.zeros((1, 1, 2)), "reg": pred},
        {"cls": jnp.zeros((1, 1, 2)), "reg": target, "reg_weight": weight},
        2.0,
    )
    assert float(total) == pytest.approx(float(parts["cls_loss"] + 2 * parts["reg_loss"]))
