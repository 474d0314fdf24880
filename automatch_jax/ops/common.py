"""Helpers shared by the matching operators: the pooled exemplar vector f_z, the pseudo mask M_z, flattening,
the 1x1 embeddings of the authors' operator forms."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


def masked_average(f_z: jnp.ndarray, z_mask: jnp.ndarray, eps: float = 1e-6) -> jnp.ndarray:
    """f_z pooled inside the target: (B, Hz, Wz, C), (B, Hz, Wz) -> (B, 1, 1, C) = sum(F_z M) / sum(M)."""
    weights = z_mask[..., None].astype(f_z.dtype)
    total = jnp.sum(f_z * weights, axis=(1, 2), keepdims=True)
    return total / jnp.maximum(jnp.sum(weights, axis=(1, 2), keepdims=True), eps)


def pseudo_mask(boxes: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """M_z: (B, 4) boxes ``x0, y0, x1, y1`` in feature-cell coordinates -> (B, height, width) float 0/1.

    Cell ``(i, j)`` spans ``[j, j+1) x [i, i+1)``; it is inside when its centre ``(j + 0.5, i + 0.5)`` lies in
    the box. A box too small to contain any centre marks the cell holding its centre, so M_z is never empty.
    """
    cx = jnp.arange(width, dtype=jnp.float32)[None, None, :] + 0.5
    cy = jnp.arange(height, dtype=jnp.float32)[None, :, None] + 0.5
    x0, y0, x1, y1 = (boxes[:, k, None, None].astype(jnp.float32) for k in range(4))
    inside = (cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)
    centre_x = jnp.clip(jnp.floor((x0 + x1) / 2), 0, width - 1)
    centre_y = jnp.clip(jnp.floor((y0 + y1) / 2), 0, height - 1)
    centre = (cx - 0.5 == centre_x) & (cy - 0.5 == centre_y)
    empty = ~jnp.any(inside, axis=(1, 2), keepdims=True)
    return jnp.where(empty, centre, inside).astype(jnp.float32)


def flatten(x: jnp.ndarray) -> jnp.ndarray:
    """S(.): (B, H, W, C) -> (B, H*W, C)."""
    return x.reshape(x.shape[0], -1, x.shape[-1])


class Projection(nn.Module):
    """A 1x1 convolution to ``features`` channels, or the identity when ``features`` equals the input's C."""

    features: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        if x.shape[-1] == self.features:
            return x
        return nn.Conv(self.features, (1, 1), name="proj")(x)


def template_vector(f_z: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None) -> jnp.ndarray:
    """The template vector an operator matches with: ``z_vector`` (B, 1, 1, C) when given (the AutoMatch network's
    ROI-aligned vector), else the paper's f_z, F_z averaged inside the mask (:func:`masked_average`)."""
    return masked_average(f_z, z_mask) if z_vector is None else z_vector


def embedding(features: int, name: str) -> nn.Conv:
    """A 1x1 convolution with bias to ``features`` channels: the per-input embedding of the authors' operators."""
    return nn.Conv(features, (1, 1), name=name)
