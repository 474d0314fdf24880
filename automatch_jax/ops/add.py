"""Pointwise-addition operator (the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, template_vector
from automatch_jax.ops.registry import register


@register("add", search_index=2)
class PointwiseAddition(nn.Module):
    """R = E_x(F_x) + E_z(v_z), E_x and E_z 1x1 convolutions C -> ``features`` (v_z broadcast over Hx x Wx).

    (B, Hz, Wz, C) template map (unused), (B, Hx, Wx, C), (B, Hz, Wz) mask, (B, 1, 1, C) vector
    -> (B, Hx, Wx, features). Without ``z_vector`` the vector is F_z averaged inside the mask.
    """

    features: int | None = None

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        features = self.features or f_x.shape[-1]
        v = template_vector(f_z, z_mask, z_vector)
        return embedding(features, "search_embed")(f_x) + embedding(features, "template_embed")(v)
