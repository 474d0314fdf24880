"""BCM cells and the bilevel gradients: binary forward, straight-through gradients, exact second order against
finite differences, the first-order limit, DARTS' approximation, and a planted search problem."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from automatch_jax.models.bcm import SearchCell, binary_straight_through, potentials, top_operators
from automatch_jax.models.geometry import make_targets  # noqa: F401  (the search loss uses it)
from automatch_jax.ops import OPERATOR_NAMES
from automatch_jax.search.bilevel import SearchState, arch_gradient, make_search_step
from automatch_jax.search.model import search_network, tracker_search_loss
from automatch_jax.train.config import load_config
from automatch_jax.train.runner import init_variables
from tests.search.planted import PlantedNet, planted_batch, planted_loss
from tests.train.test_train import SMOKE


def test_hard_forward_is_exactly_binary_with_the_sigmoid_gradient() -> None:
    w = jax.random.normal(jax.random.PRNGKey(0), (7, 64)) * 3
    d = binary_straight_through(w)
    assert set(np.unique(np.asarray(d)).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(d), np.asarray(w > 0, np.float32))
    grad = jax.grad(lambda v: jnp.sum(binary_straight_through(v) * jnp.arange(64.0)))(w)
    s = jax.nn.sigmoid(w)
    np.testing.assert_allclose(grad, s * (1 - s) * jnp.arange(64.0), rtol=1e-5)
    soft = binary_straight_through(w, hard=False)
    np.testing.assert_allclose(soft, s)


def test_gumbel_noise_flips_some_decisions_reproducibly() -> None:
    w = jnp.full((4, 256), 0.3)
    key = jax.random.PRNGKey(3)
    a, b = binary_straight_through(w, key, noise=1.0), binary_straight_through(w, key, noise=1.0)
    np.testing.assert_array_equal(a, b)
    assert 0.3 < float(a.mean()) < 0.9 and set(np.unique(np.asarray(a)).tolist()) == {0.0, 1.0}
    assert float(binary_straight_through(w).mean()) == 1.0  # the paper's setting: no noise, 1[w > 0]


def test_cell_shapes_scalar_mode_and_switched_off_operators() -> None:
    f_z, f_x = jnp.ones((2, 3, 3, 8)), jax.random.normal(jax.random.PRNGKey(0), (2, 9, 9, 8))
    mask = jnp.ones((2, 3, 3))
    cell = SearchCell(("dw_xcorr", "add", "film"), channels=8)
    v = cell.init(jax.random.PRNGKey(1), f_z, f_x, mask)
    assert v["arch"]["manipulators"].shape == (3, 8)
    out = cell.apply(v, f_z, f_x, mask)
    assert out.shape == (2, 9, 9, 24)
    off = jax.tree_util.tree_map(lambda a: a, v)
    off["arch"] = {"manipulators": v["arch"]["manipulators"].at[1].set(-1.0)}
    out_off = cell.apply(off, f_z, f_x, mask)
    assert float(jnp.abs(out_off[..., 8:16]).max()) == 0.0
    np.testing.assert_array_equal(out_off[..., :8], out[..., :8])
    scalar = SearchCell(("dw_xcorr", "add", "film"), channels=8, scalar=True)
    assert scalar.init(jax.random.PRNGKey(1), f_z, f_x, mask)["arch"]["manipulators"].shape == (3, 1)


def test_potentials_and_top_operators() -> None:
    w = np.array([[2.0, 2.0], [-3.0, -3.0], [0.0, 5.0]])
    np.testing.assert_allclose(potentials(w), (1 / (1 + np.exp(-w))).sum(axis=1))
    assert top_operators(w, ("a", "b", "c")) == ("a", "c")


def test_validation_gradient_reaches_every_manipulator_of_the_tracker() -> None:
    config = load_config(SMOKE)
    net = search_network(config)
    variables = init_variables(net, config, 0)
    g = net.geometry
    rng = np.random.default_rng(0)
    batch = {"z": rng.uniform(0, 255, (2, g.exemplar_size, g.exemplar_size, 3)).astype(np.float32),
             "x": rng.uniform(0, 255, (2, g.search_size, g.search_size, 3)).astype(np.float32),
             "z_box": np.array([[20, 20, 44, 44]] * 2, np.float32),
             "x_box": np.array([[40, 50, 70, 80]] * 2, np.float32), "positive": np.ones(2, np.float32)}
    loss = tracker_search_loss(net, dict(config.loss))
    grad, val, _ = arch_gradient(loss, variables["params"], variables["arch"], variables["batch_stats"], batch,
                                 batch, jax.random.PRNGKey(0), "first")
    assert np.isfinite(float(val))
    for branch in ("cls_matching", "reg_matching"):
        per_op = np.abs(np.asarray(grad[branch]["manipulators"])).sum(axis=1)
        assert per_op.shape == (len(OPERATOR_NAMES),) and (per_op > 0).all(), (branch, per_op)


SMALL_OPS = ("dw_xcorr", "add", "film")


def _small_problem():
    net = PlantedNet(operators=SMALL_OPS, hard=False)
    train, val = planted_batch(jax.random.PRNGKey(1), 4, 3), planted_batch(jax.random.PRNGKey(2), 4, 3)
    v = net.init(jax.random.PRNGKey(0), train)
    return net, planted_loss(net), v, train, val


def _unrolled(loss, params, arch, train, val, lr):
    grads = jax.grad(lambda p: loss(p, arch, {}, train, None)[0])(params)
    updated = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return loss(updated, arch, {}, val, None)[0]


def test_second_order_gradient_matches_finite_differences() -> None:
    jax.config.update("jax_enable_x64", True)
    try:
        _net, loss, v, train, val = _small_problem()
        to64 = lambda tree: jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)  # noqa: E731
        params, arch = to64(v["params"]), to64(v["arch"])
        train, val = to64(train), to64(val)
        lr = 0.05
        grad, _, _ = arch_gradient(loss, params, arch, {}, train, val, None, "second", lr)
        flat_grad, unravel = jax.flatten_util.ravel_pytree(grad)
        direction = jax.random.normal(jax.random.PRNGKey(5), flat_grad.shape, jnp.float64)
        h = 1e-5
        shift = unravel(h * direction)
        plus = _unrolled(loss, params, jax.tree_util.tree_map(jnp.add, arch, shift), train, val, lr)
        minus = _unrolled(loss, params, jax.tree_util.tree_map(jnp.subtract, arch, shift), train, val, lr)
        numeric = (plus - minus) / (2 * h)
        np.testing.assert_allclose(float(jnp.dot(flat_grad, direction)), float(numeric), rtol=1e-6)
        # DARTS' finite-difference Hessian-vector product (eps = 0.01 / ||g||) approximates the exact gradient; the
        # ReLU head makes the difference quotient cross kinks, so the agreement is approximate
        approx, _, _ = arch_gradient(loss, params, arch, {}, train, val, None, "second-fd", lr)
        flat_approx = jax.flatten_util.ravel_pytree(approx)[0]
        assert float(jnp.linalg.norm(flat_approx - flat_grad) / jnp.linalg.norm(flat_grad)) < 0.1
        assert float(jnp.dot(flat_approx, flat_grad)) > 0.99 * float(jnp.linalg.norm(flat_approx) *
                                                                     jnp.linalg.norm(flat_grad))
    finally:
        jax.config.update("jax_enable_x64", False)


def test_second_order_tends_to_first_order_as_the_inner_rate_vanishes() -> None:
    jax.config.update("jax_enable_x64", True)
    try:
        _net, loss, v, train, val = _small_problem()
        to64 = lambda tree: jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)  # noqa: E731
        params, arch, train, val = to64(v["params"]), to64(v["arch"]), to64(train), to64(val)
        first = jax.flatten_util.ravel_pytree(arch_gradient(loss, params, arch, {}, train, val, None, "first")[0])[0]
        gaps = []
        for lr in (1e-2, 1e-4, 1e-6):
            second = jax.flatten_util.ravel_pytree(
                arch_gradient(loss, params, arch, {}, train, val, None, "second", lr)[0])[0]
            gaps.append(float(jnp.linalg.norm(second - first) / jnp.linalg.norm(first)))
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3, gaps  # the gap shrinks like the rate
    finally:
        jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize(
    ("order", "planted_cls", "planted_reg"),
    [
        ("second", "film", "film"),
        pytest.param("first", "film", "film", marks=pytest.mark.slow),
        pytest.param("second-fd", "film", "film", marks=pytest.mark.slow),
        # a known weakness: planted in the classification branch, pairwise-relation ends 6th of 7 after 250 steps
        # (simple-transformer, fed only noise, first); strict, so a search that finds it makes this fail
        pytest.param("second", "pairwise", "film", marks=[
            pytest.mark.slow, pytest.mark.xfail(strict=True, reason="BCM does not rank a planted pairwise first")]),
    ],
)
def test_planted_operator_is_ranked_first_in_both_branches(order: str, planted_cls: str, planted_reg: str) -> None:
    net = PlantedNet(planted_cls=planted_cls, planted_reg=planted_reg)
    v = net.init(jax.random.PRNGKey(0), planted_batch(jax.random.PRNGKey(1)))
    tx, arch_tx = optax.adam(3e-3), optax.adam(3e-2)
    state = SearchState(jnp.zeros((), jnp.int32), v["params"], {}, v["arch"], tx.init(v["params"]),
                        arch_tx.init(v["arch"]))
    step = jax.jit(make_search_step(planted_loss(net), tx, arch_tx, order, lambda s: 3e-3, axis_name=None))
    for i in range(250):
        key = jax.random.PRNGKey(100 + i)
        state, _ = step(state, planted_batch(jax.random.fold_in(key, 0)), planted_batch(jax.random.fold_in(key, 1)),
                        key)
    for branch, planted in (("cls", planted_cls), ("reg", planted_reg)):
        p = potentials(state.arch[branch]["manipulators"])
        ranked = [OPERATOR_NAMES[i] for i in np.argsort(-p)]
        assert ranked[0] == planted, (branch, ranked, p.round(2).tolist())
