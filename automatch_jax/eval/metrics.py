"""Per-frame tracking metrics and the curves built from them, in plain vectorised numpy.

Boxes are ``(N, 4)`` arrays of ``x, y, w, h``. Conventions follow the got10k toolkit (which follows the OTB
MATLAB toolkit): a box's centre is ``x + (w - 1) / 2``; IoU is the continuous-area ratio (OTB's ``calcRectInt``
with its ``+1`` pixel convention gives the same intersection, and the same areas ``w * h``).
"""

from __future__ import annotations

import numpy as np

from automatch_jax.boxes import intersection_union

OVERLAP_THRESHOLDS = np.linspace(0.0, 1.0, 21)
"""(21,) IoU thresholds of the success curve: 0, 0.05, ..., 1 (success counts IoU strictly above)."""

CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
"""(51,) centre-error thresholds of the precision curve in pixels: 0, 1, ..., 50 (precision counts <=)."""

NORM_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
"""(51,) normalised centre-error thresholds: 0, 0.01, ..., 0.5 (LaSOT / TrackingNet)."""

PRECISION_INDEX = 20
"""Index of 20 px in CENTER_THRESHOLDS and of 0.2 in NORM_CENTER_THRESHOLDS: the reported precisions."""


def clip_boxes(boxes: np.ndarray, bound: tuple[float, float]) -> np.ndarray:
    """(N, 4) boxes clipped to an image of ``bound = (width, height)`` as the got10k toolkit clips them.

    The left/top edge is clipped to [0, W] / [0, H] first, then the size to what is left of the image.
    Returns a new array.
    """
    out = np.array(boxes, dtype=np.float64, copy=True)
    width, height = float(bound[0]), float(bound[1])
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def box_iou(
    boxes: np.ndarray,
    gt: np.ndarray,
    bound: tuple[float, float] | None = None,
    eps: float = float(np.finfo(np.float64).eps),
) -> np.ndarray:
    """(N,) intersection over union of two (N, 4) box arrays, in [0, 1].

    With ``bound = (width, height)`` both are first clipped to the image (GOT-10k). A tiny epsilon in the
    union (``np.finfo(float).eps``, as the got10k toolkit) makes two empty boxes score 0 instead of NaN;
    ``eps=0`` (pysot) leaves NaN there, which is never a success.
    """
    a = np.asarray(boxes, dtype=np.float64)
    b = np.asarray(gt, dtype=np.float64)
    if bound is not None:
        a, b = clip_boxes(a, bound), clip_boxes(b, bound)
    inter, union = intersection_union(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(inter / (union + eps), 0.0, 1.0)


def box_centers(boxes: np.ndarray) -> np.ndarray:
    """(N, 2) centres ``x + (w - 1) / 2, y + (h - 1) / 2`` (the OTB/got10k pixel convention)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) ``sqrt(dx^2 + dy^2)`` of two (N, 2) point arrays, summed in the toolkits' order (not ``hypot``,
    whose last bit can differ and move an error that lies exactly on a threshold to its other side)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])


def center_error(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) Euclidean distance in pixels between the centres of two (N, 4) box arrays."""
    return distance(box_centers(boxes), box_centers(gt))


def normalized_center_error(boxes: np.ndarray, gt: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """(N,) centre distance in units of the ground truth's size (LaSOT toolkit, pysot, pytracking).

    As those toolkits compute it: each centre is first divided by the ground truth's ``w + eps`` and ``h + eps``,
    then the distance is taken (dividing the difference instead can put a tie at a threshold k/100 on the other
    side). A zero-size ground truth gives ``inf`` (never a success).
    """
    gt = np.asarray(gt, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = gt[:, 2:] + eps
        error = distance(box_centers(boxes) / size, box_centers(gt) / size)
    return np.where(np.isfinite(error), error, np.inf)


def success_curve(
    ious: np.ndarray, denominator: int | None = None, thresholds: np.ndarray = OVERLAP_THRESHOLDS
) -> np.ndarray:
    """(T,) fraction of frames whose IoU is strictly above each threshold (NaN IoUs never count).

    ``denominator`` defaults to ``len(ious)``; the LaSOT toolkit divides by the full sequence length while
    counting only visible frames. An empty input gives zeros.
    """
    return _rate(np.asarray(ious, dtype=np.float64)[:, None] > thresholds[None, :], denominator)


def precision_curve(
    errors: np.ndarray, thresholds: np.ndarray = CENTER_THRESHOLDS, denominator: int | None = None
) -> np.ndarray:
    """(T,) fraction of frames whose centre error is at most each threshold (NaN errors never count)."""
    return _rate(np.asarray(errors, dtype=np.float64)[:, None] <= thresholds[None, :], denominator)


def _rate(hits: np.ndarray, denominator: int | None) -> np.ndarray:
    n = hits.shape[0] if denominator is None else denominator
    if n == 0:
        return np.zeros(hits.shape[1])
    return hits.sum(axis=0) / float(n)


def area_under_curve(curve: np.ndarray) -> float:
    """The success score: the mean of the success curve over its equally spaced thresholds (OTB's AUC)."""
    return float(np.mean(curve))


def fps_from_times(times: np.ndarray) -> float | None:
    """Frames per second ``mean(1 / t)`` over the positive finite per-frame times, None if there are none.

    This is the got10k toolkit's definition (the mean of per-frame speeds, not frames over total time).
    """
    times = np.asarray(times, dtype=np.float64).ravel()
    times = times[np.isfinite(times) & (times > 0)]
    if times.size == 0:
        return None
    return float(np.mean(1.0 / times))


def polygon_area(polygons: np.ndarray) -> np.ndarray:
    """(N,) areas of (N, 2K) polygons ``x1, y1, ..., xK, yK`` (shoelace formula, absolute value)."""
    p = np.asarray(polygons, dtype=np.float64)
    x, y = p[:, 0::2], p[:, 1::2]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))


def box_polygon_iou(boxes: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """(N,) IoU of axis-aligned boxes (N, 4) with convex polygons (N, 2K) such as VOT's rotated rectangles.

    The intersection is the polygon clipped by the box (Sutherland-Hodgman against the box's four edges),
    computed exactly for convex polygons given in either winding order.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    polygons = np.asarray(polygons, dtype=np.float64)
    ious = np.zeros(len(boxes))
    for i, (box, polygon) in enumerate(zip(boxes, polygons, strict=True)):
        points = polygon.reshape(-1, 2)
        x0, y0, w, h = box
        clipped = _clip_polygon(points, x0, y0, x0 + w, y0 + h)
        inter = polygon_area(clipped.reshape(1, -1))[0] if len(clipped) >= 3 else 0.0
        union = w * h + polygon_area(polygon[None])[0] - inter
        ious[i] = inter / union if union > 0 else 0.0
    return np.clip(ious, 0.0, 1.0)


def _clip_polygon(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Clips a polygon (K, 2) to the rectangle [x0, x1] x [y0, y1] (Sutherland-Hodgman)."""
    # Each edge: (axis, limit, keep_greater)
    for axis, limit, keep_greater in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if len(points) == 0:
            break
        inside = points[:, axis] >= limit if keep_greater else points[:, axis] <= limit
        out = []
        for j in range(len(points)):
            current, previous = points[j], points[j - 1]
            cur_in, prev_in = inside[j], inside[j - 1]
            if cur_in != prev_in:
                t = (limit - previous[axis]) / (current[axis] - previous[axis])
                out.append(previous + t * (current - previous))
            if cur_in:
                out.append(current)
        points = np.asarray(out, dtype=np.float64).reshape(-1, 2)
    return points
