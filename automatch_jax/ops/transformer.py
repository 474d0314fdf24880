"""Simple-transformer operator (cross-attention from search cells to template cells, the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, flatten
from automatch_jax.ops.registry import register


@register("transformer", search_index=5)
class SimpleTransformer(nn.Module):
    """R = MultiHeadAttention(query = E_q(F_x), key = E_k(F_z), value = E_v(F_z)), no residual, no normalisation.

    E_q, E_k, E_v are 1x1 convolutions C -> F (``features``); the HxWx search cells attend to all HzWz cells of the
    full template map with ``num_heads`` (4) heads of F / 4 channels (the attention's own input and output
    projections, as PyTorch's ``nn.MultiheadAttention``; scores scaled by 1/sqrt(F / 4)).
    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) mask (unused), vector (unused) -> (B, Hx, Wx, features).
    """

    features: int | None = None
    num_heads: int = 4

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        features = self.features or c
        if features % self.num_heads:
            raise ValueError(f"transformer: features={features} is not divisible by num_heads={self.num_heads}")
        query = embedding(features, "query_embed")(f_x)
        key = embedding(features, "key_embed")(f_z)
        value = embedding(features, "value_embed")(f_z)
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, qkv_features=features, out_features=features, name="attention"
        )
        return attention(flatten(query), flatten(key), flatten(value)).reshape(b, hx, wx, features)
