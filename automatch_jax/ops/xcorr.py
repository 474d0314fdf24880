"""Depthwise cross-correlation (SiamRPN++ / Ocean): the XLA and shifted-sum paths, the differentiable Pallas path
and the choice between them.

Imports go one way: this module uses :mod:`automatch_jax.ops.xcorr_pallas` (the forward kernel alone).
"""

from __future__ import annotations

import functools
import logging
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.ops.common import Projection
from automatch_jax.ops.registry import register
from automatch_jax.ops.xcorr_pallas import kernel_available, pallas_depthwise_xcorr

log = logging.getLogger(__name__)

# "xla" or "shift": what impl="auto" runs, read while tracing (portable exports: automatch_jax.tracking.export);
# "pallas": the kernel on GPUs without its self-check
ENV_SWITCH = "AUTOMATCH_XCORR"
SELF_CHECK_RTOL = 1e-4  # max |kernel - reference| / max |reference| on the probe


def xla_depthwise_xcorr(
    f_x: jnp.ndarray, kernel: jnp.ndarray, precision: jax.lax.PrecisionLike = None
) -> jnp.ndarray:
    """R[b, i, j, c] = sum_{u, v} F_x[b, i + u - (Hz-1)//2, j + v - (Wz-1)//2, c] * F_z[b, u, v, c] (zero padded).

    (B, Hx, Wx, C), (B, Hz, Wz, C) -> (B, Hx, Wx, C): each exemplar channel is slid over the same search
    channel with SAME padding, so the output keeps F_x's size (for odd Hz, Wz the kernel is centred).
    One grouped convolution: the batch is folded into the channels (``feature_group_count = B * C``);
    ``precision`` is the convolution's (``jax.lax.Precision.HIGHEST``: full float32 on GPUs, no TF32).
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
        precision=precision,
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


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def fast_depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray, interpret: bool = False) -> jnp.ndarray:
    """The Pallas kernel (:func:`~automatch_jax.ops.xcorr_pallas.pallas_depthwise_xcorr`), differentiable to any order.

    Cross-correlation is bilinear, so its tangent is ``xcorr(dF_x, F_z) + xcorr(F_x, dF_z)``, computed by the XLA
    path (linear, hence transposable for reverse mode); the primal stays the kernel at every order, so
    ``jax.grad``, ``jax.grad(jax.grad(...))`` and Hessian-vector products all work and equal the XLA path's.
    Shapes as in :func:`xla_depthwise_xcorr`; ``interpret=True`` runs the kernel off GPU (tests).
    """
    return pallas_depthwise_xcorr(f_x, kernel, interpret=interpret)


@fast_depthwise_xcorr.defjvp
def _fast_depthwise_xcorr_jvp(interpret: bool, primals, tangents):
    f_x, kernel = primals
    d_x, d_kernel = tangents
    out = fast_depthwise_xcorr(f_x, kernel, interpret)
    return out, xla_depthwise_xcorr(d_x, kernel) + xla_depthwise_xcorr(f_x, d_kernel)


def self_check_probe() -> tuple[np.ndarray, np.ndarray]:
    """The self-check's inputs: float32 F_x (2, 32, 32, 32) and F_z (2, 7, 7, 32), standard normal, fixed seed."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, 32, 32, 32)).astype(np.float32), rng.normal(size=(2, 7, 7, 32)).astype(np.float32)


def pallas_self_check(interpret: bool = False) -> tuple[bool, str]:
    """Runs the kernel once on a fixed probe and compares it with the XLA path at HIGHEST precision.

    Returns ``(passed, detail)``; passed when the kernel compiled, ran and its largest error is within
    ``SELF_CHECK_RTOL`` of the reference's largest magnitude; not passed, with the import error as the detail, where
    Pallas's Triton backend did not import (:func:`~automatch_jax.ops.xcorr_pallas.kernel_available`). Safe to call
    while tracing (``jax.jit``, ``vmap``, export): both sides are compiled ahead of time and run on host arrays,
    outside any trace.
    """
    importable, reason = kernel_available()
    if not importable:
        return False, reason
    x, k = self_check_probe()

    def run(fn) -> np.ndarray:
        return np.asarray(jax.jit(fn).lower(x, k).compile()(x, k))

    try:
        fast = run(functools.partial(pallas_depthwise_xcorr, interpret=interpret))
    except Exception as exc:  # a Pallas/Triton lowering or compile failure on this GPU or JAX version
        return False, f"{type(exc).__name__}: {exc}"
    reference = run(functools.partial(xla_depthwise_xcorr, precision=jax.lax.Precision.HIGHEST))
    error = float(np.max(np.abs(fast - reference)) / np.max(np.abs(reference)))
    if not np.isfinite(error) or error > SELF_CHECK_RTOL:
        return False, f"relative error {error:.3g} against XLA at HIGHEST precision (limit {SELF_CHECK_RTOL:g})"
    return True, f"relative error {error:.3g} against XLA at HIGHEST precision"


@functools.cache
def _self_check_once() -> bool:
    passed, detail = pallas_self_check()
    if passed:
        log.info("pallas depthwise xcorr enabled (%s)", detail)
    else:
        log.warning("pallas depthwise xcorr unavailable, using XLA (%s)", detail)
    return passed


def fast_path_available() -> bool:
    """True on a GPU backend where the Pallas kernel passed :func:`pallas_self_check` (run once per process).

    ``AUTOMATCH_XCORR=xla`` or ``shift`` disables it; ``AUTOMATCH_XCORR=pallas`` enables it without the check,
    except where Pallas's Triton backend did not import (then never: the XLA path, with the reason logged once).
    """
    choice = os.environ.get(ENV_SWITCH, "").lower()
    if choice in ("xla", "shift") or jax.default_backend() != "gpu":
        return False
    if choice == "pallas":
        return kernel_available()[0] or _self_check_once()
    return _self_check_once()


IMPLEMENTATIONS = ("auto", "xla", "shift", "pallas")


def auto_implementation() -> str:
    """What ``impl="auto"`` runs now: ``$AUTOMATCH_XCORR`` when it is ``xla`` or ``shift`` (read while tracing, so
    a caller can choose per traced function, as exports do per platform); else ``pallas`` on a GPU where the kernel
    passed its self-check (or ``AUTOMATCH_XCORR=pallas``), ``shift`` on CPU, ``xla`` elsewhere."""
    choice = os.environ.get(ENV_SWITCH, "").lower()
    if choice in ("xla", "shift"):
        return choice
    if fast_path_available():
        return "pallas"
    return "shift" if jax.default_backend() == "cpu" else "xla"


def depthwise_xcorr(f_x: jnp.ndarray, kernel: jnp.ndarray, impl: str = "auto") -> jnp.ndarray:
    """Depthwise cross-correlation (contract of :func:`xla_depthwise_xcorr`) by the fastest available path.

    ``impl="auto"``: :func:`auto_implementation`; ``"xla"``, ``"shift"`` or ``"pallas"`` force one (``"pallas"``
    off GPU runs the kernel in interpret mode, for tests). The Pallas path is differentiable to any order
    (:func:`fast_depthwise_xcorr`).
    """
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"unknown depthwise xcorr implementation {impl!r}; known: {', '.join(IMPLEMENTATIONS)}")
    chosen = auto_implementation() if impl == "auto" else impl
    if chosen == "shift":
        return shift_depthwise_xcorr(f_x, kernel)
    if chosen == "xla":
        return xla_depthwise_xcorr(f_x, kernel)
    return fast_depthwise_xcorr(f_x, kernel, jax.default_backend() != "gpu")


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
