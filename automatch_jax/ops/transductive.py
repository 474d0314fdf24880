"""Transductive-guidance operator (the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.ops.common import Projection, embedding, flatten
from automatch_jax.ops.registry import register


@register("transductive", search_index=6)
class TransductiveGuidance(nn.Module):
    """R = F_x + G, G = softmax_z(S(E_x(F_x)) S(E_z(F_z))^T / sqrt(D)) S(M_z): the template mask propagated to each
    search cell through its affinity to the template cells, broadcast over channels.

    E_x, E_z are 1x1 convolutions C -> D (``embed_features``, 64); M_z is the template's box mask at F_z's
    resolution (the network resizes the crop's pixel mask). R keeps F_x's C channels (a 1x1 projection when
    ``features`` differs). (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz), vector (unused) -> (B, Hx, Wx, features).
    """

    features: int | None = None
    embed_features: int = 64

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        b, hx, wx, c = f_x.shape
        x = flatten(embedding(self.embed_features, "search_embed")(f_x))
        z = flatten(embedding(self.embed_features, "template_embed")(f_z))
        weights = jax.nn.softmax(jnp.einsum("bxd,bzd->bxz", x, z) / jnp.sqrt(float(self.embed_features)), axis=-1)
        guidance = jnp.einsum("bxz,bz->bx", weights, z_mask.reshape(b, -1).astype(weights.dtype))
        return Projection(self.features or c)(f_x + guidance.reshape(b, hx, wx, 1))
