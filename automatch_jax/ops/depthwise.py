"""Depthwise convolution (one kxk kernel per channel, the middle layer of a MobileNet block) and the choice of how
to compute it.

XLA's CPU grouped convolution is 15-18x slower for depthwise kernels than a sum of shifted, strided slices times
the per-channel weights (BENCHMARKS.md), so on CPU the backbones call :func:`depthwise_shift_sum`; elsewhere they
keep ``nn.Conv(feature_group_count=C)``. Both read the same (k, k, 1, C) kernel, so a checkpoint runs on either.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

from automatch_jax.ops.xcorr import shifted_product_sum

DEPTHWISE_ENV = "AUTOMATCH_DEPTHWISE"  # "conv" | "shift": overrides the backend's default
DEPTHWISE_IMPLS = ("conv", "shift")


def depthwise_impl() -> str:
    """``"shift"`` on CPU, ``"conv"`` on every other backend; ``$AUTOMATCH_DEPTHWISE`` (``conv`` | ``shift``)
    overrides (any other value is ignored)."""
    chosen = os.environ.get(DEPTHWISE_ENV, "")
    if chosen in DEPTHWISE_IMPLS:
        return chosen
    return "shift" if jax.default_backend() == "cpu" else "conv"


def depthwise_shift_sum(
    x: jnp.ndarray, kernel: jnp.ndarray, stride: int, dilation: int, pads: list[tuple[int, int]]
) -> jnp.ndarray:
    """Depthwise convolution as a sum of k*k shifted, strided slices times per-channel weights
    (:func:`~automatch_jax.ops.xcorr.shifted_product_sum`).

    ``x`` (B, H, W, C), ``kernel`` (k, k, 1, C) (``nn.Conv``'s layout), ``pads`` ((low, high) of H, (low, high)
    of W) -> (B, H', W', C); equal to ``lax.conv_general_dilated(..., feature_group_count=C)`` with the same
    padding, stride and dilation.
    """
    xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    return shifted_product_sum(xp, kernel[:, :, 0, :], stride, dilation)
