"""Concatenation operator."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import masked_average
from automatch_jax.ops.registry import register


@register("concat")
class Concatenation(nn.Module):
    """R = Conv1x1([f_z broadcast to Hx x Wx, F_x]): 2C -> features.

    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features); f_z is F_z averaged inside M_z.
    """

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        pooled = jnp.broadcast_to(masked_average(f_z, z_mask), f_x.shape)
        return nn.Conv(self.features or f_x.shape[-1], (1, 1), name="fuse")(
            jnp.concatenate([pooled, f_x], -1)
        )
