"""FiLM operator (feature-wise linear modulation)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import Projection, masked_average
from automatch_jax.ops.registry import register


@register("film")
class FiLM(nn.Module):
    """gamma = 1 + Conv1x1(f_z), beta = Conv1x1(f_z) (C -> C each); R = gamma * F_x + beta.

    The ``1 +`` makes the modulation start near the identity (with a small random deviation), a common
    FiLM parameterisation. (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features), a 1x1
    projection applied when ``features`` differs from C.
    """

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        c = f_x.shape[-1]
        pooled = masked_average(f_z, z_mask)
        gamma = 1.0 + nn.Conv(c, (1, 1), name="gamma")(pooled)
        beta = nn.Conv(c, (1, 1), name="beta")(pooled)
        return Projection(self.features or c)(gamma * f_x + beta)
