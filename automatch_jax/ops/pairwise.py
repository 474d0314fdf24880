"""Pairwise-relation operator."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import flatten
from automatch_jax.ops.registry import register


@register("pairwise")
class PairwiseRelation(nn.Module):
    """R = Conv1x1(reshape(S(F_x) S(F_z)^T)): every search cell's dot products with every exemplar cell.

    S(F_x): (B, HxWx, C), S(F_z): (B, HzWz, C); their product (B, HxWx, HzWz) is reshaped to HzWz channels at
    Hx x Wx and projected by a 1x1 convolution to ``features`` channels (HzWz = 49 for a 7x7 exemplar).
    No 1/sqrt(C) scaling (the paper's plain matrix product).
    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features).
    """

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        relation = jnp.einsum("bxc,bzc->bxz", flatten(f_x), flatten(f_z))
        relation = relation.reshape(b, hx, wx, -1)
        return nn.Conv(self.features or c, (1, 1), name="proj")(relation)
