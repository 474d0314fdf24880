"""Ocean-style anchor-free heads and the matching network that feeds each of them: TrackerNet's parts (the
``ocean`` architecture: the Ocean-head comparison network, the Table 1 networks and the checkpoints whose
``model.arch`` is ``"ocean"`` or absent; the AutoMatch network is :mod:`automatch_jax.models.automatch`).

Per branch (classification, regression): a matching network, configured by a list of operator names (one
name: a single-operator tracker of the paper's Table 1; two names: the searched pair, responses
concatenated), then a tower of 3x3 convolutions with BatchNorm and ReLU, then the output convolution.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.legacy import get_legacy_operator


class MatchingNetwork(nn.Module):
    """Applies the named legacy-form operators (:mod:`automatch_jax.ops.legacy`) to the same (F_z, F_x) and
    concatenates their responses.

    ``(B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, len(operators) * C)``.
    """

    operators: SequenceOf[str]
    channels: int = 256

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, train: bool = False
    ) -> jnp.ndarray:
        if not self.operators:
            raise ValueError("a matching network needs at least one operator name")
        responses = [
            get_legacy_operator(name, features=self.channels, name=name)(f_z, f_x, z_mask) for name in self.operators
        ]
        return jnp.concatenate(responses, axis=-1)


class Tower(nn.Module):
    """``layers`` x (3x3 conv -> BatchNorm -> ReLU): (B, H, W, Cin) -> (B, H, W, channels)."""

    layers: int = 4
    channels: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        for i in range(self.layers):
            x = nn.Conv(
                self.channels, (3, 3), padding="SAME", use_bias=False, dtype=self.dtype, name=f"conv{i}"
            )(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name=f"bn{i}")(x)
            x = nn.relu(x)
        return x


class ClassificationHead(nn.Module):
    """Tower then a 3x3 conv to one logit per cell: (B, H, W, Cin) -> (B, H, W) target logits.

    The output bias starts at ``-log((1 - 0.01) / 0.01)`` so that every cell starts at probability 0.01.
    """

    layers: int = 4
    channels: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = Tower(self.layers, self.channels, self.dtype, name="tower")(x, train)
        prior = -jnp.log((1 - 0.01) / 0.01)
        logits = nn.Conv(
            1, (3, 3), padding="SAME", dtype=self.dtype, bias_init=nn.initializers.constant(prior), name="out"
        )(x)
        return logits[..., 0].astype(jnp.float32)


class RegressionHead(nn.Module):
    """Tower then a 3x3 conv to 4 distances per cell: (B, H, W, Cin) -> (B, H, W, 4) ``l, t, r, b`` in pixels.

    Distances are ``stride * exp(adjust * y + bias)`` (Ocean's ``exp(0.1 y + 1)`` scaled to the feature
    stride), always positive; they start near ``2.7 * stride``.
    """

    layers: int = 4
    channels: int = 256
    stride: int = 8
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = Tower(self.layers, self.channels, self.dtype, name="tower")(x, train)
        y = nn.Conv(4, (3, 3), padding="SAME", dtype=self.dtype, name="out")(x).astype(jnp.float32)
        adjust = self.param("adjust", nn.initializers.constant(0.1), ())
        bias = self.param("bias", nn.initializers.constant(1.0), ())
        return self.stride * jnp.exp(jnp.clip(adjust * y + bias, -10.0, 10.0))
