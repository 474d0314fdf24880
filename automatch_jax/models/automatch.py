"""The AutoMatch network as its authors built it (JudasDie/SOTS: ``lib/models/sot/siaminference.py``,
``head.py`` ``Learn2Match``, ``neck.py`` ``ShrinkChannelS3S4``, ``modules.py``), ``model.arch = "automatch"``.

    crop -> backbone -> two stride-8 levels (ResNet-50 layer2 and layer3) -> a neck per level
         (1x1 conv + BN + ReLU to C)
    exemplar: the full template map per level, a template vector per level (:class:`TemplateVector`), the box mask
    regression branch, higher level:   BranchMatching(reg operators) -> RegressionHead -> distances (pixels)
    classification branch, lower level: BranchMatching(cls operators)
    stage 1: Stage1Classifier(regression tower, classification matching, both vectors) -> one logit per cell
    stage 2: Stage2Classifier on ROI-aligned predicted boxes -> one logit per box

``template(z, z_box)`` computes the exemplar state once; ``track(state, x)`` the outputs of each search crop;
``__call__(z, z_box, x)`` is ``track(template(z, z_box), x)``. Training (``train=True``) scores stage 2 on the
authors' hard examples (:func:`~automatch_jax.models.automatch_heads.hard_example_cells`) and, given ``boxes``
(the jittered ground-truth boxes), on those too. The operators of each branch come from the registry
(:mod:`automatch_jax.ops`); the searched pair is cls {transformer, FiLM}, reg {FiLM, pairwise}; one name per branch
gives the single-operator trackers of the operator study; ``search_cell`` puts the BCM cell in each branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence as SequenceOf

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.models.automatch_heads import (
    BranchMatching,
    RegressionHead,
    Stage1Classifier,
    Stage2Classifier,
    TemplateVector,
    hard_example_cells,
)
from automatch_jax.models.backbones import Neck, get_backbone
from automatch_jax.models.geometry import ScoreGeometry, decode_boxes, geometry_for
from automatch_jax.models.targets import resize_mask, template_pixel_mask
from automatch_jax.ops import PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS


class AutoMatchNet(nn.Module):
    """The AutoMatch tracker network.

    Attributes:
      backbone: registry name (``resnet50``, ``efficientnet_lite0`` ...); it must offer two feature levels.
      cls_operators: the classification branch's operators, matched on the lower level (layer2).
      reg_operators: the regression branch's operators, matched on the higher level (layer3).
      channels: C after the necks and in the heads (256).
      reg_tower_layers: depth of the regression tower (3).
      search_size, exemplar_size: crop sizes; the geometry (:attr:`geometry`) follows from them and the backbone.
      dtype: computation dtype of the backbone, necks and heads; outputs stay float32.
      freeze_backbone: stop gradients at the backbone's outputs (a frozen-trunk phase).
      trunk_frozen_units: gradients stop after the backbone's first that many units (stem, then blocks or layers:
        :func:`~automatch_jax.models.backbones.trunk_unit`) when only its upper part is fine-tuned.
      search_cell, search_scalar, search_tau, search_noise, search_init: BCM search mode and the cell's settings
        (see :class:`~automatch_jax.models.bcm.SearchCell`); each branch's operator list is its search space.
    """

    backbone: str = "resnet50"
    cls_operators: SequenceOf[str] = PAPER_CLS_OPERATORS
    reg_operators: SequenceOf[str] = PAPER_REG_OPERATORS
    channels: int = 256
    reg_tower_layers: int = 3
    search_size: int = 255
    exemplar_size: int = 127
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
        """Where score-map cells lie in the search crop; the exemplar map is used whole."""
        g = geometry_for(self.backbone, self.search_size, self.exemplar_size, exemplar_cells=1)
        return dataclasses.replace(g, exemplar_cells=g.exemplar_feature_size)

    def setup(self) -> None:
        g = self.geometry
        self.trunk = get_backbone(self.backbone, dtype=self.dtype, levels=2, frozen_units=self.trunk_frozen_units)
        self.neck_low = Neck(self.channels, dtype=self.dtype)
        self.neck_high = Neck(self.channels, dtype=self.dtype)
        self.template_low = TemplateVector(self.channels, g.roi_scale, self.dtype)
        self.template_high = TemplateVector(self.channels, g.roi_scale, self.dtype)
        cell = (("scalar", self.search_scalar), ("tau", self.search_tau), ("noise", self.search_noise),
                ("init_value", self.search_init))
        self.cls_matching = BranchMatching(tuple(self.cls_operators), self.channels, self.search_cell, cell,
                                           self.dtype)
        self.reg_matching = BranchMatching(tuple(self.reg_operators), self.channels, self.search_cell, cell,
                                           self.dtype)
        self.reg_head = RegressionHead(self.channels, self.reg_tower_layers, float(g.search_size), self.dtype)
        self.stage1 = Stage1Classifier(self.channels, self.dtype)
        self.stage2 = Stage2Classifier(self.channels, g.roi_scale, self.dtype)

    def features(self, images: jnp.ndarray, train: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(B, H, W, 3) RGB in [0, 255] -> the (lower, higher) level after their necks, (B, h, w, C) float32 each.
        The backbone's BatchNorm uses its running statistics, as in the authors' training."""
        low, high = self.trunk(images, False)
        if self.freeze_backbone:
            low, high = jax.lax.stop_gradient(low), jax.lax.stop_gradient(high)
        low = nn.relu(self.neck_low(low, train)).astype(jnp.float32)
        high = nn.relu(self.neck_high(high, train)).astype(jnp.float32)
        return low, high

    def template(self, z: jnp.ndarray, z_box: jnp.ndarray, train: bool = False) -> dict[str, jnp.ndarray]:
        """Exemplar state from (B, Ez, Ez, 3) crops and (B, 4) target boxes ``x0, y0, x1, y1`` in crop pixels:
        ``z_low``/``z_high`` (B, Hz, Wz, C) full template maps, ``v_low``/``v_high`` (B, 1, 1, C) template vectors,
        ``mask`` (B, Hz, Wz) the box's pixel mask resized to the map (bilinear, aligned corners)."""
        z_low, z_high = self.features(z, train)
        _, hz, wz, _ = z_high.shape
        mask = resize_mask(template_pixel_mask(z_box, z.shape[1]), hz, wz)
        return {
            "z_low": z_low,
            "z_high": z_high,
            "v_low": self.template_low(z_low, z_box, train),
            "v_high": self.template_high(z_high, z_box, train),
            "mask": mask,
        }

    def match(
        self, exemplar: dict[str, jnp.ndarray], x_low: jnp.ndarray, x_high: jnp.ndarray, train: bool = False
    ) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Both branches' matching networks -> the classification (lower level) and regression (higher level)
        responses, (B, S, S, C) each."""
        cls = self.cls_matching(exemplar["z_low"], x_low, exemplar["mask"], exemplar["v_low"], train)
        reg = self.reg_matching(exemplar["z_high"], x_high, exemplar["mask"], exemplar["v_high"], train)
        return cls, reg

    def heads(
        self, exemplar: dict[str, jnp.ndarray], cls_response: jnp.ndarray, reg_response: jnp.ndarray,
        train: bool = False, boxes: jnp.ndarray | None = None,
    ) -> dict[str, jnp.ndarray]:
        """Regression, stage 1 and stage 2 on the matching responses (see :meth:`track` for the outputs)."""
        reg, tower = self.reg_head(reg_response, train)
        cls, encoded = self.stage1(tower, cls_response, exemplar["v_high"], exemplar["v_low"], train)
        out = {"cls": cls, "reg": reg, "s2_features": encoded}
        if boxes is not None:  # the authors score the jittered boxes before the predicted ones
            out["cls_boxes"] = self.stage2(encoded, boxes, train)
        b, s, _ = cls.shape
        predicted = decode_boxes(self.geometry, reg).reshape(b, s * s, 4)
        if train:
            cells = hard_example_cells(cls)
            out["s2_cells"] = cells
            out["cls_s2"] = self.stage2(encoded, jnp.take_along_axis(predicted, cells[..., None], axis=1), train)
        else:
            out["cls_s2"] = self.stage2(encoded, predicted, train).reshape(b, s, s)
        return out

    def track(
        self, exemplar: dict[str, jnp.ndarray], x: jnp.ndarray, train: bool = False, boxes: jnp.ndarray | None = None
    ) -> dict[str, jnp.ndarray]:
        """Outputs for (B, Es, Es, 3) search crops against an exemplar state:

        - ``cls``: (B, S, S) stage-1 logits; ``reg``: (B, S, S, 4) distances ``l, t, r, b`` in search-crop pixels
          (see :func:`~automatch_jax.models.geometry.decode_boxes`);
        - ``cls_s2``: stage-2 logits of each cell's predicted box, (B, S, S); in training (B, 2S) for the hard
          examples, whose flat cell indices are ``s2_cells`` (B, 2S);
        - ``cls_boxes``: (B, K) stage-2 logits of ``boxes`` (B, K, 4) crop-pixel boxes, when given;
        - ``s2_features``: stage 1's encoded maps and vectors, for :meth:`score_boxes`.
        """
        x_low, x_high = self.features(x, train)
        cls_response, reg_response = self.match(exemplar, x_low, x_high, train)
        return self.heads(exemplar, cls_response, reg_response, train, boxes)

    def score_boxes(self, s2_features: dict[str, jnp.ndarray], boxes: jnp.ndarray) -> jnp.ndarray:
        """(B, K) stage-2 logits of (B, K, 4) crop-pixel boxes on a frame's ``s2_features`` (from :meth:`track`), for
        re-scoring boxes after the selection (the authors' zoom refinement) without running the network again."""
        return self.stage2(s2_features, boxes)

    def __call__(
        self, z: jnp.ndarray, z_box: jnp.ndarray, x: jnp.ndarray, train: bool = False,
        boxes: jnp.ndarray | None = None,
    ) -> dict[str, jnp.ndarray]:
        return self.track(self.template(z, z_box, train), x, train, boxes)
