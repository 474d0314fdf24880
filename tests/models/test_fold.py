"""BatchNorm folding: the folded network computes what the trained one does, for every backbone and the heads."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.models.efficientnet_lite import EfficientNetLite
from automatch_jax.models.fold import apply_folded, batchnorm_pairs, fold_batchnorm
from automatch_jax.models.resnet import ResNet50S8
from automatch_jax.models.tracker_net import TrackerNet


def _random_statistics(variables: dict, seed: int = 0) -> dict:
    """Trained-looking BatchNorms: scales, shifts, means and variances far from their initial 1, 0, 0, 1."""
    rng = np.random.default_rng(seed)

    def perturb(path, leaf):
        name = path[-1].key
        if name == "scale":
            return rng.uniform(0.5, 2.0, leaf.shape).astype(np.float32)
        if name == "var":
            return rng.uniform(0.2, 3.0, leaf.shape).astype(np.float32)
        if name == "mean" or (name == "bias" and leaf.ndim == 1):
            return rng.normal(0, 0.5, leaf.shape).astype(np.float32)
        return np.asarray(leaf)

    return jax.tree_util.tree_map_with_path(perturb, variables)


def _count_batchnorms(variables: dict) -> int:
    return sum(1 for path, _ in jax.tree_util.tree_flatten_with_path(variables["batch_stats"])[0]
               if path[-1].key == "mean")


@pytest.mark.parametrize("module", [ResNet50S8(), EfficientNetLite("lite0", stride8=True, stages=4)],
                         ids=["resnet50", "efficientnet_lite0_stage4"])
def test_folded_backbones_match(module: nn.Module) -> None:
    x = jax.random.uniform(jax.random.PRNGKey(1), (2, 41, 41, 3), minval=-1.0, maxval=1.0)
    variables = _random_statistics(module.init(jax.random.PRNGKey(0), x))
    folded = fold_batchnorm(lambda: module.apply(variables, x), variables)
    assert len(batchnorm_pairs(lambda: module.apply(variables, x), variables["params"])) == _count_batchnorms(
        variables)
    assert "batch_stats" not in folded  # every BatchNorm follows a convolution in these networks
    reference = module.apply(variables, x)
    out = apply_folded(module, folded, x)
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4 * float(jnp.abs(reference).max()))


def test_folded_tracker_network_matches_and_folding_twice_changes_nothing() -> None:
    net = TrackerNet(backbone="tiny", channels=16, tower_layers=2, tower_channels=16, search_size=63,
                     exemplar_size=31, exemplar_cells=3)
    z = jax.random.uniform(jax.random.PRNGKey(1), (1, 31, 31, 3), maxval=255.0)
    x = jax.random.uniform(jax.random.PRNGKey(2), (1, 63, 63, 3), maxval=255.0)
    z_box = jnp.array([[8.0, 8.0, 22.0, 22.0]])
    variables = _random_statistics(net.init(jax.random.PRNGKey(0), z, z_box, x))
    folded = fold_batchnorm(lambda: net.apply(variables, z, z_box, x), variables)
    reference = net.apply(variables, z, z_box, x)
    out = apply_folded(net, folded, z, z_box, x)
    for key in ("cls", "reg"):
        np.testing.assert_allclose(out[key], reference[key], rtol=1e-4, atol=1e-4)
    again = fold_batchnorm(lambda: apply_folded(net, folded, z, z_box, x), folded)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, again, folded))
    # the unfolded variables still run under the folding context: it only touches folded BatchNorms
    np.testing.assert_allclose(apply_folded(net, variables, z, z_box, x)["cls"], reference["cls"])


class _ConvReLU(nn.Module):
    """One kernel, but not linear in it."""

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        return nn.relu(nn.Conv(4, (1, 1), name="conv")(x))


class _NormAfterSum(nn.Module):
    """BatchNorms after an addition and after a non-linear module: they must be left as they are."""

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        y = nn.Conv(4, (3, 3), use_bias=True, name="conv")(x)
        y = nn.BatchNorm(use_running_average=True, name="folded")(y)
        y = nn.BatchNorm(use_running_average=True, name="kept")(y + x[..., :1])
        return nn.BatchNorm(use_running_average=True, name="after_relu")(_ConvReLU(name="conv_relu")(y))


def test_only_batchnorms_after_a_convolution_are_folded() -> None:
    module = _NormAfterSum()
    x = jax.random.normal(jax.random.PRNGKey(1), (1, 9, 9, 4))
    variables = _random_statistics(module.init(jax.random.PRNGKey(0), x))
    folded = fold_batchnorm(lambda: module.apply(variables, x), variables)
    assert set(folded["batch_stats"]) == {"kept", "after_relu"} and set(folded["params"]["folded"]) == {"bias"}
    np.testing.assert_allclose(folded["params"]["conv"]["bias"],  # the convolution's own bias is scaled too
                               variables["params"]["conv"]["bias"] * variables["params"]["folded"]["scale"]
                               / np.sqrt(variables["batch_stats"]["folded"]["var"] + 1e-5), rtol=1e-6)
    np.testing.assert_allclose(apply_folded(module, folded, x), module.apply(variables, x), rtol=1e-5, atol=1e-5)
