"""ROI-align against a literal per-sample loop of torchvision's algorithm; gradients, jit and vmap."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.ops.roi_align import roi_align


def _bilinear(feature: np.ndarray, y: float, x: float) -> np.ndarray:
    """torchvision's bilinear_interpolate on one (H, W, C) map, branch by branch."""
    height, width = feature.shape[:2]
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return np.zeros(feature.shape[-1], np.float32)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return (hy * hx * feature[y_low, x_low] + hy * lx * feature[y_low, x_high]
            + ly * hx * feature[y_high, x_low] + ly * lx * feature[y_high, x_high])


def _reference(features, boxes, pooled, scale, sampling_ratio=-1, aligned=False) -> np.ndarray:
    b, k = boxes.shape[:2]
    out = np.zeros((b, k, pooled, pooled, features.shape[-1]), np.float32)
    offset = 0.5 if aligned else 0.0
    for n in range(b):
        for r in range(k):
            x0, y0, x1, y1 = (float(v) for v in boxes[n, r])
            start_x, start_y = x0 * scale - offset, y0 * scale - offset
            roi_w, roi_h = x1 * scale - offset - start_x, y1 * scale - offset - start_y
            if not aligned:
                roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
            bin_w, bin_h = roi_w / pooled, roi_h / pooled
            grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / pooled)
            grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pooled)
            count = max(grid_h * grid_w, 1)
            for ph in range(pooled):
                for pw in range(pooled):
                    total = np.zeros(features.shape[-1], np.float64)
                    for iy in range(grid_h):
                        y = start_y + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                        for ix in range(grid_w):
                            x = start_x + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                            total += _bilinear(features[n], y, x)
                    out[n, r, ph, pw] = total / count
    return out


def _case(seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(2, 9, 11, 3)).astype(np.float32)
    boxes = np.array(
        [
            [[8.0, 8.0, 40.0, 40.0], [3.3, 5.1, 70.2, 60.7], [-20.0, -12.0, 30.0, 25.0], [60.0, 50.0, 130.0, 110.0]],
            [[17.0, 9.0, 19.0, 12.0], [0.0, 0.0, 88.0, 72.0], [-200.0, -150.0, 300.0, 260.0], [70.0, 20.0, 95.0, 66.0]],
        ],
        np.float32,
    )  # inside, fractional, over the top-left edge, over the bottom-right edge, tiny, whole map, far larger than it
    return features, boxes


@pytest.mark.parametrize(("sampling_ratio", "aligned"), [(-1, False), (-1, True), (2, False)])
def test_matches_the_torchvision_loop(sampling_ratio: int, aligned: bool) -> None:
    features, boxes = _case()
    got = jax.jit(lambda f, b: roi_align(f, b, 3, 1 / 8, sampling_ratio, aligned))(features, boxes)
    assert got.shape == (2, 4, 3, 3, 3)
    expected = _reference(features, boxes, 3, 1 / 8, sampling_ratio, aligned)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("aligned", [False, True])
def test_random_boxes_of_every_size_match_the_loop(aligned: bool) -> None:
    """Boxes from a tenth of a cell to three maps wide, anywhere (reversed ones too when aligned): the per-cell
    candidate window must find every sample the loop reads, on maps of odd and even sides."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(1, 6, 13, 2)).astype(np.float32)
    centres = rng.uniform(-30.0, 130.0, (1, 48, 2))
    sizes = np.exp(rng.uniform(np.log(0.8), np.log(300.0), (1, 48, 2)))
    if aligned:
        sizes[0, :6] *= -0.2
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=-1).astype(np.float32)
    got = roi_align(jnp.asarray(features), jnp.asarray(boxes), 3, 1 / 8, aligned=aligned)
    expected = _reference(features, boxes, 3, 1 / 8, aligned=aligned)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


def test_boxes_pooled_in_chunks_equal_all_at_once() -> None:
    features, boxes = _case()
    many = jnp.asarray(np.concatenate([boxes, boxes + 5.0, boxes * 0.5], axis=1))  # (2, 12, 4)
    whole = roi_align(jnp.asarray(features), many, 3, 1 / 8, box_chunk=12)
    for chunk in (1, 5, 11):  # chunks that divide 12 or leave a padded remainder
        got = jax.jit(lambda f, b, c=chunk: roi_align(f, b, 3, 1 / 8, box_chunk=c))(jnp.asarray(features), many)
        np.testing.assert_allclose(np.asarray(got), np.asarray(whole), atol=1e-6)
    grads = [jax.grad(lambda f, c=c: jnp.sum(roi_align(f, many, 3, 1 / 8, box_chunk=c) ** 2))(jnp.asarray(features))
             for c in (5, 12)]
    np.testing.assert_allclose(np.asarray(grads[0]), np.asarray(grads[1]), rtol=1e-5, atol=1e-5)


def test_a_cell_sized_box_reads_that_cell() -> None:
    features, _ = _case()
    # not aligned, spatial_scale 1/8: feature cell (h, w) sits at pixel (8h, 8w), so a one-cell box centred there
    # reads it exactly; aligned, the cell's centre is at pixel (8h + 4, 8w + 4)
    box = np.array([[[8 * 5 - 4.0, 8 * 3 - 4.0, 8 * 5 + 4.0, 8 * 3 + 4.0]]] * 2, np.float32)
    got = roi_align(jnp.asarray(features), jnp.asarray(box), 1, 1 / 8)
    np.testing.assert_allclose(np.asarray(got)[:, 0, 0, 0], features[:, 3, 5], rtol=1e-5)
    got = roi_align(jnp.asarray(features), jnp.asarray(box + 4.0), 1, 1 / 8, aligned=True)
    np.testing.assert_allclose(np.asarray(got)[:, 0, 0, 0], features[:, 3, 5], rtol=1e-5)


def test_gradient_reaches_the_sampled_cells_only() -> None:
    features, boxes = _case()
    boxes = boxes[:, :1]  # pixels 8..40: cells 1..5 (and their bilinear neighbours)

    def loss(f: jnp.ndarray) -> jnp.ndarray:
        return jnp.sum(roi_align(f, jnp.asarray(boxes), 3, 1 / 8) ** 2)

    grad = np.asarray(jax.grad(loss)(jnp.asarray(features)))
    assert np.abs(grad[:, 1:6, 1:6]).sum() > 0
    assert np.abs(grad[:, 6:]).sum() == 0 and np.abs(grad[:, :, 6:]).sum() == 0 and np.abs(grad[:, 0]).sum() == 0
    # linear in the features: the gradient of <roi_align(f), u> is the adjoint, checked by a directional derivative
    u = np.random.default_rng(3).normal(size=(2, 1, 3, 3, 3)).astype(np.float32)
    d = np.random.default_rng(4).normal(size=features.shape).astype(np.float32)
    g = jax.grad(lambda f: jnp.sum(roi_align(f, jnp.asarray(boxes), 3, 1 / 8) * u))(jnp.asarray(features))
    directional = float(jnp.sum(roi_align(jnp.asarray(d), jnp.asarray(boxes), 3, 1 / 8) * u))
    assert float(jnp.sum(g * d)) == pytest.approx(directional, rel=1e-4)
    # boxes are constants, as in torchvision
    box_grad = jax.grad(lambda b: jnp.sum(roi_align(jnp.asarray(features), b, 3, 1 / 8)))(jnp.asarray(boxes))
    assert float(jnp.abs(box_grad).sum()) == 0.0


def test_vmap_over_an_extra_axis_equals_a_loop() -> None:
    features, boxes = _case()
    stacked_f = jnp.stack([jnp.asarray(features), jnp.asarray(features) * -2.0])
    stacked_b = jnp.stack([jnp.asarray(boxes), jnp.asarray(boxes) + 3.0])
    batched = jax.vmap(lambda f, b: roi_align(f, b, 3, 1 / 8))(stacked_f, stacked_b)
    for i in range(2):
        np.testing.assert_allclose(batched[i], roi_align(stacked_f[i], stacked_b[i], 3, 1 / 8), atol=1e-6)


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match="roi_align: features"):
        roi_align(jnp.zeros((2, 5, 5, 3)), jnp.zeros((2, 4)), 3)
