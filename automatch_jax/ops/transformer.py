"""Simple-transformer operator (cross-attention from search cells to exemplar cells)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import flatten
from automatch_jax.ops.registry import register


@register("transformer")
class SimpleTransformer(nn.Module):
    """R = MultiHeadAttention(q = Conv(F_x), k = Conv(F_z), v = Conv(F_z)).

    The HxWx search cells attend to the HzWz exemplar cells with ``num_heads`` heads; the query, key and value
    convolutions are the attention module's own 1x1 projections (``query``, ``key``, ``value``), followed by
    its output projection (``out``) to ``features`` channels. Scores scaled by 1/sqrt(head dim).
    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features).
    """

    features: int | None = None
    num_heads: int = 8

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        features = self.features or c
        if features % self.num_heads:
            raise ValueError(
                f"transformer: features={features} is not divisible by num_heads={self.num_heads}"
            )
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, qkv_features=features, out_features=features, name="attention"
        )
        out = attention(flatten(f_x), flatten(f_z), flatten(f_z))
        return out.reshape(b, hx, wx, features)
