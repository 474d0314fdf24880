"""The AutoMatch network: two backbone levels, the template/track split, the config switch, the costs per part, and the
whole network overfitting a fixed batch with the authors' targets and loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.backbones import BACKBONES, get_backbone
from automatch_jax.models.config import automatch_model_config, build_network
from automatch_jax.models.losses import automatch_loss
from automatch_jax.models.summary import AUTOMATCH_PARTS, network_costs
from automatch_jax.models.targets import automatch_targets
from automatch_jax.ops import SEARCH_SPACE
from tests.models.test_tracker_net import planted_pairs

SMALL = {"backbone": "tiny", "channels": 16, "reg_tower_layers": 1, "search_size": 127, "exemplar_size": 63}


@pytest.mark.parametrize("name", ["resnet50", "efficientnet_lite0", "efficientnet_lite0_stage4", "tiny"])
def test_backbones_offer_two_levels_on_one_grid(name: str) -> None:
    trunk = get_backbone(name, levels=2)
    images = jnp.zeros((1, 63, 63, 3))
    variables = jax.eval_shape(trunk.init, jax.random.PRNGKey(0), images)
    low, high = jax.eval_shape(trunk.apply, variables, images)
    channels = BACKBONES.metadata(name)["level_channels"]
    assert low.shape == (1, 8, 8, channels[0]) and high.shape == (1, 8, 8, channels[1])
    single = jax.eval_shape(get_backbone(name).init, jax.random.PRNGKey(0), images)
    if name != "tiny":  # the two-level module is the same network: same variables
        assert jax.tree_util.tree_structure(single) == jax.tree_util.tree_structure(variables)


def test_the_two_level_trunks_extend_the_single_level_ones() -> None:
    """EfficientNet-Lite's higher level is its single-level output (stage 3 is read on the way); the tiny network's
    single-level output is its lower level (its higher level is an extra convolution)."""
    images = jnp.asarray(np.random.default_rng(0).uniform(0, 255, (1, 63, 63, 3)), jnp.float32)
    for name, level in (("efficientnet_lite0_stage4", 1), ("tiny", 0)):
        two = get_backbone(name, levels=2)
        variables = jax.jit(two.init)(jax.random.PRNGKey(0), images)
        levels = jax.jit(two.apply)(variables, images)
        single = {kind: {k: v for k, v in tree.items() if k not in ("conv3", "bn3")}
                  for kind, tree in variables.items()}
        np.testing.assert_allclose(jax.jit(get_backbone(name).apply)(single, images), levels[level], atol=1e-5)


def _batch(n: int = 2, seed: int = 0):
    z, z_boxes, x, x_boxes = planted_pairs(np.random.default_rng(seed), n)
    return jnp.asarray(z), jnp.asarray(z_boxes), jnp.asarray(x), jnp.asarray(x_boxes)


def test_template_then_track_equals_the_training_call_and_stage2_rescoring() -> None:
    net = AutoMatchNet(**SMALL)
    g = net.geometry
    assert (g.score_size, g.exemplar_cells, g.exemplar_feature_size) == (16, 8, 8)
    z, z_boxes, x, _ = _batch()
    variables = jax.jit(net.init)(jax.random.PRNGKey(0), z, z_boxes, x)
    template = jax.jit(lambda v, z, b: net.apply(v, z, b, method=AutoMatchNet.template))
    track = jax.jit(lambda v, e, x, b: net.apply(v, e, x, boxes=b, method=AutoMatchNet.track))
    exemplar = template(variables, z, z_boxes)
    assert exemplar["z_low"].shape == exemplar["z_high"].shape == (2, 8, 8, 16)
    assert exemplar["v_low"].shape == (2, 1, 1, 16) and exemplar["mask"].shape == (2, 8, 8)
    assert 0 < float(exemplar["mask"].sum()) < 2 * 64
    boxes = jnp.array([[[20.0, 20.0, 60.0, 50.0], [70.0, 60.0, 100.0, 120.0]]] * 2)
    out = track(variables, exemplar, x, boxes)
    assert out["cls"].shape == out["cls_s2"].shape == (2, 16, 16) and out["reg"].shape == (2, 16, 16, 4)
    assert out["cls_boxes"].shape == (2, 2) and bool(jnp.all(out["reg"] > 0))
    direct = jax.jit(lambda v: net.apply(v, z, z_boxes, x, boxes=boxes))(variables)
    for key in ("cls", "reg", "cls_s2", "cls_boxes"):
        np.testing.assert_allclose(out[key], direct[key], rtol=1e-4, atol=1e-4)
    rescored = jax.jit(lambda v, f, b: net.apply(v, f, b, method=AutoMatchNet.score_boxes))(
        variables, out["s2_features"], boxes
    )
    np.testing.assert_allclose(rescored, out["cls_boxes"], rtol=1e-5, atol=1e-5)


def test_config_switch_and_bad_settings() -> None:
    config = automatch_model_config()
    net = build_network(config)
    assert isinstance(net, AutoMatchNet) and net.cls_operators == ("transformer", "film")
    assert net.reg_operators == ("film", "pairwise") and net.reg_tower_layers == 3
    assert type(build_network({"backbone": "tiny"})).__name__ == "TrackerNet"  # no arch: the shipped checkpoints'
    with pytest.raises(AutomatchError, match="model.arch 'siamfc' is not one of automatch, ocean"):
        build_network({**config, "arch": "siamfc"})
    with pytest.raises(AutomatchError, match="model.cls_operators: 'dw_xcorr' is not an operator of model.arch "
                                             "'automatch'.*depthwise correlation is 'pointdw'"):
        build_network({**config, "cls_operators": ("dw_xcorr",)})
    with pytest.raises(AutomatchError, match="unknown model setting.*tower_channels"):
        build_network({**config, "tower_channels": 64})


def test_costs_per_part_include_both_stages() -> None:
    rows = {row.part: row for row in network_costs(AutoMatchNet(**SMALL))}
    assert set(rows) == {*AUTOMATCH_PARTS, "total"}
    assert rows["total"].params == sum(rows[p].params for p in AUTOMATCH_PARTS)
    assert all(rows[p].params > 0 for p in AUTOMATCH_PARTS)
    for part in ("backbone", "necks", "matching", "regression", "stage 1", "stage 2"):
        assert rows[part].flops_per_frame > 0, part
    assert rows["template"].flops_per_frame == 0 and rows["template"].flops_exemplar > 0
    # stage 2 scores all 16 x 16 cells' boxes: at least their 3x3 valid convolutions (8 -> 8 channels, two levels)
    assert rows["stage 2"].flops_per_frame > 256 * 2 * 2 * 9 * 8 * 8


def _train(net: AutoMatchNet, steps: int, lr: float = 3e-3):
    z, z_boxes, x, x_boxes = _batch(4)
    targets = automatch_targets(net.geometry, x_boxes, jnp.ones(4))
    variables = net.init(jax.random.PRNGKey(0), z, z_boxes, x)
    optimizer = optax.adam(lr)

    @jax.jit
    def step(params, stats, opt_state):
        def loss_fn(p):
            out, updates = net.apply({**variables, "params": p, "batch_stats": stats}, z, z_boxes, x, train=True,
                                     boxes=targets["jitter_boxes"], mutable=["batch_stats"])
            total, parts = automatch_loss(out, targets)
            return total, (parts, updates["batch_stats"])

        (_, (parts, stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state, parts, grads

    params, stats = variables["params"], variables["batch_stats"]
    opt_state = optimizer.init(params)
    history = []
    for _ in range(steps):
        params, stats, opt_state, parts, grads = step(params, stats, opt_state)
        history.append({k: float(v) for k, v in parts.items()})
    return history, grads


def test_the_whole_network_overfits_a_fixed_batch() -> None:
    history, grads = _train(AutoMatchNet(**SMALL), 80)
    first, last = history[0], history[-1]
    assert all(np.isfinite(v) for row in history for v in row.values())
    assert last["loss"] < 0.3 * first["loss"], (first, last)
    for part in ("cls_s1_loss", "cls_s2_loss", "reg_loss"):
        assert last[part] < 0.5 * first[part], (part, first[part], last[part])
    for name in ("trunk", "neck_low", "template_low", "cls_matching", "reg_head", "stage1", "stage2"):
        assert float(sum(jnp.abs(g).sum() for g in jax.tree_util.tree_leaves(grads[name]))) > 0, name


@pytest.mark.parametrize("operator", ["pointdw", "transductive"])
def test_single_operator_networks_train(operator: str) -> None:
    history, _ = _train(AutoMatchNet(**{**SMALL, "cls_operators": (operator,), "reg_operators": (operator,)}), 10)
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.slow
@pytest.mark.parametrize("operator", [op for op in SEARCH_SPACE if op not in ("pointdw", "transductive")])
def test_every_other_single_operator_network_trains(operator: str) -> None:
    test_single_operator_networks_train(operator)


def test_search_mode_puts_a_bcm_cell_in_each_branch() -> None:
    net = AutoMatchNet(**SMALL, cls_operators=SEARCH_SPACE, reg_operators=SEARCH_SPACE, search_cell=True)
    z, z_boxes, x, _ = _batch()
    variables = jax.jit(net.init)(jax.random.PRNGKey(0), z, z_boxes, x)
    for branch in ("cls_matching", "reg_matching"):
        assert variables["arch"][branch]["cell"]["manipulators"].shape == (7, 16)
    grad = jax.jit(jax.grad(lambda arch: jnp.sum(net.apply({**variables, "arch": arch}, z, z_boxes, x)["cls"])))(
        variables["arch"]
    )
    for branch in ("cls_matching", "reg_matching"):
        per_operator = np.abs(np.asarray(grad[branch]["cell"]["manipulators"])).sum(axis=1)
        assert (per_operator > 0).sum() >= 6, (branch, per_operator)  # the cls map sees both branches
