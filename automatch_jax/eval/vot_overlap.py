"""VOT's region overlap, as the VOT toolkit computes it: on pixels, inside the image.

The VOT stacks (and vot-toolkit's ``calculate_overlap``) do not use the continuous IoU: both regions are stored
in float32 and rounded to whole pixels, rasterised to masks over the union of their bounding boxes clipped to the
image, and the overlap is the ratio of the masks' intersection and union pixel counts. Rasterisation differs by
shape: a rectangle ``x, y, w, h`` covers the pixel columns ``x .. x + w - 1``, a polygon is filled by a scan line
that includes its right and bottom edges (so a rectangle written as a polygon covers one more row and column).
Two regions whose union is empty (or one pixel thin) overlap 1 by definition; regions that are only outside the
image overlap 0.

Here the masks are never built: each region is reduced to at most two filled pixel intervals per row, all rows
of all frames at once, and the counts follow from interval lengths (so a sequence costs a few array operations).
"""

from __future__ import annotations

import dataclasses

import numpy as np

EMPTY, RECTANGLE, POLYGON = 0, 1, 2
"""Region kinds: no region (VOT's special codes, missing annotation), an ``x, y, w, h`` rectangle, a
4-corner polygon ``x1, y1, ..., x4, y4``."""

_FAR = np.int64(2**40)


@dataclasses.dataclass(frozen=True)
class Regions:
    """N regions, one per frame.

    Attributes:
      kind: (N,) int8, :data:`EMPTY`, :data:`RECTANGLE` or :data:`POLYGON`.
      values: (N, 8) float64: ``x, y, w, h`` in the first 4 columns of a rectangle, the 4 corners of a polygon,
        ignored for an empty region.
    """

    kind: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def __getitem__(self, index: slice | np.ndarray) -> Regions:
        return Regions(self.kind[index], self.values[index])

    @staticmethod
    def from_boxes(boxes: np.ndarray) -> Regions:
        """(N, 4) ``x, y, w, h`` rectangles; a row holding NaN is an empty region."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        finite = np.isfinite(boxes).all(axis=1)
        values = np.zeros((len(boxes), 8))
        values[finite, :4] = boxes[finite]
        return Regions(np.where(finite, RECTANGLE, EMPTY).astype(np.int8), values)

    @staticmethod
    def from_polygons(polygons: np.ndarray) -> Regions:
        """(N, 8) 4-corner polygons; a row holding NaN is an empty region."""
        polygons = np.asarray(polygons, dtype=np.float64).reshape(-1, 8)
        finite = np.isfinite(polygons).all(axis=1)
        values = np.where(finite[:, None], polygons, 0.0)
        return Regions(np.where(finite, POLYGON, EMPTY).astype(np.int8), values)

    @staticmethod
    def from_annotation(gt: np.ndarray, polygons: np.ndarray | None, rectangle: np.ndarray | None) -> Regions:
        """A sequence's ground truth as VOT reads it: the frames flagged ``rectangle`` (written ``x,y,w,h``;
        NaN there means ``0,0,0,0``) from ``gt``, the others from ``polygons`` (all from ``gt`` without them)."""
        gt = np.asarray(gt, dtype=np.float64)
        if polygons is None:
            return Regions.from_boxes(gt)
        regions = Regions.from_polygons(polygons)
        if rectangle is not None and np.any(rectangle):
            rect = np.asarray(rectangle, dtype=bool)
            kind, values = regions.kind.copy(), regions.values.copy()
            kind[rect] = RECTANGLE
            values[rect] = 0.0
            values[rect, :4] = np.nan_to_num(gt[rect], nan=0.0)
            regions = Regions(kind, values)
        return regions


def _pixels(regions: Regions) -> np.ndarray:
    """(N, 8) float64 values as VOT holds them: float32, then rounded to whole pixels (half to even)."""
    return np.round(regions.values.astype(np.float32)).astype(np.float64)


def _bounds(kind: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(N, 4) int64 ``left, top, right, bottom`` pixel bounds of each region (0, 0, 0, 0 when empty)."""
    bounds = np.zeros((len(kind), 4), dtype=np.int64)
    rect = kind == RECTANGLE
    x, y, w, h = pixels[rect, :4].T
    bounds[rect] = np.stack([x, y, x + w - 1, y + h - 1], axis=1).astype(np.int64)
    poly = kind == POLYGON
    xs, ys = pixels[poly, 0::2], pixels[poly, 1::2]
    bounds[poly] = np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1).astype(np.int64)
    return bounds


def _rectangle_rows(
    pixels: np.ndarray, row: np.ndarray, frame: np.ndarray, raster: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end column (relative to the raster) of a rectangle on each row; start > end: no pixel."""
    x, y, w, h = (pixels[frame, i] for i in range(4))
    left_abs, top_abs, right_abs, bottom_abs = (raster[frame, i] for i in range(4))
    width, height = size[frame, 0], size[frame, 1]
    outside = (x > right_abs) | (x + w - 1 < left_abs) | (y > bottom_abs) | (y + h - 1 < top_abs)
    left = np.maximum(0, x - left_abs)
    top = np.maximum(0, y - top_abs)
    right = np.minimum(np.minimum(right_abs, x + w - 1 - left_abs), width - 1)
    bottom = np.minimum(np.minimum(bottom_abs, y + h - 1 - top_abs), height - 1)
    covered = ~outside & (row >= top) & (row <= bottom) & (left <= right)
    return np.where(covered, left, 0).astype(np.int64), np.where(covered, right, -1).astype(np.int64)


def _polygon_rows(
    pixels: np.ndarray, row: np.ndarray, frame: np.ndarray, raster: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Up to two (start, end) column intervals of a polygon on each row, (R, 2) each, as VOT's scan line fills
    them: one node per edge spanning the row (truncated to an integer), nodes sorted, pairs filled, a repeated
    node skipped unless it is the last pair, nodes clamped to the raster."""
    xs = pixels[frame, 0::2] - raster[frame, 0:1]
    ys = pixels[frame, 1::2] - raster[frame, 1:2]
    width = size[frame, 0]
    y = row.astype(np.float64)[:, None]
    xj, yj = np.roll(xs, 1, axis=1), np.roll(ys, 1, axis=1)  # edge i runs from corner i - 1 to corner i
    spans = (np.minimum(ys, yj) <= y) & (y <= np.maximum(ys, yj))
    rise, run = yj - ys, xj - xs
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(rise != 0, xs + (y - ys) / rise * run, xs)
    nodes = np.where(spans, np.trunc(np.where(spans, crossing, 0.0)).astype(np.int64), _FAR)
    nodes.sort(axis=1)
    count = spans.sum(axis=1)
    starts = np.zeros((len(row), 2), dtype=np.int64)
    ends = np.full((len(row), 2), -1, dtype=np.int64)
    slot = np.zeros(len(row), dtype=np.int64)
    index = np.zeros(len(row), dtype=np.int64)
    active = np.ones(len(row), dtype=bool)
    rows = np.arange(len(row))
    for _ in range(nodes.shape[1]):
        step = active & (index < count - 1)
        if not step.any():
            break
        first = nodes[rows, np.minimum(index, 3)]
        second = nodes[rows, np.minimum(index + 1, 3)]
        stop = step & (first >= width)
        active &= ~stop
        step &= ~stop
        repeat = step & (first == second) & (index < count - 2)
        fill = step & ~repeat
        drawn = fill & (second >= 0)
        where = rows[drawn]
        starts[where, slot[drawn]] = np.maximum(first[drawn], 0)
        ends[where, slot[drawn]] = np.minimum(second[drawn], width[drawn] - 1)
        slot[drawn] += 1
        index += np.where(repeat, 1, np.where(fill, 2, 0))
    return starts, ends


def _row_intervals(
    regions: Regions, pixels: np.ndarray, row: np.ndarray, frame: np.ndarray, raster: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(R, 2) disjoint start/end columns of the pixels a region fills on each raster row."""
    starts = np.zeros((len(row), 2), dtype=np.int64)
    ends = np.full((len(row), 2), -1, dtype=np.int64)
    kind = regions.kind[frame]
    rect = kind == RECTANGLE
    if rect.any():
        starts[rect, 0], ends[rect, 0] = _rectangle_rows(pixels, row[rect], frame[rect], raster, size)
    poly = kind == POLYGON
    if poly.any():
        starts[poly], ends[poly] = _polygon_rows(pixels, row[poly], frame[poly], raster, size)
    # The two intervals of a row may share their meeting pixel: count it once.
    both = (ends[:, 0] >= starts[:, 0]) & (ends[:, 1] >= starts[:, 1])
    starts[:, 1] = np.where(both, np.maximum(starts[:, 1], ends[:, 0] + 1), starts[:, 1])
    return starts, ends


def region_overlaps(a: Regions, b: Regions, image_size: tuple[int, int] | None) -> np.ndarray:
    """(N,) VOT overlap of the regions ``a[i]`` and ``b[i]`` inside an image of ``image_size = (width, height)``
    (no bound when None), in [0, 1]: exactly vot-toolkit's ``calculate_overlaps(a, b, image_size)``."""
    n = len(a)
    pixels_a, pixels_b = _pixels(a), _pixels(b)
    bounds_a, bounds_b = _bounds(a.kind, pixels_a), _bounds(b.kind, pixels_b)
    union = np.concatenate(
        [np.minimum(bounds_a[:, :2], bounds_b[:, :2]), np.maximum(bounds_a[:, 2:], bounds_b[:, 2:])], axis=1
    )
    overlaps = np.zeros(n)
    identical = (union[:, 0] >= union[:, 2]) | (union[:, 1] >= union[:, 3])
    overlaps[identical] = 1.0
    raster = union.copy()
    if image_size is not None:
        raster[:, :2] = np.maximum(raster[:, :2], 0)
        raster[:, 2] = np.minimum(raster[:, 2], int(image_size[0]) - 1)
        raster[:, 3] = np.minimum(raster[:, 3], int(image_size[1]) - 1)
    todo = ~identical & (raster[:, 0] < raster[:, 2]) & (raster[:, 1] < raster[:, 3])
    if not todo.any():
        return overlaps
    size = raster[:, 2:] - raster[:, :2] + 1  # (width, height) of each raster
    frames = np.flatnonzero(todo)
    heights = size[frames, 1]
    frame = np.repeat(frames, heights)
    row = np.arange(len(frame)) - np.repeat(np.cumsum(heights) - heights, heights)
    starts_a, ends_a = _row_intervals(a, pixels_a, row, frame, raster, size)
    starts_b, ends_b = _row_intervals(b, pixels_b, row, frame, raster, size)
    area_a = np.maximum(ends_a - starts_a + 1, 0).sum(axis=1)
    area_b = np.maximum(ends_b - starts_b + 1, 0).sum(axis=1)
    common = sum(
        np.maximum(
            np.minimum(ends_a[:, i], ends_b[:, j]) - np.maximum(starts_a[:, i], starts_b[:, j]) + 1, 0
        )
        for i in range(2)
        for j in range(2)
    )
    inter = np.bincount(frame, weights=common, minlength=n)[frames]
    union_pixels = np.bincount(frame, weights=area_a + area_b - common, minlength=n)[frames]
    with np.errstate(invalid="ignore", divide="ignore"):
        overlaps[frames] = np.where(union_pixels > 0, inter / union_pixels, 0.0)
    return overlaps
