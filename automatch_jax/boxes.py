"""Box formats and the conversions between them, for numpy and JAX arrays alike.

- ``xywh``: ``x, y, w, h``, the top-left corner and the size (benchmark annotations, the tracker's API);
- ``xyxy``: ``x0, y0, x1, y1``, the top-left and bottom-right corners (crops, training labels, decoding);
- ``cxcywh``: ``cx, cy, w, h``, the centre and the size (the tracker's state).

Every function maps (..., 4) to (..., 4) along the last axis. numpy inputs (and lists) come back as float64 numpy
arrays; JAX arrays stay JAX arrays of their dtype, so the functions also run inside ``jit``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _split(box: Any) -> tuple[Any, Any, Any]:
    """The array (float64 numpy unless JAX), its first pair and its second pair along the last axis."""
    if not isinstance(box, jax.Array):
        box = np.asarray(box, dtype=np.float64)
    if box.shape[-1:] != (4,):
        raise ValueError(f"a box has 4 numbers on its last axis, not shape {tuple(box.shape)}")
    return box, box[..., :2], box[..., 2:]


def _join(like: Any, first: Any, second: Any) -> Any:
    xp = jnp if isinstance(like, jax.Array) else np
    return xp.concatenate([first, second], axis=-1)


def xywh_to_xyxy(box: Any) -> Any:
    """(..., 4) ``x, y, w, h`` -> (..., 4) ``x0, y0, x1, y1`` (``x1 = x + w``)."""
    box, corner, size = _split(box)
    return _join(box, corner, corner + size)


def xyxy_to_xywh(box: Any) -> Any:
    """(..., 4) ``x0, y0, x1, y1`` -> (..., 4) ``x, y, w, h`` (``w = x1 - x0``)."""
    box, low, high = _split(box)
    return _join(box, low, high - low)


def xywh_to_cxcywh(box: Any) -> Any:
    """(..., 4) ``x, y, w, h`` -> (..., 4) ``cx, cy, w, h`` (``cx = x + w / 2``)."""
    box, corner, size = _split(box)
    return _join(box, corner + size / 2, size)


def cxcywh_to_xywh(box: Any) -> Any:
    """(..., 4) ``cx, cy, w, h`` -> (..., 4) ``x, y, w, h`` (``x = cx - w / 2``)."""
    box, centre, size = _split(box)
    return _join(box, centre - size / 2, size)


def xyxy_to_cxcywh(box: Any) -> Any:
    """(..., 4) ``x0, y0, x1, y1`` -> (..., 4) ``cx, cy, w, h`` (``cx = (x0 + x1) / 2``)."""
    box, low, high = _split(box)
    return _join(box, (low + high) / 2, high - low)


def cxcywh_to_xyxy(box: Any) -> Any:
    """(..., 4) ``cx, cy, w, h`` -> (..., 4) ``x0, y0, x1, y1`` (``x0 = cx - w / 2``)."""
    box, centre, size = _split(box)
    return _join(box, centre - size / 2, centre + size / 2)


def iou_xywh(a: Any, b: Any) -> np.ndarray:
    """(...) IoU of (..., 4) ``x, y, w, h`` boxes, elementwise with broadcasting (numpy, float64); 0 where the union
    is empty. The benchmarks' toolkit-exact IoU (clipping, epsilon) is :func:`automatch_jax.eval.metrics.box_iou`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    x0, y0 = np.maximum(a[..., 0], b[..., 0]), np.maximum(a[..., 1], b[..., 1])
    x1 = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2])
    y1 = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
