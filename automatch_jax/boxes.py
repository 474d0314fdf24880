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


def intersection_union(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """(...) intersection and (...) union areas of (..., 4) ``x, y, w, h`` boxes, elementwise with broadcasting
    (numpy, float64): the one overlap computation under :func:`iou_xywh` and the benchmarks' toolkit-exact IoU
    (:func:`automatch_jax.eval.metrics.box_iou`, which adds their clipping and epsilon)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    low = np.maximum(a[..., :2], b[..., :2])
    high = np.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    size = np.maximum(high - low, 0)
    inter = size[..., 0] * size[..., 1]
    return inter, a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter


def iou_xywh(a: Any, b: Any) -> np.ndarray:
    """(...) IoU of (..., 4) ``x, y, w, h`` boxes, elementwise with broadcasting (numpy, float64); 0 where the union
    is empty."""
    inter, union = intersection_union(a, b)
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
