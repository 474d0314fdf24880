"""Where score-map cells are in the crops, derived once and used by training (labels) and tracking (decoding).

Conventions (one choice for every operator and backbone):

- Crops: exemplar ``z`` is 127x127, search ``x`` 255x255 (SiamFC context rule), pixel centres at integer
  coordinates 0..S-1.
- Cell ``i`` of a stride-8 feature map is centred on pixel ``offset + stride * i``. ``offset`` depends on how
  the backbone pads (0 for ResNet-50's symmetric padding, 6 for EfficientNet-Lite's TF padding of 255 and 127
  crops, 7 for the unpadded stem and stride-2 convolution of the authors' SiamRPN++ ResNet-50);
  :func:`geometry_for` derives it. The feature map has one cell per cell centre inside the crop,
  ``floor((S - 1 - offset) / stride) + 1``: 32 cells for a 255 crop and 16 for a 127 crop at offsets 0 and 6,
  31 and 15 at the authors' offset 7 (their score map: cell ``i`` at pixel ``7 + 8 i``, the crop centre 127 on
  cell 15).
- Every matching operator keeps F_x's spatial size, and the heads use SAME padding, so the score map is F_x's
  grid.
- TrackerNet centre-crops the exemplar features to 7x7 cells around the cell nearest the crop centre (pixel 63):
  for ResNet-50 cells 5..11 of 16, i.e. pixels 40..88 of the exemplar crop. The AutoMatch network uses the full
  exemplar map (``exemplar_cells = exemplar_feature_size``).
- ROI-align (the AutoMatch template vector and stage-2 classifier) follows the authors' call: crop-pixel boxes
  scaled by ``1 / stride`` (:attr:`ScoreGeometry.roi_scale`), so ROI coordinate ``h`` is pixel ``stride * h``
  whatever the offset.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from automatch_jax.models.backbones import backbone_offset


@dataclasses.dataclass(frozen=True)
class ScoreGeometry:
    """The score map's place in the search crop and the exemplar crop's feature window.

    Attributes:
      stride: pixels per feature cell (8).
      offset: pixel centre of cell 0.
      search_size: side of the search crop (255); exemplar_size: side of the exemplar crop (127).
      exemplar_cells: side of the centre-cropped exemplar feature map (7).
    """

    stride: int = 8
    offset: float = 0.0
    search_size: int = 255
    exemplar_size: int = 127
    exemplar_cells: int = 7

    def cells(self, size: int) -> int:
        """Cells per side of the feature map of a ``size``-pixel crop: one per cell centre inside the crop."""
        return math.floor((size - 1 - self.offset) / self.stride) + 1

    @property
    def score_size(self) -> int:
        """Cells per side of the search features and the score map (32; 31 at the authors' offset 7)."""
        return self.cells(self.search_size)

    @property
    def exemplar_feature_size(self) -> int:
        """Cells per side of the exemplar features before any centre crop (16; 15 at offset 7)."""
        return self.cells(self.exemplar_size)

    @property
    def centre_cell(self) -> int:
        """Index of the score-map row/column nearest the search crop's centre (15 at offset 7)."""
        return round(((self.search_size - 1) / 2 - self.offset) / self.stride)

    @property
    def roi_scale(self) -> float:
        """ROI-align's ``spatial_scale`` for crop-pixel boxes, ``1 / stride`` (the authors' convention)."""
        return 1.0 / self.stride

    @property
    def exemplar_start(self) -> int:
        """First cell of the exemplar's centre crop (5)."""
        centre = round(((self.exemplar_size - 1) / 2 - self.offset) / self.stride)
        start = centre - self.exemplar_cells // 2
        return int(min(max(start, 0), self.exemplar_feature_size - self.exemplar_cells))

    def positions(self) -> np.ndarray:
        """(score_size,) pixel coordinate in the search crop of each score-map row/column."""
        return self.offset + self.stride * np.arange(self.score_size, dtype=np.float32)

    def exemplar_box_to_cells(self, boxes: jnp.ndarray) -> jnp.ndarray:
        """(B, 4) ``x0, y0, x1, y1`` in exemplar-crop pixels -> the same box in the cropped exemplar feature
        map's cell coordinates, where cell ``j`` spans ``[j, j + 1)`` (its centre is ``j + 0.5``)."""
        return (boxes - self.offset) / self.stride - self.exemplar_start + 0.5

    def centre_displacement(self) -> np.ndarray:
        """(score_size,) displacement in search-crop pixels of each row/column from the crop centre."""
        return self.positions() - (self.search_size - 1) / 2


def geometry_for(
    backbone: str, search_size: int = 255, exemplar_size: int = 127, exemplar_cells: int = 7, stride: int = 8
) -> ScoreGeometry:
    """The geometry of ``backbone`` for these crop sizes: the cell offset is its registry entry's ``offset``
    (:func:`automatch_jax.models.backbones.backbone_offset`), which follows the backbone's padding."""
    offset = backbone_offset(backbone, search_size)
    if backbone_offset(backbone, exemplar_size) != offset:
        raise ValueError(
            f"{backbone}: crops of {search_size} and {exemplar_size} pixels put feature cells at "
            "different offsets; choose sizes of the same parity modulo 8 (e.g. 255 and 127)"
        )
    if exemplar_cells > math.ceil(exemplar_size / stride):
        raise ValueError(
            f"exemplar_cells={exemplar_cells} exceeds the {math.ceil(exemplar_size / stride)} cells "
            f"of a {exemplar_size}-pixel exemplar"
        )
    return ScoreGeometry(stride, offset, search_size, exemplar_size, exemplar_cells)


def make_targets(
    geometry: ScoreGeometry, boxes: jnp.ndarray, positive: jnp.ndarray, radius: float = 0.5
) -> dict[str, jnp.ndarray]:
    """Training targets on the score map for target boxes in search-crop pixels.

    Args:
      geometry: the score-map geometry.
      boxes: (B, 4) ``x0, y0, x1, y1`` of the target in the search crop.
      positive: (B,) 1 for a positive pair (the target is in the crop), 0 for a negative pair.
      radius: a cell is a classification positive when its position lies in the box shrunk about its centre
        to ``radius`` of its width and height (Ocean's central-region rule).

    Returns:
      ``cls``: (B, S, S) 1/0 labels; ``reg``: (B, S, S, 4) distances ``l, t, r, b`` in pixels from each cell
      to the box sides; ``reg_weight``: (B, S, S) 1 where the cell lies inside the box of a positive pair.
    """
    pos = jnp.asarray(geometry.positions())
    px, py = pos[None, None, :], pos[None, :, None]
    x0, y0, x1, y1 = (boxes[:, k, None, None] for k in range(4))
    left, top, right, bottom = px - x0, py - y0, x1 - px, y1 - py
    reg = jnp.stack(jnp.broadcast_arrays(left, top, right, bottom), axis=-1)
    pair = positive[:, None, None].astype(jnp.float32)
    inside = (jnp.min(reg, axis=-1) > 0).astype(jnp.float32) * pair
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = jnp.maximum((x1 - x0) * radius / 2, 0.5), jnp.maximum((y1 - y0) * radius / 2, 0.5)
    central = (jnp.abs(px - cx) <= half_w) & (jnp.abs(py - cy) <= half_h)
    return {"cls": central.astype(jnp.float32) * pair, "reg": reg, "reg_weight": inside}


def decode_boxes(geometry: ScoreGeometry, distances: jnp.ndarray) -> jnp.ndarray:
    """(..., S, S, 4) distances ``l, t, r, b`` -> (..., S, S, 4) boxes ``x0, y0, x1, y1`` in crop pixels."""
    pos = jnp.asarray(geometry.positions())
    px, py = pos[None, :], pos[:, None]
    left, top, right, bottom = (distances[..., k] for k in range(4))
    return jnp.stack([px - left, py - top, px + right, py + bottom], axis=-1)
