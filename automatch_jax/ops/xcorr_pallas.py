"""A fused depthwise cross-correlation kernel in Pallas, for GPU inference.

XLA lowers the batch-folded grouped convolution of :func:`automatch_jax.ops.xcorr.depthwise_xcorr` to a
generic cuDNN grouped convolution; this kernel instead gives each program one sample and a block of channels,
keeps the whole zero-padded search block in registers/shared memory, and accumulates the Hz x Wz taps in
float32. It is used only on GPUs (:func:`fast_path_available`), checked once against the XLA path before first
use, and differentiable through the XLA path's gradient (``custom_vjp``), so training is unchanged.

Triton wants power-of-two block shapes, so the padded search block is rounded up to powers of two and the
output's spatial size and the channel block must be powers of two; other shapes use the XLA path.
"""

from __future__ import annotations

import functools
import logging
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

log = logging.getLogger(__name__)

ENV_SWITCH = "AUTOMATCH_XCORR"  # "xla" forces the XLA path, "pallas" skips the GPU self-check


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _next_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def supported(f_x_shape: tuple[int, ...], kernel_shape: tuple[int, ...], channel_block: int = 16) -> bool:
    """Whether the kernel handles these shapes: power-of-two Hx, Wx and C divisible by ``channel_block``."""
    _, hx, wx, c = f_x_shape
    _, hz, wz, _ = kernel_shape
    return _is_pow2(hx) and _is_pow2(wx) and c % channel_block == 0 and hz % 2 == 1 and wz % 2 == 1


def _kernel(x_ref, k_ref, o_ref, *, hz: int, wz: int, hx: int, wx: int) -> None:
    acc = jnp.zeros(o_ref.shape, jnp.float32)
    for u in range(hz):
        for v in range(wz):
            window = x_ref[pl.ds(u, hx), pl.ds(v, wx), :].astype(jnp.float32)
            acc += window * k_ref[u, v, :].astype(jnp.float32)[None, None, :]
    o_ref[...] = acc.astype(o_ref.dtype)


def pallas_depthwise_xcorr(
    f_x: jnp.ndarray, kernel: jnp.ndarray, channel_block: int = 16, interpret: bool = False
) -> jnp.ndarray:
    """Same contract as :func:`automatch_jax.ops.xcorr.depthwise_xcorr`: (B, Hx, Wx, C), (B, Hz, Wz, C) ->
    (B, Hx, Wx, C), SAME padding, odd Hz and Wz. ``interpret=True`` runs the kernel on any backend (tests)."""
    b, hx, wx, c = f_x.shape
    _, hz, wz, _ = kernel.shape
    if not supported(f_x.shape, kernel.shape, channel_block):
        raise ValueError(f"pallas depthwise xcorr: unsupported shapes {f_x.shape} and {kernel.shape}")
    hp, wp = _next_pow2(hx + hz - 1), _next_pow2(wx + wz - 1)
    kp, kq = _next_pow2(hz), _next_pow2(wz)
    top, left = hz // 2, wz // 2
    x_pad = jnp.pad(f_x, ((0, 0), (top, hp - hx - top), (left, wp - wx - left), (0, 0)))
    k_pad = jnp.pad(kernel.astype(f_x.dtype), ((0, 0), (0, kp - hz), (0, kq - wz), (0, 0)))
    body = functools.partial(_kernel, hz=hz, wz=wz, hx=hx, wx=wx)
    return pl.pallas_call(
        body,
        out_shape=jax.ShapeDtypeStruct(f_x.shape, f_x.dtype),
        grid=(b, c // channel_block),
        in_specs=[
            pl.BlockSpec((None, hp, wp, channel_block), lambda i, j: (i, 0, 0, j)),
            pl.BlockSpec((None, kp, kq, channel_block), lambda i, j: (i, 0, 0, j)),
        ],
        out_specs=pl.BlockSpec((None, hx, wx, channel_block), lambda i, j: (i, 0, 0, j)),
        interpret=interpret,
        name="depthwise_xcorr",
    )(x_pad, k_pad)


@functools.cache
def fast_path_available() -> bool:
    """True on a GPU backend where the kernel compiled and matched the XLA path on a probe (checked once).

    ``AUTOMATCH_XCORR=xla`` disables it; ``AUTOMATCH_XCORR=pallas`` enables it without the probe.
    """
    choice = os.environ.get(ENV_SWITCH, "").lower()
    if choice == "xla" or jax.default_backend() != "gpu":
        return False
    if choice == "pallas":
        return True
    from automatch_jax.ops.xcorr import xla_depthwise_xcorr

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, 32, 32, 32)), jnp.float32)
    k = jnp.asarray(rng.normal(size=(2, 7, 7, 32)), jnp.float32)
    try:
        fast = jax.jit(pallas_depthwise_xcorr)(x, k)
        error = float(jnp.max(jnp.abs(fast - xla_depthwise_xcorr(x, k))))
    except Exception as exc:  # a Triton/Pallas lowering failure on this GPU or jax version
        log.warning("pallas depthwise xcorr unavailable (%s: %s); using XLA", type(exc).__name__, exc)
        return False
    if not math.isfinite(error) or error > 1e-3:
        log.warning("pallas depthwise xcorr disagrees with XLA (max error %.3g); using XLA", error)
        return False
    return True
