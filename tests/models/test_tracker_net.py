"""TrackerNet: the exemplar/search split, jit, and every operator configuration overfitting a fixed batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from automatch_jax.models.geometry import make_targets
from automatch_jax.models.losses import tracking_loss
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.ops import OPERATOR_NAMES, PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS

SMALL = {
    "backbone": "tiny",
    "channels": 16,
    "tower_layers": 1,
    "tower_channels": 16,
    "search_size": 127,
    "exemplar_size": 63,
    "exemplar_cells": 5,
}


def planted_pairs(rng: np.random.Generator, n: int, z_size: int = 63, x_size: int = 127):
    """``n`` pairs of a flat-coloured rectangle on noise: exemplar centred, search anywhere; boxes x0,y0,x1,y1."""
    z = rng.uniform(60, 140, (n, z_size, z_size, 3)).astype(np.float32)
    x = rng.uniform(60, 140, (n, x_size, x_size, 3)).astype(np.float32)
    z_boxes, x_boxes = [], []
    for i in range(n):
        colour = rng.uniform(0, 255, 3)
        w, h = rng.uniform(16, 28, 2)
        c = (z_size - 1) / 2
        z[i, int(c - h / 2) : int(c + h / 2), int(c - w / 2) : int(c + w / 2)] = colour
        z_boxes.append([c - w / 2, c - h / 2, c + w / 2, c + h / 2])
        cx, cy = rng.uniform(30, x_size - 30, 2)
        x[i, int(cy - h / 2) : int(cy + h / 2), int(cx - w / 2) : int(cx + w / 2)] = colour
        x_boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return z, np.array(z_boxes, np.float32), x, np.array(x_boxes, np.float32)


def test_template_then_track_equals_the_training_call() -> None:
    net = TrackerNet(cls_operators=PAPER_CLS_OPERATORS, reg_operators=PAPER_REG_OPERATORS, **SMALL)
    z, z_boxes, x, _ = planted_pairs(np.random.default_rng(0), 2)
    variables = net.init(jax.random.PRNGKey(0), z, z_boxes, x)
    template = jax.jit(lambda v, z, b: net.apply(v, z, b, method=TrackerNet.template))
    track = jax.jit(lambda v, e, x: net.apply(v, e, x, method=TrackerNet.track))
    exemplar = template(variables, z, z_boxes)
    assert exemplar["f_z"].shape == (2, 5, 5, 16) and exemplar["z_mask"].shape == (2, 5, 5)
    assert float(exemplar["z_mask"].sum()) > 0
    out = track(variables, exemplar, x)
    s = net.geometry.score_size
    assert out["cls"].shape == (2, s, s) and out["reg"].shape == (2, s, s, 4)
    assert bool(jnp.all(out["reg"] > 0))
    direct = net.apply(variables, z, z_boxes, x)
    np.testing.assert_allclose(out["cls"], direct["cls"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["reg"], direct["reg"], rtol=1e-5, atol=1e-4)
    # one exemplar state serves many search frames
    again = track(variables, exemplar, x[::-1])
    np.testing.assert_allclose(
        again["cls"][0], net.apply(variables, z[:1], z_boxes[:1], x[1:])["cls"][0], rtol=1e-4, atol=1e-4
    )


def test_bfloat16_compute_keeps_float32_outputs() -> None:
    net = TrackerNet(cls_operators=("dw_xcorr",), reg_operators=("dw_xcorr",), dtype=jnp.bfloat16, **SMALL)
    z, z_boxes, x, _ = planted_pairs(np.random.default_rng(1), 1)
    variables = net.init(jax.random.PRNGKey(0), z, z_boxes, x)
    out = jax.jit(net.apply)(variables, z, z_boxes, x)
    assert out["cls"].dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(out["cls"])))


def test_unknown_operator_is_named() -> None:
    net = TrackerNet(cls_operators=("xcorr_typo",), **SMALL)
    z, z_boxes, x, _ = planted_pairs(np.random.default_rng(1), 1)
    with pytest.raises(ValueError, match="unknown matching operator 'xcorr_typo'"):
        net.init(jax.random.PRNGKey(0), z, z_boxes, x)


CONFIGS = [((name,), (name,)) for name in OPERATOR_NAMES] + [(PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS)]


@pytest.mark.parametrize(
    ("cls_ops", "reg_ops"), CONFIGS, ids=["+".join(c) + "|" + "+".join(r) for c, r in CONFIGS]
)
def test_every_operator_configuration_overfits_a_fixed_batch(cls_ops: tuple, reg_ops: tuple) -> None:
    net = TrackerNet(cls_operators=cls_ops, reg_operators=reg_ops, **SMALL)
    z, z_boxes, x, x_boxes = planted_pairs(np.random.default_rng(0), 4)
    targets = make_targets(net.geometry, jnp.asarray(x_boxes), jnp.ones(4))
    variables = net.init(jax.random.PRNGKey(0), z, z_boxes, x)
    optimizer = optax.adam(3e-3)

    @jax.jit
    def step(params, stats, opt_state):
        def loss_fn(p):
            out, updates = net.apply(
                {"params": p, "batch_stats": stats}, z, z_boxes, x, train=True, mutable=["batch_stats"]
            )
            return tracking_loss(out, targets)[0], updates["batch_stats"]

        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state, loss

    params, stats = variables["params"], variables["batch_stats"]
    opt_state = optimizer.init(params)
    losses = []
    for _ in range(150):
        params, stats, opt_state, loss = step(params, stats, opt_state)
        losses.append(float(loss))
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
