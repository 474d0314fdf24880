"""FiLM operator (feature-wise linear modulation, the authors' form)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.common import embedding, template_vector
from automatch_jax.ops.registry import register

LEAKY_SLOPE = 0.1


@register("film", search_index=4)
class FiLM(nn.Module):
    """gamma = LReLU(Conv1x1(v_z)), beta = LReLU(Conv1x1(v_z)); R = (1 + gamma) * E_x(F_x) + beta.

    E_x is a 1x1 convolution C -> F (``features``), gamma and beta 1x1 convolutions C -> F of the template vector,
    each followed by LeakyReLU(0.1). (B, Hz, Wz, C) template map (unused), (B, Hx, Wx, C), (B, Hz, Wz) mask,
    (B, 1, 1, C) vector -> (B, Hx, Wx, features). Without ``z_vector`` the vector is F_z averaged inside the mask.
    """

    features: int | None = None

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None
    ) -> jnp.ndarray:
        features = self.features or f_x.shape[-1]
        v = template_vector(f_z, z_mask, z_vector)
        gamma = nn.leaky_relu(embedding(features, "gamma")(v), LEAKY_SLOPE)
        beta = nn.leaky_relu(embedding(features, "beta")(v), LEAKY_SLOPE)
        return (1.0 + gamma) * embedding(features, "search_embed")(f_x) + beta
