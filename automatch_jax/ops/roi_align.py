"""ROI-align with torchvision's sampling convention, the op the AutoMatch authors call (``torchvision.ops.roi_align``
with ``spatial_scale = 1/8``, ``sampling_ratio = -1`` and the default ``aligned = False``).

For a box ``x0, y0, x1, y1`` (input pixels) and an output of P x P bins, per axis (y shown; x likewise):

    start = y0 * scale - offset            offset = 0.5 when ``aligned`` else 0
    length = (y1 - y0) * scale             at least 1 when not ``aligned``
    bin = length / P
    g = sampling_ratio if > 0 else ceil(length / P)          samples per bin along this axis
    y(p, i) = start + p * bin + (i + 0.5) * bin / g          i = 0 .. g - 1

Each sample is read bilinearly from the feature map with torchvision's border rule: a sample beyond
``[-1, H]`` reads 0; otherwise it is clamped to ``[0, H - 1]`` and interpolated between its two neighbouring cells.
Bin ``(p, q)`` is the mean of its ``g_y * g_x`` samples (empty bins count one sample).

Bilinear sampling on a separable grid is separable: the mean over the ``g_y x g_x`` samples of
``w_y(y) w_x(x) F[h, w]`` is ``sum_{h, w} Wy[p, h] Wx[q, w] F[h, w]`` with ``Wy[p, h]`` the mean over the bin's
y samples of their interpolation weight on row ``h``. So the op is two small weight matrices per box and two
contractions, exact for any box size, with static shapes (``jit``/``vmap`` work). The number of samples per bin
depends on the box, so the weights are built per cell instead of per sample: a sample reaches cell ``h`` only from
``[h - 1, h + 1]`` (clamped samples included), and with the adaptive ratio a bin of two or more samples spaces them
more than half a cell apart, so at most four of its samples lie there; six candidates from the first one cover them
(a bin of one sample has it among them). A fixed ``sampling_ratio`` uses its samples directly.

Gradients flow to the features; box coordinates are treated as constants (``stop_gradient``), as torchvision's
backward gives no gradient to the boxes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

BOX_CHUNK = 128
"""Boxes pooled at once (:func:`roi_align`); on a CPU larger intermediates fall out of the caches."""
CELL_CANDIDATES = 6
"""Samples of a bin examined per cell with the adaptive ratio (at most four can reach a cell; see the module docs)."""


def _axis_weights(
    start: jnp.ndarray, length: jnp.ndarray, size: int, pooled: int, sampling_ratio: int
) -> jnp.ndarray:
    """(...,) bin-grid start and extent along one axis, in feature cells -> (..., pooled, size) the mean interpolation
    weight of each bin's samples on each of the ``size`` cells of that axis."""
    bin_size = length / pooled
    grid = jnp.full_like(length, float(sampling_ratio)) if sampling_ratio > 0 else jnp.ceil(length / pooled)
    safe_grid = jnp.maximum(grid, 1.0)
    step = bin_size / safe_grid  # (...,) distance between a bin's samples
    bin_start = start[..., None] + jnp.arange(pooled, dtype=start.dtype) * bin_size[..., None]  # (..., P)
    cells = jnp.arange(size, dtype=start.dtype)
    if sampling_ratio > 0:  # (J,): every sample of the bin, for every cell (broadcast below)
        index = jnp.arange(sampling_ratio, dtype=start.dtype)
    else:  # (..., P, size, J): the candidates of each cell, from the first sample at or above h - 1 (one earlier)
        safe_step = jnp.where(step > 0, step, 1.0)[..., None, None]
        first = jnp.ceil((cells - 1.0 - bin_start[..., None]) / safe_step - 0.5) - 1.0
        first = jnp.clip(first, 0.0, float(2**20))
        index = first[..., None] + jnp.arange(CELL_CANDIDATES, dtype=start.dtype)
    y = bin_start[..., None, None] + (index + 0.5) * step[..., None, None, None]
    used = (index < grid[..., None, None, None]) & (y >= -1.0) & (y <= size)
    clamped = jnp.clip(y, 0.0, size - 1.0)
    hat = jnp.maximum(1.0 - jnp.abs(clamped - cells[:, None]), 0.0)  # (..., P, size, J)
    weights = jnp.sum(jnp.where(used, hat, 0.0), axis=-1)
    return weights / safe_grid[..., None, None]


def roi_align(
    features: jnp.ndarray,
    boxes: jnp.ndarray,
    output_size: int,
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
    box_chunk: int = BOX_CHUNK,
) -> jnp.ndarray:
    """ROI-align of K boxes per sample: (B, H, W, C) features, (B, K, 4) boxes ``x0, y0, x1, y1`` in input pixels
    -> (B, K, P, P, C) with P = ``output_size``.

    ``spatial_scale`` maps input pixels to feature cells (feature cell ``h`` sits at ``h / spatial_scale``);
    ``sampling_ratio`` and ``aligned`` as in ``torchvision.ops.roi_align`` (see the module docstring). More than
    ``box_chunk`` boxes are pooled ``box_chunk`` at a time (a loop that keeps the (B, chunk, P, H, C) intermediate
    small); the result does not depend on it.
    """
    if features.ndim != 4 or boxes.ndim != 3 or boxes.shape[-1] != 4 or boxes.shape[0] != features.shape[0]:
        raise ValueError(f"roi_align: features {features.shape} and boxes {boxes.shape} are not (B,H,W,C), (B,K,4)")
    boxes = jax.lax.stop_gradient(boxes).astype(jnp.float32)
    b, k = boxes.shape[:2]
    if not isinstance(k, int) or k <= box_chunk:  # a symbolic K (a shape-polymorphic export) in one pass
        return _pool(features, boxes, output_size, spatial_scale, sampling_ratio, aligned)
    chunks = -(-k // box_chunk)
    padded = jnp.pad(boxes, ((0, 0), (0, chunks * box_chunk - k), (0, 0)))
    padded = padded.reshape(b, chunks, box_chunk, 4).transpose(1, 0, 2, 3)
    pooled = jax.lax.map(lambda part: _pool(features, part, output_size, spatial_scale, sampling_ratio, aligned),
                         padded)  # (chunks, B, chunk, P, P, C)
    pooled = jnp.moveaxis(pooled, 0, 1).reshape((b, chunks * box_chunk, *pooled.shape[3:]))
    return pooled[:, :k]


def _pool(
    features: jnp.ndarray, boxes: jnp.ndarray, output_size: int, spatial_scale: float, sampling_ratio: int,
    aligned: bool,
) -> jnp.ndarray:
    """:func:`roi_align` of (B, K, 4) float32 boxes at once (no chunks)."""
    _, height, width, _ = features.shape
    offset = 0.5 if aligned else 0.0
    x0, y0, x1, y1 = (boxes[..., k] * spatial_scale - offset for k in range(4))
    w, h = x1 - x0, y1 - y0
    if not aligned:
        w, h = jnp.maximum(w, 1.0), jnp.maximum(h, 1.0)
    wy = _axis_weights(y0, h, height, output_size, sampling_ratio).astype(features.dtype)  # (B, K, P, H)
    wx = _axis_weights(x0, w, width, output_size, sampling_ratio).astype(features.dtype)  # (B, K, P, W)
    rows = jnp.einsum("bkqw,bhwc->bkqhc", wx, features)
    return jnp.einsum("bkph,bkqhc->bkpqc", wy, rows)
