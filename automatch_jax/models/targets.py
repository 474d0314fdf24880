"""Training targets of the AutoMatch network, as the authors' data builder makes them (JudasDie/SOTS
``lib/dataset/siamese_builder.py``), from the search-crop target box and the pair's kind:

- classification (stage 1): a diamond of L1 radius 2 cells (13 positives) around the cell of the target centre,
  all zeros for a negative pair;
- regression: distances ``l, t, r, b`` from every cell to the box sides, weighted on every cell inside the box,
  negative pairs included (their box is the other object's);
- stage 2: 96 jittered copies of the box (one corner fixed, the others moved by 4, 8, 12 or 16 pixels), clipped to
  the crop, each with its IoU to the box as a soft label;
- the template's pixel mask (the box's pixels in the exemplar crop), resized to the template map for the
  transductive-guidance operator.

All positions come from :class:`~automatch_jax.models.geometry.ScoreGeometry`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from automatch_jax.models.geometry import ScoreGeometry, make_targets

DIAMOND_RADIUS = 2
JITTER_STEPS = (4.0, 8.0, 12.0, 16.0)

# For each fixed corner, the two coordinates of the opposite corner that move (indices into x0, y0, x1, y1):
# (x0, y0) fixed: x1, y1; (x1, y0): x0, y1; (x1, y1): x0, y0; (x0, y1): x1, y0.
_MOVING = ((2, 3), (0, 3), (0, 1), (2, 1))


def jitter_offsets() -> np.ndarray:
    """(96, 4) offsets of the jittered boxes: per fixed corner, +d and -d on the first moving coordinate, on the
    second, and on both together, for d in :data:`JITTER_STEPS` (4 corners x 6 moves x 4 steps)."""
    steps = np.asarray(JITTER_STEPS)
    rows = []
    for first, second in _MOVING:
        for coords in ((first,), (second,), (first, second)):
            for sign in (1.0, -1.0):
                block = np.zeros((len(steps), 4))
                block[:, list(coords)] = sign * steps[:, None]
                rows.append(block)
    return np.concatenate(rows).astype(np.float32)


def soft_iou(boxes: jnp.ndarray, reference: jnp.ndarray) -> jnp.ndarray:
    """The authors' IoU soft label: (..., K, 4) boxes against (..., 4) -> (..., K) ``I / (|A + B - I| + 1)``, and 0
    where that exceeds 1."""
    reference = reference[..., None, :]
    w = jnp.maximum(jnp.minimum(boxes[..., 2], reference[..., 2]) - jnp.maximum(boxes[..., 0], reference[..., 0]), 0)
    h = jnp.maximum(jnp.minimum(boxes[..., 3], reference[..., 3]) - jnp.maximum(boxes[..., 1], reference[..., 1]), 0)
    inter = w * h
    area_b = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    area_r = (reference[..., 2] - reference[..., 0]) * (reference[..., 3] - reference[..., 1])
    iou = inter / (jnp.abs(area_r + area_b - inter) + 1.0)
    return jnp.where(iou > 1.0, 0.0, iou)


def jittered_boxes(boxes: jnp.ndarray, crop_size: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(B, 4) boxes ``x0, y0, x1, y1`` -> (B, 96, 4) jittered boxes clipped to ``[0, crop_size]`` and their (B, 96)
    IoU soft labels (:func:`soft_iou`)."""
    jittered = jnp.clip(boxes[:, None, :] + jnp.asarray(jitter_offsets()), 0.0, float(crop_size))
    return jittered, soft_iou(jittered, boxes)


def diamond_labels(geometry: ScoreGeometry, boxes: jnp.ndarray, positive: jnp.ndarray) -> jnp.ndarray:
    """(B, S, S) 1/0 stage-1 labels: cells within L1 distance :data:`DIAMOND_RADIUS` of the centre cell, 0 for negative
    pairs. The centre cell is the crop's centre cell moved by the target centre's displacement from the crop centre,
    in whole strides truncated towards zero (the authors' ``int(-shift / 8)``)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (B, 2) x, y
    moved = jnp.trunc((centre - (geometry.search_size - 1) / 2) / geometry.stride)
    k = geometry.centre_cell + moved
    cells = jnp.arange(geometry.score_size, dtype=jnp.float32)
    distance = jnp.abs(cells[None, :, None] - k[:, 1, None, None]) + jnp.abs(cells[None, None, :] - k[:, 0, None, None])
    return (distance <= DIAMOND_RADIUS).astype(jnp.float32) * positive[:, None, None].astype(jnp.float32)


def automatch_targets(geometry: ScoreGeometry, boxes: jnp.ndarray, positive: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """Every training target for (B, 4) search-crop boxes and (B,) pair kinds (1 positive, 0 negative).

    Returns ``cls`` (B, S, S) diamond labels, ``reg`` (B, S, S, 4) pixel distances, ``reg_weight`` (B, S, S) 1 inside
    the box (every pair), ``jitter_boxes`` (B, 96, 4) and ``jitter_iou`` (B, 96) (every pair, as the authors).
    """
    boxes = jnp.asarray(boxes, jnp.float32)
    regression = make_targets(geometry, boxes, jnp.ones(boxes.shape[0]))
    jitter, iou = jittered_boxes(boxes, geometry.search_size)
    return {
        "cls": diamond_labels(geometry, boxes, positive),
        "reg": regression["reg"],
        "reg_weight": regression["reg_weight"],
        "jitter_boxes": jitter,
        "jitter_iou": iou,
    }


def template_pixel_mask(boxes: jnp.ndarray, size: int) -> jnp.ndarray:
    """(B, 4) exemplar-crop boxes -> (B, size, size) 0/1 mask of the box's pixels: rows ``int(y0)`` up to
    ``ceil(y1 + 1)`` (exclusive), columns likewise (the authors' ``te_mask``), clipped to the crop."""
    index = jnp.arange(size, dtype=jnp.float32)

    def span(lo: jnp.ndarray, hi: jnp.ndarray) -> jnp.ndarray:
        return (index[None, :] >= jnp.trunc(lo)[:, None]) & (index[None, :] < jnp.ceil(hi + 1.0)[:, None])

    rows, cols = span(boxes[:, 1], boxes[:, 3]), span(boxes[:, 0], boxes[:, 2])
    return (rows[:, :, None] & cols[:, None, :]).astype(jnp.float32)


def _align_corners_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) linear interpolation with the end samples on the end pixels (``align_corners=True``)."""
    scale = (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
    source = np.arange(size_out) * scale
    low = np.clip(np.floor(source).astype(int), 0, size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = source - low
    matrix = np.zeros((size_out, size_in), np.float32)
    matrix[np.arange(size_out), low] += 1.0 - frac
    matrix[np.arange(size_out), high] += frac
    return matrix


def resize_mask(mask: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """(B, H, W) -> (B, height, width) bilinear with aligned corners (PyTorch's ``Upsample(align_corners=True)``,
    which the authors' transductive guidance applies to the 127x127 template mask)."""
    rows = jnp.asarray(_align_corners_matrix(mask.shape[1], height))
    cols = jnp.asarray(_align_corners_matrix(mask.shape[2], width))
    return jnp.einsum("ih,bhw,jw->bij", rows, mask, cols)
