"""Point-wise depthwise correlation (PointDW), the depthwise cross-correlation of the authors' search space."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, template_vector
from automatch_jax.ops.registry import register


@register("pointdw", search_index=0)
class PointDW(nn.Module):
    """R = E_x(F_x) * E_z(v_z): a 1x1 depthwise correlation (Hadamard product) of the embedded search map with the
    embedded template vector, which keeps F_x's resolution (the paper: with a 1x1 exemplar, depthwise correlation
    is a Hadamard product). E_x, E_z are 1x1 convolutions C -> ``features``.

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
        return embedding(features, "search_embed")(f_x) * embedding(features, "template_embed")(v)
