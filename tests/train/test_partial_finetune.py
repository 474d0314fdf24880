"""Fine-tuning only the upper part of a trunk: no gradient reaches the frozen units, the optimiser never moves them
(not even by weight decay), the units above them do train, and every backbone names the unit of each parameter."""

from __future__ import annotations

from pathlib import Path

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pairs import PairConfig, PairLoader
from automatch_jax.errors import AutomatchError
from automatch_jax.models.backbones import BACKBONES, get_backbone, trunk_unit
from automatch_jax.models.config import build_network
from automatch_jax.train.config import load_config, validate_config
from automatch_jax.train.optim import make_optimizer, parameter_labels
from automatch_jax.train.runner import init_variables

SMOKE = Path(__file__).parents[2] / "configs" / "smoke.py"


def _units(name: str, params: dict) -> set[int]:
    flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params))
    return {trunk_unit(name, key) for key in flat}


@pytest.mark.parametrize("name", ["tiny", "efficientnet_lite0_stage4", "efficientnet_lite0", "resnet50"])
def test_every_trunk_parameter_belongs_to_one_of_the_registered_units(name: str) -> None:
    module = get_backbone(name, levels=2)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    units = _units(name, shapes["params"])
    assert units == set(range(BACKBONES.metadata(name)["units"]))


@pytest.fixture(scope="module")
def setup():
    config = load_config(SMOKE)
    config.train.update(frozen_units=2, unfreeze_step=0, weight_decay=0.1)
    net = build_network(config.model).clone(trunk_frozen_units=2)
    variables = init_variables(net, config, 0)
    geometry = net.geometry
    loader = PairLoader(Imagery.builtin(cutouts=6), PairConfig(exemplar_size=geometry.exemplar_size,
                                                                search_size=geometry.search_size), 4, 0, 0)
    _, batch = next(iter(loader.iterate(0, 1)))
    return config, net, variables, jax.tree_util.tree_map(jnp.asarray, batch)


def test_no_gradient_reaches_the_frozen_units_and_the_units_above_train(setup) -> None:
    from automatch_jax.models.losses import pair_loss

    config, net, variables, batch = setup

    def loss(params):
        return pair_loss(net, {**variables, "params": params}, batch, dict(config.loss), train=True)[0]

    grads = flax.traverse_util.flatten_dict(jax.grad(loss)(variables["params"]))
    trunk = {key[1:]: float(jnp.abs(g).sum()) for key, g in grads.items() if key[0] == "trunk"}
    frozen = [size for key, size in trunk.items() if trunk_unit("tiny", key) < 2]
    trained = [size for key, size in trunk.items() if trunk_unit("tiny", key) >= 2]
    assert frozen and all(size == 0.0 for size in frozen)
    assert trained and all(size > 0.0 for size in trained)


def test_the_optimiser_never_moves_the_frozen_units_even_with_weight_decay(setup) -> None:
    config, _, variables, _ = setup
    params = variables["params"]
    labels = flax.traverse_util.flatten_dict(parameter_labels(params, "tiny", 2))
    assert {labels[k] for k in labels if k[0] == "trunk" and trunk_unit("tiny", k[1:]) < 2} == {"frozen"}
    assert {labels[k] for k in labels if k[0] == "trunk" and trunk_unit("tiny", k[1:]) >= 2} == {"backbone"}
    tx = make_optimizer(config.train, 10, "tiny")
    state = tx.init(params)
    grads = jax.tree_util.tree_map(jnp.ones_like, params)
    for _ in range(3):
        updates, state = tx.update(grads, state, params)
    flat = flax.traverse_util.flatten_dict(updates)
    for key, update in flat.items():
        moved = bool(np.any(np.asarray(update) != 0))
        assert moved == (labels[key] != "frozen"), key


def test_frozen_units_beyond_the_trunk_are_refused_before_training() -> None:
    config = load_config(SMOKE)
    config.train.frozen_units = 3
    validate_config(config, "train")
    config.train.frozen_units = 4
    with pytest.raises(AutomatchError, match="train.frozen_units 4: the backbone has 4 units"):
        validate_config(config, "train")
