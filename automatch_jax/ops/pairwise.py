"""Pairwise-relation operator (the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, flatten
from automatch_jax.ops.registry import register


@register("pairwise", search_index=3)
class PairwiseRelation(nn.Module):
    """R = Conv1x1(reshape(S(E(F_x)) S(E(F_z))^T)): every embedded search cell against every embedded template cell.

    One 1x1 embedding E (C -> ``embed_features``, 64) is shared by both maps; the unscaled products (B, HxWx, HzWz)
    are reshaped to HzWz channels (template cell ``u * Wz + v`` is channel ``u * Wz + v``) at Hx x Wx, and a 1x1
    convolution maps them to ``features`` channels (225 -> C for the full 15x15 template).
    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) mask (unused), vector (unused) -> (B, Hx, Wx, features).
    """

    features: int | None = None
    embed_features: int = 64

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        embed = embedding(self.embed_features, "embed")
        relation = jnp.einsum("bxc,bzc->bxz", flatten(embed(f_x)), flatten(embed(f_z)))
        return embedding(self.features or c, "down")(relation.reshape(b, hx, wx, -1))
