"""The AutoMatch network's geometry, targets and losses against independent computations of the authors' rules."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.models.geometry import ScoreGeometry, geometry_for
from automatch_jax.models.losses import automatch_loss, iou_loss, stage2_loss
from automatch_jax.models.targets import (
    automatch_targets,
    diamond_labels,
    jitter_offsets,
    jittered_boxes,
    resize_mask,
    soft_iou,
    template_pixel_mask,
)

AUTHORS = ScoreGeometry(stride=8, offset=7.0)  # the authors' ResNet-50: unpadded stem, cell i at pixel 7 + 8 i


def test_the_authors_score_map_is_31_cells_with_the_crop_centre_on_cell_15() -> None:
    assert AUTHORS.score_size == 31 and AUTHORS.exemplar_feature_size == 15
    np.testing.assert_array_equal(AUTHORS.positions(), 7 + 8 * np.arange(31))
    assert AUTHORS.centre_cell == 15 and AUTHORS.positions()[15] == 127
    assert AUTHORS.roi_scale == 1 / 8
    # the backbones of this project keep their grids: one cell per centre inside the crop
    for backbone, sizes in (("resnet50", (32, 16)), ("efficientnet_lite0", (32, 16)), ("tiny", (32, 16))):
        g = geometry_for(backbone)
        assert (g.score_size, g.exemplar_feature_size) == sizes
        assert g.positions()[-1] <= 254 < g.positions()[-1] + g.stride
    assert geometry_for("efficientnet_lite0_stage4", 191, 95).score_size == 24


def _np_diamond(centre_x: float, centre_y: float, positive: bool) -> np.ndarray:
    """The authors' _create_dynamic_logisticloss_label for a target moved by ``shift = 127 - centre``."""
    sz = 31
    kx = sz // 2 + int((centre_x - 127) / 8)
    ky = sz // 2 + int((centre_y - 127) / 8)
    label = np.zeros((sz, sz), np.float32)
    for i in range(sz):
        for j in range(sz):
            label[i, j] = float(abs(j - kx) + abs(i - ky) <= 2)
    return label * positive


@pytest.mark.parametrize("centre", [(127.0, 127.0), (134.9, 120.5), (135.0, 119.0), (60.3, 200.0), (10.0, 250.0)])
def test_diamond_labels_match_the_builder(centre: tuple[float, float]) -> None:
    cx, cy = centre
    boxes = jnp.array([[cx - 20, cy - 10, cx + 20, cy + 10]] * 2)
    labels = np.asarray(diamond_labels(AUTHORS, boxes, jnp.array([1.0, 0.0])))
    np.testing.assert_array_equal(labels[0], _np_diamond(cx, cy, True))
    assert labels[1].sum() == 0
    if centre == (127.0, 127.0):
        assert labels[0].sum() == 13 and labels[0][15, 15] == 1 and labels[0][15, 17] == 1 and labels[0][16, 17] == 0


def test_regression_targets_cover_negative_pairs_too() -> None:
    boxes = jnp.array([[100.0, 90.0, 160.0, 170.0]] * 2)
    targets = automatch_targets(AUTHORS, boxes, jnp.array([1.0, 0.0]))
    pos = AUTHORS.positions()
    inside = ((pos[:, None] > 90) & (pos[:, None] < 170)) & ((pos[None, :] > 100) & (pos[None, :] < 160))
    for k in range(2):
        np.testing.assert_array_equal(np.asarray(targets["reg_weight"][k]), inside.astype(np.float32))
    np.testing.assert_allclose(targets["reg"][0, 10, 12], [7 + 8 * 12 - 100, 7 + 8 * 10 - 90, 160 - 103, 170 - 87])
    assert targets["cls"][1].sum() == 0 and targets["cls"][0].sum() == 13
    assert targets["jitter_boxes"].shape == (2, 96, 4) and targets["jitter_iou"].shape == (2, 96)


def test_jitter_boxes_move_one_corner_by_the_authors_steps() -> None:
    offsets = jitter_offsets()
    assert offsets.shape == (96, 4)
    # as in the authors' table, each single-coordinate move comes from two fixed corners (64 distinct boxes)
    rows, counts = np.unique(offsets, axis=0, return_counts=True)
    moves = (rows != 0).sum(1)
    assert len(rows) == 64 and set(counts[moves == 1]) == {2} and set(counts[moves == 2]) == {1}
    for row in offsets:
        moved = np.nonzero(row)[0]
        assert len(moved) in (1, 2) and len(set(np.abs(row[moved]))) == 1 and abs(row[moved[0]]) in (4, 8, 12, 16)
        if len(moved) == 2:
            assert row[moved[0]] == row[moved[1]]  # both coordinates of the moving corner by the same step
        # one corner stays: never both x coordinates, never both y coordinates
        assert not {0, 2} <= set(moved) and not {1, 3} <= set(moved)
    # the authors' first block: x1 + 4, 8, 12, 16; their last: y0 and x1 both - 4 ... - 16
    np.testing.assert_array_equal(offsets[:4, 2], [4, 8, 12, 16])
    np.testing.assert_array_equal(offsets[92:, 1], [-4, -8, -12, -16])
    np.testing.assert_array_equal(offsets[92:, 2], [-4, -8, -12, -16])


def test_jitter_iou_soft_labels_and_clipping() -> None:
    box = np.array([[2.0, 30.0, 60.0, 80.0]], np.float32)
    jittered, iou = (np.asarray(a) for a in jittered_boxes(jnp.asarray(box), 255))
    assert jittered.min() >= 0 and jittered.max() <= 255
    x0, y0, x1, y1 = box[0]
    for k in range(96):
        a0, b0, a1, b1 = np.clip(box[0] + jitter_offsets()[k], 0, 255)
        inter = max(0.0, min(a1, x1) - max(a0, x0)) * max(0.0, min(b1, y1) - max(b0, y0))
        union = (x1 - x0) * (y1 - y0) + (a1 - a0) * (b1 - b0) - inter
        np.testing.assert_allclose(jittered[0, k], [a0, b0, a1, b1])
        assert iou[0, k] == pytest.approx(inter / (abs(union) + 1), rel=1e-5)
    assert iou.min() > 0.4 and iou.max() < 1
    assert float(soft_iou(jnp.array([[[0.0, 0.0, 5.0, 5.0]]]), jnp.array([[0.0, 0.0, -5.0, -5.0]]))[0, 0]) == 0.0


def test_template_mask_and_its_align_corners_resize() -> None:
    boxes = jnp.array([[30.4, 40.0, 90.2, 70.9], [0.0, 0.0, 126.0, 126.0]])
    mask = np.asarray(template_pixel_mask(boxes, 127))
    expected = np.zeros((127, 127), np.float32)
    expected[40 : math.ceil(70.9 + 1), 30 : math.ceil(90.2 + 1)] = 1
    np.testing.assert_array_equal(mask[0], expected)
    assert mask[1].all()
    small = np.asarray(resize_mask(jnp.asarray(mask), 15, 15))
    np.testing.assert_allclose(small[0], mask[0][::9, ::9])  # 126 / 14 = 9: every sample on a pixel
    odd = np.asarray(resize_mask(jnp.asarray(mask), 16, 16))[0]
    src = np.arange(16) * 126 / 15
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, 126)
    f = src - lo
    rows = (1 - f)[:, None] * mask[0][lo] + f[:, None] * mask[0][hi]
    ref = (1 - f)[None, :] * rows[:, lo] + f[None, :] * rows[:, hi]
    np.testing.assert_allclose(odd, ref, atol=1e-6)


def _bce(logit: np.ndarray, label: np.ndarray) -> np.ndarray:
    return np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit)))


def test_stage2_loss_matches_wbce_addpos() -> None:
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(2, 62)).astype(np.float32), (rng.uniform(size=(2, 62)) < 0.2).astype(np.float32)
    jitter, iou = rng.normal(size=(2, 96)).astype(np.float32), rng.uniform(0.5, 1, (2, 96)).astype(np.float32)
    per = _bce(logits, labels)
    expected = 0.5 * (per[labels == 1].mean() + _bce(jitter, iou).mean()) + 0.5 * per[labels == 0].mean()
    got = stage2_loss(*(jnp.asarray(a) for a in (logits, labels, jitter, iou)))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    none = stage2_loss(jnp.asarray(logits), jnp.zeros((2, 62)), jnp.asarray(jitter), jnp.asarray(iou))
    assert float(none) == pytest.approx(_bce(logits, 0 * labels).mean(), rel=1e-5)


def test_automatch_loss_gathers_stage2_labels_and_weights_regression_twice() -> None:
    rng = np.random.default_rng(1)
    targets = automatch_targets(AUTHORS, jnp.array([[100.0, 90.0, 160.0, 170.0]] * 2), jnp.array([1.0, 0.0]))
    cells = jnp.asarray(rng.integers(0, 31 * 31, (2, 62)))
    cells = cells.at[0, 0].set(15 * 31 + 15)  # one positive cell among them
    outputs = {
        "cls": jnp.asarray(rng.normal(size=(2, 31, 31)), jnp.float32),
        "reg": jnp.asarray(rng.uniform(5, 50, (2, 31, 31, 4)), jnp.float32),
        "cls_s2": jnp.asarray(rng.normal(size=(2, 62)), jnp.float32),
        "s2_cells": cells,
        "cls_boxes": jnp.asarray(rng.normal(size=(2, 96)), jnp.float32),
    }
    total, parts = automatch_loss(outputs, targets)
    labels = np.asarray(targets["cls"]).reshape(2, -1)[np.arange(2)[:, None], np.asarray(cells)]
    assert labels[0, 0] == 1
    s2 = stage2_loss(outputs["cls_s2"], jnp.asarray(labels), outputs["cls_boxes"], targets["jitter_iou"])
    assert float(parts["cls_s2_loss"]) == pytest.approx(float(s2), rel=1e-6)
    reg = iou_loss(outputs["reg"], targets["reg"], targets["reg_weight"])
    assert float(total) == pytest.approx(float(parts["cls_s1_loss"] + s2 + 2 * reg), rel=1e-6)
    # evaluation outputs score every cell: the labels are the stage-1 map
    every = dict(outputs, cls_s2=outputs["cls"])
    del every["s2_cells"]
    s2_all = stage2_loss(outputs["cls"], targets["cls"], outputs["cls_boxes"], targets["jitter_iou"])
    assert float(automatch_loss(every, targets)[1]["cls_s2_loss"]) == pytest.approx(float(s2_all), rel=1e-6)
