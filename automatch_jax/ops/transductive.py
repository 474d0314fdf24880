"""Transductive-guidance operator."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.ops.common import Projection, flatten
from automatch_jax.ops.registry import register


def transductive_guidance(f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
    """G = softmax_z(S(F_x) S(F_z)^T / sqrt(C)) S(M_z): (B, Hx, Wx, 1), the exemplar's foreground label
    propagated to each search cell through its affinity to the exemplar cells (values in [0, 1])."""
    b, hx, wx, c = f_x.shape
    affinity = jnp.einsum("bxc,bzc->bxz", flatten(f_x), flatten(f_z)) / jnp.sqrt(jnp.float32(c))
    weights = jax.nn.softmax(affinity, axis=-1)
    guidance = jnp.einsum("bxz,bz->bx", weights, z_mask.reshape(b, -1).astype(weights.dtype))
    return guidance.reshape(b, hx, wx, 1)


@register("transductive")
class TransductiveGuidance(nn.Module):
    """R = G + F_x with G the propagated foreground guidance (see :func:`transductive_guidance`),
    broadcast over channels. (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features);
    parameter-free when ``features`` equals C (a 1x1 projection otherwise)."""

    features: int | None = None

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        return Projection(self.features or f_x.shape[-1])(transductive_guidance(f_z, f_x, z_mask) + f_x)
