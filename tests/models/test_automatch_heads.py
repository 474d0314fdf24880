"""The AutoMatch network's parts after the necks: fusion against numpy, the regression scaling, the template vector and
stage-2 box scores reading only their box, the hard-example cells."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.models.automatch_heads import (
    BranchMatching,
    RegressionHead,
    Stage1Classifier,
    Stage2Classifier,
    TemplateVector,
    hard_example_cells,
)
from automatch_jax.ops import get_operator

B, HZ, HX, C = 2, 5, 9, 8


def _maps(seed: int = 0):
    rng = np.random.default_rng(seed)
    f_z = jnp.asarray(rng.normal(size=(B, HZ, HZ, C)), jnp.float32)
    f_x = jnp.asarray(rng.normal(size=(B, HX, HX, C)), jnp.float32)
    mask = jnp.asarray(rng.uniform(size=(B, HZ, HZ)), jnp.float32)
    vector = jnp.asarray(rng.normal(size=(B, 1, 1, C)), jnp.float32)
    return f_z, f_x, mask, vector


def _lrelu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.1 * x)


def test_fusion_gates_concatenates_and_embeds() -> None:
    f_z, f_x, mask, vector = _maps()
    net = BranchMatching(("film", "pairwise"), C)
    variables = jax.jit(net.init)(jax.random.PRNGKey(0), f_z, f_x, mask, vector)
    params, stats = variables["params"], variables["batch_stats"]
    np.testing.assert_array_equal(params["gate"], np.ones(2 * C))
    responses = [
        get_operator(name).apply({"params": params[name]}, f_z, f_x, mask, vector) for name in ("film", "pairwise")
    ]
    gated = np.concatenate([np.asarray(r) for r in responses], -1) / (1 + np.exp(-1.0))  # sigmoid(1)
    conv = np.einsum("bijc,cd->bijd", gated, np.asarray(params["fuse"]["conv"]["kernel"])[0, 0])
    conv += np.asarray(params["fuse"]["conv"]["bias"])
    bn, running = params["fuse"]["bn"], stats["fuse"]["bn"]
    normed = (conv - np.asarray(running["mean"])) / np.sqrt(np.asarray(running["var"]) + 1e-5)
    expected = _lrelu(normed * np.asarray(bn["scale"]) + np.asarray(bn["bias"]))
    np.testing.assert_allclose(np.asarray(jax.jit(net.apply)(variables, f_z, f_x, mask, vector)), expected, atol=1e-4)


def test_fusion_search_mode_puts_the_bcm_cell_in_the_gate_s_place() -> None:
    f_z, f_x, mask, vector = _maps()
    ops = ("pointdw", "concat", "add", "pairwise", "film", "transformer", "transductive")
    net = BranchMatching(ops, C, search_cell=True, cell=(("init_value", 0.5),))
    variables = jax.jit(net.init)(jax.random.PRNGKey(0), f_z, f_x, mask, vector)
    assert variables["arch"]["cell"]["manipulators"].shape == (7, C) and "gate" not in variables["params"]
    assert variables["params"]["fuse"]["conv"]["kernel"].shape == (1, 1, 7 * C, C)
    off = {**variables, "arch": {"cell": {"manipulators": -jnp.ones((7, C))}}}
    out_off = np.asarray(jax.jit(net.apply)(off, f_z, f_x, mask, vector))
    np.testing.assert_allclose(out_off, np.broadcast_to(out_off[:, :1, :1], out_off.shape), atol=1e-6)  # no signal
    with pytest.raises(ValueError, match="at least one operator"):
        BranchMatching((), C).init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)


def test_regression_is_exp_of_a_scaled_output_with_a_bias_per_side() -> None:
    x = jnp.asarray(np.random.default_rng(0).normal(size=(B, HX, HX, C)), jnp.float32)
    head = RegressionHead(C)
    variables = jax.jit(head.init)(jax.random.PRNGKey(0), x)
    params = variables["params"]
    apply = jax.jit(head.apply, static_argnames="train")
    assert {"tower0", "tower1", "tower2"} <= set(params) and "tower3" not in params
    assert params["bias"].shape == (4,) and float(params["adjust"]) == pytest.approx(0.1)
    silent = jax.tree_util.tree_map(lambda a: a, params)
    silent["out"] = {"kernel": jnp.zeros_like(params["out"]["kernel"]), "bias": jnp.zeros(4)}
    silent["bias"] = jnp.array([0.0, 1.0, 2.0, 3.0])
    distances, tower = apply({**variables, "params": silent}, x)
    np.testing.assert_allclose(distances, np.broadcast_to(np.exp([0.0, 1.0, 2.0, 3.0]), distances.shape), rtol=1e-6)
    assert tower.shape == (B, HX, HX, C)
    silent["out"] = {"kernel": jnp.zeros_like(params["out"]["kernel"]), "bias": jnp.full(4, 60.0)}
    far, _ = apply({**variables, "params": silent}, x)
    clamped, _ = jax.jit(lambda v: head.apply(v, x, train=True, mutable=["batch_stats"])[0])({**variables,
                                                                                             "params": silent})
    assert float(far.min()) > 255 and float(clamped.max()) == 255.0


def test_template_vector_reads_the_box_only() -> None:
    f_z = jnp.asarray(np.random.default_rng(2).normal(size=(B, 15, 15, C)), jnp.float32)
    box = jnp.array([[8.0, 8.0, 40.0, 40.0]] * B)  # cells 1..5 at scale 1/8; the two 3x3 convs widen it to 0..7
    tv = TemplateVector(C)
    variables = jax.jit(tv.init)(jax.random.PRNGKey(0), f_z, box)
    apply = jax.jit(tv.apply)
    v = apply(variables, f_z, box)
    assert v.shape == (B, 1, 1, C)
    far = f_z.at[:, 9:, :].set(5.0).at[:, :, 9:].set(-5.0)
    np.testing.assert_allclose(apply(variables, far, box), v, atol=1e-5)
    assert float(jnp.abs(apply(variables, f_z.at[:, 3, 3].set(9.0), box) - v).max()) > 1e-3


def test_hard_example_cells_are_the_row_and_column_maxima() -> None:
    logits = np.random.default_rng(3).normal(size=(2, 6, 6)).astype(np.float32)
    cells = np.asarray(hard_example_cells(jnp.asarray(logits)))
    assert cells.shape == (2, 12)
    for b in range(2):
        for j in range(6):
            assert cells[b, j] == int(np.argmax(logits[b, :, j])) * 6 + j
        for i in range(6):
            assert cells[b, 6 + i] == i * 6 + int(np.argmax(logits[b, i, :]))


def test_stage2_scores_boxes_from_their_own_features() -> None:
    rng = np.random.default_rng(4)
    reg_f = jnp.asarray(rng.normal(size=(B, 15, 15, C)), jnp.float32)
    cls_f = jnp.asarray(rng.normal(size=(B, 15, 15, C)), jnp.float32)
    v4, v3 = (jnp.asarray(rng.normal(size=(B, 1, 1, C)), jnp.float32) for _ in range(2))
    stage1, stage2 = Stage1Classifier(C), Stage2Classifier(C)
    v1 = jax.jit(stage1.init)(jax.random.PRNGKey(0), reg_f, cls_f, v4, v3)
    apply1, apply2 = jax.jit(stage1.apply), jax.jit(stage2.apply)
    s1, encoded = apply1(v1, reg_f, cls_f, v4, v3)
    assert s1.shape == (B, 15, 15) and encoded["reg_map"].shape == (B, 15, 15, C // 2)
    assert encoded["cls_vector"].shape == (B, 1, 1, C // 2)
    boxes = jnp.array([[[8.0, 8.0, 32.0, 32.0], [64.0, 64.0, 112.0, 100.0]]] * B)
    v2 = jax.jit(stage2.init)(jax.random.PRNGKey(1), encoded, boxes)
    s2 = apply2(v2, encoded, boxes)
    assert s2.shape == (B, 2)
    # the encoders' two 3x3 convolutions see 2 cells around the ROI (cells 1..4 for the first box)
    _, far = apply1(v1, reg_f.at[:, 10:, 10:].set(7.0), cls_f, v4, v3)
    s2_far = apply2(v2, far, boxes)
    np.testing.assert_allclose(s2_far[:, 0], s2[:, 0], atol=1e-5)
    assert float(jnp.abs(s2_far[:, 1] - s2[:, 1]).max()) > 1e-4
