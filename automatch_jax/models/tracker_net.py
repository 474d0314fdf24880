"""The paper-prose Siamese tracker network (``model.arch = "ocean"``): backbone -> neck -> per-branch matching
network of the legacy operator forms (:mod:`automatch_jax.ops.legacy`) -> Ocean heads. It is the network of every
config and checkpoint whose ``model.arch`` is ``"ocean"`` or absent: the Ocean-head comparison network
(``configs/ocean_lite.py``, the Ocean-head column of MODEL_CARD.md), the single-operator networks of Table 1 and
the operator study (``configs/table1.py``, ``benchmarks/operator_study.py``), ``configs/automatch_lite_fast.py``,
``configs/ocean_resnet50.py``, ``configs/smoke.py``, and the shipped checkpoints whose ``automatch.json`` names no
other ``arch``. The AutoMatch network as its authors built it is :class:`~automatch_jax.models.automatch.AutoMatchNet`.

``template(z, z_box)`` runs the exemplar branch once and returns the exemplar state; ``track(state, x)``
runs the search branch against it, so online tracking computes the exemplar only at initialisation. Training
calls ``__call__(z, z_box, x)``, which is exactly ``track(template(z, z_box), x)``.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.models.backbones import Neck, get_backbone
from automatch_jax.models.bcm import SearchCell
from automatch_jax.models.geometry import ScoreGeometry, geometry_for
from automatch_jax.models.heads import ClassificationHead, MatchingNetwork, RegressionHead
from automatch_jax.ops import PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS
from automatch_jax.ops.common import pseudo_mask


def example_inputs(net: nn.Module) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Zero crops and a centred box at the sizes of ``net`` (a TrackerNet or an AutoMatchNet: anything with a
    ``geometry``), for initialising or tracing it (the values do not matter):
    ``z`` (1, Ez, Ez, 3), ``z_box`` (1, 4) ``x0, y0, x1, y1``, ``x`` (1, Es, Es, 3)."""
    g = net.geometry
    z = jnp.zeros((1, g.exemplar_size, g.exemplar_size, 3))
    x = jnp.zeros((1, g.search_size, g.search_size, 3))
    z_box = jnp.array([[g.exemplar_size * 0.3, g.exemplar_size * 0.3, g.exemplar_size * 0.7, g.exemplar_size * 0.7]])
    return z, z_box, x


class TrackerNet(nn.Module):
    """AutoMatch / Ocean tracker network.

    Attributes:
      backbone: registry name (``resnet50``, ``efficientnet_lite0`` ...).
      cls_operators: operator names of the classification branch's matching network.
      reg_operators: operator names of the regression branch's matching network.
      channels: C after the neck and after each operator.
      tower_layers, tower_channels: the heads' towers.
      search_size, exemplar_size, exemplar_cells: crop sizes and the exemplar window; the score-map geometry
        derived from them and the backbone is :attr:`geometry` (see :mod:`automatch_jax.models.geometry`).
      dtype: computation dtype (bf16/fp16 on accelerators); parameters and outputs stay float32.
      freeze_backbone: stop gradients at the backbone's output (training's frozen-backbone phase). The backbone's
        BatchNorm always uses its running statistics, as in SiamRPN++ and Ocean (batches of pairs are small).
      trunk_frozen_units: gradients stop after the backbone's first that many units (stem, then blocks or layers:
        :func:`~automatch_jax.models.backbones.trunk_unit`) when only its upper part is fine-tuned.
      search_cell: BCM search mode: each branch's operator list is its search space, wrapped in a
        :class:`~automatch_jax.models.bcm.SearchCell` (manipulators in the ``"arch"`` collection); ``search_scalar``,
        ``search_tau``, ``search_noise``, ``search_init`` are the cell's settings.
    """

    backbone: str = "resnet50"
    cls_operators: SequenceOf[str] = PAPER_CLS_OPERATORS
    reg_operators: SequenceOf[str] = PAPER_REG_OPERATORS
    channels: int = 256
    tower_layers: int = 4
    tower_channels: int = 256
    search_size: int = 255
    exemplar_size: int = 127
    exemplar_cells: int = 7
    dtype: jnp.dtype = jnp.float32
    freeze_backbone: bool = False
    trunk_frozen_units: int = 0
    search_cell: bool = False
    search_scalar: bool = False
    search_tau: float = 1.0
    search_noise: float = 0.0
    search_init: float = 0.5

    @property
    def geometry(self) -> ScoreGeometry:
        """Where score-map cells lie in the search crop; training labels and tracking decode both use it."""
        return geometry_for(self.backbone, self.search_size, self.exemplar_size, self.exemplar_cells)

    def setup(self) -> None:
        self.trunk = get_backbone(self.backbone, dtype=self.dtype, frozen_units=self.trunk_frozen_units)
        self.neck = Neck(self.channels, dtype=self.dtype)
        if self.search_cell:  # BCM: the operator lists are the search spaces; manipulators in "arch"
            cell = {"channels": self.channels, "scalar": self.search_scalar, "tau": self.search_tau,
                    "noise": self.search_noise, "init_value": self.search_init}
            self.cls_matching = SearchCell(tuple(self.cls_operators), **cell)
            self.reg_matching = SearchCell(tuple(self.reg_operators), **cell)
        else:
            self.cls_matching = MatchingNetwork(tuple(self.cls_operators), self.channels)
            self.reg_matching = MatchingNetwork(tuple(self.reg_operators), self.channels)
        self.cls_head = ClassificationHead(self.tower_layers, self.tower_channels, self.dtype)
        self.reg_head = RegressionHead(
            self.tower_layers, self.tower_channels, self.geometry.stride, self.dtype
        )

    def features(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        """(B, H, W, 3) RGB in [0, 255] -> (B, ceil(H/8), ceil(W/8), channels) float32."""
        trunk = self.trunk(images, False)
        if self.freeze_backbone:
            trunk = jax.lax.stop_gradient(trunk)
        return self.neck(trunk, train).astype(jnp.float32)

    def template(self, z: jnp.ndarray, z_box: jnp.ndarray, train: bool = False) -> dict[str, jnp.ndarray]:
        """Exemplar state from (B, 127, 127, 3) crops (RGB in [0, 255]) and (B, 4) target boxes
        ``x0, y0, x1, y1`` in crop pixels.

        Returns ``f_z``: (B, 7, 7, C) float32 centre-cropped exemplar features; ``z_mask``: (B, 7, 7) the
        pseudo mask M_z (1 on cells inside the box).
        """
        g = self.geometry
        f_z = self.features(z, train)
        s, n = g.exemplar_start, g.exemplar_cells
        f_z = f_z[:, s : s + n, s : s + n]
        z_mask = pseudo_mask(g.exemplar_box_to_cells(z_box), n, n)
        return {"f_z": f_z, "z_mask": z_mask}

    def match(
        self, exemplar: dict[str, jnp.ndarray], f_x: jnp.ndarray, train: bool = False
    ) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Both branches' matching networks: (B, Hx, Wx, C) search features -> the cls and reg responses,
        (B, Hx, Wx, n_cls * C) and (B, Hx, Wx, n_reg * C)."""
        f_z, z_mask = exemplar["f_z"], exemplar["z_mask"]
        return self.cls_matching(f_z, f_x, z_mask, train=train), self.reg_matching(f_z, f_x, z_mask, train=train)

    def heads(
        self, cls_response: jnp.ndarray, reg_response: jnp.ndarray, train: bool = False
    ) -> dict[str, jnp.ndarray]:
        """The heads on the matching responses: ``cls`` (B, S, S) logits, ``reg`` (B, S, S, 4) pixels."""
        return {"cls": self.cls_head(cls_response, train), "reg": self.reg_head(reg_response, train)}

    def track(
        self, exemplar: dict[str, jnp.ndarray], x: jnp.ndarray, train: bool = False
    ) -> dict[str, jnp.ndarray]:
        """Score maps for (B, 255, 255, 3) search crops: ``cls`` (B, S, S) logits, ``reg`` (B, S, S, 4) distances
        ``l, t, r, b`` in search-crop pixels from each cell (see :func:`automatch_jax.models.geometry.decode_boxes`)."""
        return self.heads(*self.match(exemplar, self.features(x, train), train), train)

    def __call__(
        self, z: jnp.ndarray, z_box: jnp.ndarray, x: jnp.ndarray, train: bool = False
    ) -> dict[str, jnp.ndarray]:
        return self.track(self.template(z, z_box, train), x, train)
