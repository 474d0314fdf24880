"""Square crops around a target, shared by training (pair sampling) and tracking, and their coordinate maps.

Frame coordinates are continuous with pixel ``i`` covering ``[i, i + 1)`` (so a box ``x, y, w, h`` has its centre
at ``x + w / 2``). Crop coordinates put pixel centres at integers ``0 .. out - 1`` (the convention of
:class:`automatch_jax.models.geometry.ScoreGeometry`), so the crop centre is ``(out - 1) / 2``. A crop of side
``side`` frame pixels around centre ``c`` maps frame point ``p`` to ``(p - c) * out / side + (out - 1) / 2``.
"""

from __future__ import annotations

import dataclasses

import cv2
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class CropWindow:
    """A square window of ``side`` frame pixels centred on ``(cx, cy)``, resampled to ``out`` x ``out``."""

    cx: float
    cy: float
    side: float
    out: int

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return self.out / self.side

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """(..., 2k) frame ``x, y, x, y ...`` -> the same points in crop coordinates."""
        points = np.asarray(points, dtype=np.float64)
        centre = np.tile([self.cx, self.cy], points.shape[-1] // 2)
        return (points - centre) * self.scale + (self.out - 1) / 2

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_crop`."""
        points = np.asarray(points, dtype=np.float64)
        centre = np.tile([self.cx, self.cy], points.shape[-1] // 2)
        return (points - (self.out - 1) / 2) / self.scale + centre

    def affine(self) -> np.ndarray:
        """(2, 3) matrix mapping crop pixel centres to frame pixel centres (for ``cv2.WARP_INVERSE_MAP``)."""
        a = 1.0 / self.scale
        # frame pixel-centre coordinate = frame coordinate - 0.5
        bx = self.cx - 0.5 - (self.out - 1) / 2 * a
        by = self.cy - 0.5 - (self.out - 1) / 2 * a
        return np.array([[a, 0.0, bx], [0.0, a, by]])


def crop(frame: np.ndarray, window: CropWindow, fill: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) uint8/float frame -> (out, out, 3) float32 crop; outside the frame is ``fill`` (default: the
    frame's mean colour, as SiamFC and Ocean pad)."""
    if fill is None:
        fill = frame.reshape(-1, frame.shape[-1]).mean(axis=0)
    out = cv2.warpAffine(
        frame,
        window.affine(),
        (window.out, window.out),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(v) for v in np.broadcast_to(fill, (frame.shape[-1],))),
    )
    return out.astype(np.float32)


def context_side(width: float, height: float, context: float = 0.5) -> float:
    """SiamFC's exemplar side: ``sqrt((w + p)(h + p))`` with ``p = context * (w + h)``."""
    pad = context * (width + height)
    return float(np.sqrt((width + pad) * (height + pad)))


def xywh_to_corners(box: np.ndarray) -> np.ndarray:
    """(..., 4) ``x, y, w, h`` -> (..., 4) ``x0, y0, x1, y1``."""
    box = np.asarray(box, dtype=np.float64)
    return np.concatenate([box[..., :2], box[..., :2] + box[..., 2:]], axis=-1)


def corners_to_xywh(box: np.ndarray) -> np.ndarray:
    """(..., 4) ``x0, y0, x1, y1`` -> (..., 4) ``x, y, w, h``."""
    box = np.asarray(box, dtype=np.float64)
    return np.concatenate([box[..., :2], box[..., 2:] - box[..., :2]], axis=-1)


def crop_jax(frame: jnp.ndarray, window: jnp.ndarray, out: int, fill: jnp.ndarray) -> jnp.ndarray:
    """:func:`crop` as a traceable JAX function, for crops inside a compiled tracking step (the frame goes to the
    device once; no OpenCV call per target).

    Args:
      frame: (H, W, 3) uint8 or float frame; window: (3,) ``cx, cy, side`` (a :class:`CropWindow` as numbers);
      out: the crop's side in pixels (static); fill: (3,) colour outside the frame.

    Returns: (out, out, 3) float32, bilinear like ``cv2.warpAffine(..., INTER_LINEAR, BORDER_CONSTANT)`` (OpenCV
    rounds sampling positions to 1/32 pixel, so the two differ by a fraction of a grey level).
    """
    height, width = frame.shape[:2]
    cx, cy, side = window[0], window[1], window[2]
    step = side / out  # frame pixels per crop pixel
    grid = jnp.arange(out, dtype=jnp.float32) - (out - 1) / 2
    xs, ys = grid * step + cx - 0.5, grid * step + cy - 0.5  # frame pixel-centre coordinates
    fill = jnp.asarray(fill, jnp.float32)

    def taps(coords: jnp.ndarray, size: int) -> tuple:
        low = jnp.floor(coords)
        weight = coords - low
        low = low.astype(jnp.int32)
        index = [jnp.clip(i, 0, size - 1) for i in (low, low + 1)]
        valid = [(i >= 0) & (i < size) for i in (low, low + 1)]
        return index, valid, weight

    (y0, y1), (vy0, vy1), wy = taps(ys, height)
    (x0, x1), (vx0, vx1), wx = taps(xs, width)
    image = frame.astype(jnp.float32)
    top = jnp.where(vy0[:, None, None], image[y0], fill)  # (out, W, 3)
    bottom = jnp.where(vy1[:, None, None], image[y1], fill)
    rows = top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]
    left = jnp.where(vx0[None, :, None], rows[:, x0], fill)  # (out, out, 3)
    right = jnp.where(vx1[None, :, None], rows[:, x1], fill)
    return left * (1 - wx)[None, :, None] + right * wx[None, :, None]
