"""Square crops around a target, shared by training (pair sampling) and tracking, and their coordinate maps.

Frame coordinates are continuous with pixel ``i`` covering ``[i, i + 1)`` (so a box ``x, y, w, h`` has its centre
at ``x + w / 2``). Crop coordinates put pixel centres at integers ``0 .. out - 1`` (the convention of
:class:`automatch_jax.models.geometry.ScoreGeometry`), so the crop centre is ``(out - 1) / 2``. A crop of side
``side`` frame pixels around centre ``c`` maps frame point ``p`` to ``(p - c) * out / side + (out - 1) / 2``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

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


def crop(frame: np.ndarray, window: CropWindow, fill: np.ndarray | None = None,
         dtype: type | None = np.float32) -> np.ndarray:
    """(H, W, C) uint8/float frame -> (out, out, C) crop, bilinear; outside the frame is ``fill`` (default: the
    frame's mean colour, as SiamFC and Ocean pad). ``dtype``: the crop's type (float32), or ``None`` for the
    frame's own (a uint8 crop of a uint8 frame, rounded as OpenCV rounds: the same values as float32 holds)."""
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
    return out if dtype is None else out.astype(dtype)


def context_side(width: Any, height: Any, context: float = 0.5, xp: Any = np) -> Any:
    """SiamFC's exemplar side: ``sqrt((w + p)(h + p))`` with ``p = context * (w + h)``, elementwise for arrays;
    ``xp`` is the array module (``numpy``, or ``jax.numpy`` inside a compiled step)."""
    pad = context * (width + height)
    return xp.sqrt((width + pad) * (height + pad))


def crop_jax(frame: jnp.ndarray, window: jnp.ndarray, out: int, fill: jnp.ndarray,
             index: jnp.ndarray | None = None) -> jnp.ndarray:
    """:func:`crop` as a traceable JAX function, for crops inside a compiled tracking step (the frame goes to the
    device once; no OpenCV call per target). Only the four taps of each crop pixel are gathered from the frame
    (4 x out x out values), never whole rows; ``vmap`` it over windows to cut many crops from one frame.

    Args:
      frame: (H, W, C) uint8 or float frame, or (K, H, W, C) frames of which ``index`` (a scalar int) picks one;
      window: (3,) ``cx, cy, side`` (a :class:`CropWindow` as numbers); out: the crop's side in pixels (static);
      fill: (C,) colour outside the frame.

    Returns: (out, out, C) float32, bilinear like ``cv2.warpAffine(..., INTER_LINEAR, BORDER_CONSTANT)`` (OpenCV
    rounds sampling positions to 1/32 pixel and uint8 results to integers, so the two differ by a fraction of a
    grey level).
    """
    frame = jnp.asarray(frame)
    height, width = frame.shape[-3:-1]
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
    wy, wx = wy[:, None, None], wx[None, :, None]

    def column(x: jnp.ndarray, valid_x: jnp.ndarray) -> jnp.ndarray:
        """(out, out, C): the vertical interpolation at the columns ``x`` (``fill`` where ``x`` is outside)."""
        def pixels(y: jnp.ndarray) -> jnp.ndarray:
            rows, cols = y[:, None], x[None, :]
            picked = frame[rows, cols] if index is None else frame[index, rows, cols]
            return picked.astype(jnp.float32)

        top = jnp.where(vy0[:, None, None], pixels(y0), fill)
        bottom = jnp.where(vy1[:, None, None], pixels(y1), fill)
        return jnp.where(valid_x[None, :, None], top * (1 - wy) + bottom * wy, fill)

    return column(x0, vx0) * (1 - wx) + column(x1, vx1) * wx
