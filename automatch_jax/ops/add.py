"""Pointwise-addition operator."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import Projection, masked_average
from automatch_jax.ops.registry import register


@register("add")
class PointwiseAddition(nn.Module):
    """R = f_z + F_x (f_z broadcast over Hx x Wx).

    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features); parameter-free when ``features``
    equals C (a 1x1 projection otherwise).
    """

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        return Projection(self.features or f_x.shape[-1])(masked_average(f_z, z_mask) + f_x)
