"""Concatenation operator (the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, template_vector
from automatch_jax.ops.registry import register


@register("concat", search_index=1)
class Concatenation(nn.Module):
    """R = Conv1x1([E_x(F_x), E_z(v_z) tiled over Hx x Wx]): E_x, E_z 1x1 convolutions C -> F (``features``),
    then a 1x1 convolution 2F -> F.

    (B, Hz, Wz, C) template map (unused), (B, Hx, Wx, C), (B, Hz, Wz) mask, (B, 1, 1, C) vector
    -> (B, Hx, Wx, features). Without ``z_vector`` the vector is F_z averaged inside the mask.
    """

    features: int | None = None

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        features = self.features or f_x.shape[-1]
        x = embedding(features, "search_embed")(f_x)
        v = embedding(features, "template_embed")(template_vector(f_z, z_mask, z_vector))
        return embedding(features, "fuse")(jnp.concatenate([x, jnp.broadcast_to(v, x.shape)], axis=-1))
