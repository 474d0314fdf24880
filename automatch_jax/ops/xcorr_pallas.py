"""A fused depthwise cross-correlation kernel in Pallas (Triton backend), for GPU inference.

XLA lowers the batch-folded grouped convolution of :func:`automatch_jax.ops.xcorr.xla_depthwise_xcorr` to a
generic grouped convolution; this kernel instead gives each program one sample and a block of channels and
accumulates the Hz x Wz taps in float32, each tap one load of a shifted (Hx', Wx', channels) window of the
zero-padded search map. It is only the forward computation: :mod:`automatch_jax.ops.xcorr` decides where it
runs (after a self-check), and differentiates through the XLA path.

Triton wants power-of-two tensors, so the loaded windows and the output block are (Hx', Wx', Cb) with Hx', Wx' the
next powers of two of Hx, Wx and Cb a power of two; the search map is zero-padded just enough for those windows
(SAME padding plus Hx' - Hx rows and Wx' - Wx columns) and the extra output rows, columns and channels are cut
off. Every shape works; 32x32 search maps (255 crops) need no spatial padding at all.

The backend is chosen explicitly (:class:`jax.experimental.pallas.triton.CompilerParams`): without compiler
parameters JAX 0.10 lowers Pallas calls through Mosaic GPU, which rejects this kernel's blocks. JAX 0.11 and 0.12
deprecate the Triton backend (they still lower it); :func:`automatch_jax.ops.xcorr.pallas_self_check` turns the
kernel off where a JAX release no longer can.

Pallas and its Triton backend are imported when this module loads, but guarded: on a JAX install (version or
platform) where either import fails, this module (and so the package) still imports, :data:`IMPORT_ERROR` records
why, :func:`pallas_depthwise_xcorr` raises :class:`PallasUnavailableError` with that reason, and
:mod:`automatch_jax.ops.xcorr` uses the XLA path.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

try:
    from jax.experimental import pallas as pl
    from jax.experimental.pallas import triton as pl_triton
except Exception as exc:  # ImportError on most installs; whatever a broken GPU plugin raises on others
    pl = pl_triton = None
    IMPORT_ERROR: str | None = f"cannot import Pallas's Triton backend ({type(exc).__name__}: {exc})"
else:
    IMPORT_ERROR = None


class PallasUnavailableError(RuntimeError):
    """This JAX install cannot import Pallas or its Triton backend (the reason: :data:`IMPORT_ERROR`)."""


def kernel_available() -> tuple[bool, str]:
    """``(True, "")`` where Pallas and its Triton backend imported, else ``(False, reason)``."""
    return (False, IMPORT_ERROR) if IMPORT_ERROR else (True, "")

CHANNEL_BLOCK = 16  # channels per program (a power of two)
NUM_WARPS = 8  # a 32x32x16 float32 accumulator is 64 registers per thread at 8 warps


def _next_pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def _kernel(x_ref, k_ref, o_ref, *, hz: int, wz: int) -> None:
    """One program: o[i, j, c] = sum_{u, v} x[i + u, j + v, c] * k[u, v, c] over its block, in float32."""
    hq, wq = o_ref.shape[0], o_ref.shape[1]
    acc = jnp.zeros(o_ref.shape, jnp.float32)
    for u in range(hz):
        for v in range(wz):
            window = x_ref[pl.ds(u, hq), pl.ds(v, wq), :].astype(jnp.float32)
            acc += window * k_ref[u, v, :].astype(jnp.float32)[None, None, :]
    o_ref[...] = acc.astype(o_ref.dtype)


def pallas_depthwise_xcorr(
    f_x: jnp.ndarray,
    kernel: jnp.ndarray,
    *,
    channel_block: int = CHANNEL_BLOCK,
    num_warps: int | None = NUM_WARPS,
    interpret: bool = False,
) -> jnp.ndarray:
    """The contract of :func:`automatch_jax.ops.xcorr.xla_depthwise_xcorr`: (B, Hx, Wx, C), (B, Hz, Wz, C) ->
    (B, Hx, Wx, C) in F_x's dtype, SAME padding (the kernel centred at ``(Hz - 1) // 2, (Wz - 1) // 2``).

    ``channel_block``: channels per program (a power of two; smaller for C below it); ``num_warps``: Triton's
    warps per program. ``interpret=True`` runs the kernel on any backend (tests on CPU). Forward only: use
    :func:`automatch_jax.ops.xcorr.fast_depthwise_xcorr` for gradients. Raises :class:`PallasUnavailableError`
    where Pallas's Triton backend did not import (:func:`kernel_available`).
    """
    if f_x.ndim != 4 or kernel.ndim != 4 or (kernel.shape[0], kernel.shape[3]) != (f_x.shape[0], f_x.shape[3]):
        raise ValueError(
            f"pallas depthwise xcorr: want (B, Hx, Wx, C) and (B, Hz, Wz, C), got {f_x.shape} and {kernel.shape}"
        )
    if IMPORT_ERROR:
        raise PallasUnavailableError(IMPORT_ERROR)
    if channel_block < 1 or channel_block & (channel_block - 1):
        raise ValueError(f"pallas depthwise xcorr: channel_block must be a power of two, got {channel_block}")
    b, hx, wx, c = f_x.shape
    _, hz, wz, _ = kernel.shape
    hq, wq = _next_pow2(hx), _next_pow2(wx)
    block = min(channel_block, _next_pow2(c))
    cq = -(-c // block) * block
    top, left = (hz - 1) // 2, (wz - 1) // 2
    x_pad = jnp.pad(f_x, ((0, 0), (top, hq + hz - 1 - hx - top), (left, wq + wz - 1 - wx - left), (0, cq - c)))
    k_pad = jnp.pad(kernel.astype(f_x.dtype), ((0, 0), (0, 0), (0, 0), (0, cq - c)))
    out = pl.pallas_call(
        functools.partial(_kernel, hz=hz, wz=wz),
        out_shape=jax.ShapeDtypeStruct((b, hq, wq, cq), f_x.dtype),
        grid=(b, cq // block),
        in_specs=[
            pl.BlockSpec((None, hq + hz - 1, wq + wz - 1, block), lambda i, j: (i, 0, 0, j)),
            pl.BlockSpec((None, hz, wz, block), lambda i, j: (i, 0, 0, j)),
        ],
        out_specs=pl.BlockSpec((None, hq, wq, block), lambda i, j: (i, 0, 0, j)),
        compiler_params=pl_triton.CompilerParams(num_warps=num_warps),
        interpret=interpret,
        name="depthwise_xcorr",
    )(x_pad, k_pad)
    if (hq, wq, cq) != (hx, wx, c):
        out = out[:, :hx, :wx, :c]
    return out
