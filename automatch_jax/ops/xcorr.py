"""Depthwise cross-correlation (SiamRPN++ / Ocean): the plain XLA path and the dispatch to the Pallas kernel."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.ops.common import Projection
from automatch_jax.ops.registry import register
from automatch_jax.ops.xcorr_pallas import fast_path_available, pallas_depthwise_xcorr, supported


def xla_depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
    """R[b, i, j, c] = sum_{u, v} F_x[b, i + u - Hz//2, j + v - Wz//2, c] * F_z[b, u, v, c] (zero padded).

    (B, Hx, Wx, C), (B, Hz, Wz, C) -> (B, Hx, Wx, C): each exemplar channel is slid over the same search
    channel with SAME padding, so the output keeps F_x's size (for odd Hz, Wz the kernel is centred).
    One grouped convolution: the batch is folded into the channels (``feature_group_count = B * C``).
    """
    b, hx, wx, c = f_x.shape
    _, hz, wz, _ = kernel.shape
    x = jnp.transpose(f_x, (1, 2, 0, 3)).reshape(1, hx, wx, b * c)
    k = jnp.transpose(kernel, (1, 2, 0, 3)).reshape(hz, wz, 1, b * c)
    out = jax.lax.conv_general_dilated(
        x,
        k.astype(x.dtype),
        window_strides=(1, 1),
        padding="SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=b * c,
    )
    return jnp.transpose(out.reshape(hx, wx, b, c), (2, 0, 1, 3))


def shifted_product_sum(xp: jnp.ndarray, weights: jnp.ndarray, stride: int = 1, dilation: int = 1) -> jnp.ndarray:
    """A depthwise convolution as a sum of kh*kw shifted, strided slices of a padded input times per-tap weights.

    ``xp``: (B, Hp, Wp, C) the input, already padded; ``weights``: (kh, kw, ..., C), where ``weights[i, j]``
    broadcasts against (B, H', W', C) (per channel: (C,); per sample and channel: (B, 1, 1, C)).
    Returns (B, H', W', C) with ``H' = (Hp - dilation * (kh - 1) - 1) // stride + 1`` (likewise W'). On CPU this is
    many times faster than XLA's grouped convolution (BENCHMARKS.md).
    """
    kh, kw = weights.shape[:2]
    out_h = (xp.shape[1] - dilation * (kh - 1) - 1) // stride + 1
    out_w = (xp.shape[2] - dilation * (kw - 1) - 1) // stride + 1
    weights = weights.astype(xp.dtype)
    out = None
    for i in range(kh):
        for j in range(kw):
            tap = jax.lax.slice(
                xp,
                (0, i * dilation, j * dilation, 0),
                (xp.shape[0], i * dilation + stride * (out_h - 1) + 1, j * dilation + stride * (out_w - 1) + 1,
                 xp.shape[3]),
                (1, stride, stride, 1),
            ) * weights[i, j]
            out = tap if out is None else out + tap
    return out


def shift_depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
    """The contract of :func:`xla_depthwise_xcorr` as a :func:`shifted_product_sum` of F_x (SAME padding) with the
    per-sample, per-channel exemplar values as the tap weights."""
    _, hz, wz, _ = kernel.shape
    pad_h, pad_w = ((hz - 1) // 2, hz - 1 - (hz - 1) // 2), ((wz - 1) // 2, wz - 1 - (wz - 1) // 2)
    xp = jnp.pad(f_x, ((0, 0), pad_h, pad_w, (0, 0)))
    return shifted_product_sum(xp, jnp.transpose(kernel, (1, 2, 0, 3))[:, :, :, None, None, :])


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _fast_depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray, interpret: bool) -> jnp.ndarray:
    return pallas_depthwise_xcorr(f_x, kernel, interpret=interpret)


def _fast_forward(f_x: jnp.ndarray, kernel: jnp.ndarray, interpret: bool):
    return pallas_depthwise_xcorr(f_x, kernel, interpret=interpret), (f_x, kernel)


def _fast_backward(interpret: bool, residuals, grad: jnp.ndarray):
    return jax.vjp(xla_depthwise_xcorr, *residuals)[1](grad)


_fast_depthwise_xcorr.defvjp(_fast_forward, _fast_backward)


def depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray, impl: str = "auto") -> jnp.ndarray:
    """Depthwise cross-correlation (contract of :func:`xla_depthwise_xcorr`) by the fastest available path.

    ``impl="auto"``: the Pallas kernel on a GPU where it passed its self-check and supports the shapes, the sum of
    shifted slices on CPU, the XLA grouped convolution otherwise; ``"xla"``, ``"shift"`` or ``"pallas"`` force one
    (``"pallas"`` off GPU runs the kernel in interpret mode, for tests). The Pallas kernel's gradients follow the
    XLA path.
    """
    if impl == "shift" or (impl == "auto" and jax.default_backend() == "cpu"):
        return shift_depthwise_xcorr(f_x, kernel)
    if impl == "xla" or (
        impl == "auto" and not (supported(f_x.shape, kernel.shape) and fast_path_available())
    ):
        return xla_depthwise_xcorr(f_x, kernel)
    if impl not in ("auto", "pallas"):
        raise ValueError(f"unknown depthwise xcorr implementation {impl!r}; known: auto, xla, shift, pallas")
    return _fast_depthwise_xcorr(f_x, kernel, jax.default_backend() != "gpu")


@register("dw_xcorr")
class DepthwiseXCorr(nn.Module):
    """Depthwise cross-correlation: R_c = F_x,c * F_z,c (per channel, SAME padding).

    (B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz) -> (B, Hx, Wx, features). Parameter-free when
    ``features`` equals C (a 1x1 projection otherwise). The mask is not used: the whole exemplar window
    (target and context) is the kernel, as in SiamRPN++ and Ocean. ``impl`` picks the implementation
    (see :func:`depthwise_xcorr`): on GPUs the Pallas kernel of :mod:`automatch_jax.ops.xcorr_pallas`.
    """

    features: int | None = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray) -> jnp.ndarray:
        r = depthwise_xcorr(f_x, f_z, self.impl)
        return Projection(self.features or f_x.shape[-1])(r)
