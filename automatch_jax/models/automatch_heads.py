"""The parts of the AutoMatch network after the necks, as the authors' code builds them (JudasDie/SOTS
``lib/models/sot/modules.py``: ``roi_template``, ``LTM``, ``L2Mregression``, ``roi_classification``).

All NHWC; C is the neck width (256), LReLU is LeakyReLU(0.1). Convolutions carry a bias and BatchNorm has PyTorch's
momentum (0.1, i.e. Flax's 0.9) and epsilon (1e-5).

- :class:`TemplateVector`: the template map through two 3x3 convolutions, ROI-aligned to 3x3 on the target box,
  a 3x3 valid convolution to 1x1: (B, Hz, Wz, C) -> (B, 1, 1, C).
- :class:`BranchMatching`: a branch's operators on (template map, search map, mask, vector), their responses
  concatenated and gated per channel by ``sigmoid(w)`` (w = 1 at start), then 1x1 conv + BN + LReLU to C. In search
  mode the BCM cell (:class:`~automatch_jax.models.bcm.SearchCell`) takes the gate's place.
- :class:`RegressionHead`: 3 x (3x3 conv + BN + ReLU), a 3x3 conv to 4, ``exp(0.1 y + b)`` pixels with a learnt
  scale (0.1 at start) and per-side bias b (1 at start), clamped to [0, 255] in training.
- :class:`Stage1Classifier`: scores every cell from the regression tower's and the classification matching's
  features, each encoded to C/2 and multiplied by its level's projected template vector;
  :class:`Stage2Classifier` scores boxes from 3x3 ROI-aligns of both encoded maps, reduced to C/2 vectors,
  multiplied by the template vectors and passed through an MLP.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.models.bcm import SearchCell
from automatch_jax.ops import get_operator
from automatch_jax.ops.roi_align import roi_align

LEAKY_SLOPE = 0.1
ROI_SIZE = 3


def _activate(x: jnp.ndarray, activation: str | None) -> jnp.ndarray:
    if activation == "leaky":
        return nn.leaky_relu(x, LEAKY_SLOPE)
    if activation == "relu":
        return nn.relu(x)
    return x


class ConvBN(nn.Module):
    """Convolution (with bias), BatchNorm, activation (``"leaky"``, ``"relu"`` or None):
    (B, H, W, Cin) -> (B, H', W', features); ``padding`` ``"SAME"`` or ``"VALID"``."""

    features: int
    kernel: int = 3
    padding: str = "SAME"
    activation: str | None = "leaky"
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = nn.Conv(self.features, (self.kernel, self.kernel), padding=self.padding, dtype=self.dtype, name="conv")(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype, name="bn")(x)
        return _activate(x, self.activation)


class TemplateVector(nn.Module):
    """One level's template vector: (B, Hz, Wz, C) template map, (B, 4) target boxes ``x0, y0, x1, y1`` in exemplar
    pixels -> (B, 1, 1, C).

    conv3x3 + BN + LReLU, conv3x3 + BN, ROI-align of the box to 3x3 (``roi_scale`` pixels -> cells, torchvision's
    convention: :func:`~automatch_jax.ops.roi_align.roi_align`), 3x3 valid conv + BN + LReLU.
    """

    channels: int = 256
    roi_scale: float = 1 / 8
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, f_z: jnp.ndarray, z_box: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = ConvBN(self.channels, dtype=self.dtype, name="encode0")(f_z, train)
        x = ConvBN(self.channels, activation=None, dtype=self.dtype, name="encode1")(x, train)
        pooled = roi_align(x.astype(jnp.float32), z_box[:, None, :], ROI_SIZE, self.roi_scale)[:, 0]
        v = ConvBN(self.channels, ROI_SIZE, "VALID", dtype=self.dtype, name="spatial")(pooled, train)
        return v.astype(jnp.float32)


class BranchMatching(nn.Module):
    """A branch's matching network: ``operators`` on the same inputs, combined, embedded to ``channels``.

    (B, Hz, Wz, C) template map, (B, Hx, Wx, C) search map, (B, Hz, Wz) template mask, (B, 1, 1, C) template vector
    -> (B, Hx, Wx, channels). Fixed operators: ``concat(responses) * sigmoid(gate)`` (one gate per channel,
    initialised to 1 as the authors' ``merge2``); ``search_cell``: the BCM cell's manipulated concatenation instead
    (``cell`` holds its settings: scalar, tau, noise, init_value). Then 1x1 conv + BN + LReLU.
    """

    operators: SequenceOf[str]
    channels: int = 256
    search_cell: bool = False
    cell: tuple[tuple[str, float | bool], ...] = ()
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, f_z: jnp.ndarray, f_x: jnp.ndarray, z_mask: jnp.ndarray, z_vector: jnp.ndarray, train: bool = False
    ) -> jnp.ndarray:
        if not self.operators:
            raise ValueError("a matching network needs at least one operator name")
        if self.search_cell:
            e = SearchCell(tuple(self.operators), self.channels, legacy=False, **dict(self.cell), name="cell")(
                f_z, f_x, z_mask, z_vector, train=train
            )
        else:
            responses = [
                get_operator(name, features=self.channels, name=name)(f_z, f_x, z_mask, z_vector)
                for name in self.operators
            ]
            e = jnp.concatenate(responses, axis=-1)
            gate = self.param("gate", nn.initializers.constant(1.0), (e.shape[-1],))
            e = e * jax.nn.sigmoid(gate)
        return ConvBN(self.channels, 1, dtype=self.dtype, name="fuse")(e, train).astype(jnp.float32)


class RegressionHead(nn.Module):
    """(B, S, S, C) matched features -> ((B, S, S, 4) distances ``l, t, r, b`` in pixels, (B, S, S, C) tower output).

    ``layers`` (3) x (3x3 conv + BN + ReLU), 3x3 conv to 4, ``exp(adjust * y + bias)`` with a scalar ``adjust``
    (0.1 at start) and a per-side ``bias`` (1 at start); in training clamped to ``[0, max_distance]`` (255).
    """

    channels: int = 256
    layers: int = 3
    max_distance: float = 255.0
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> tuple[jnp.ndarray, jnp.ndarray]:
        for i in range(self.layers):
            x = ConvBN(self.channels, activation="relu", dtype=self.dtype, name=f"tower{i}")(x, train)
        y = nn.Conv(4, (3, 3), padding="SAME", dtype=self.dtype, name="out")(x).astype(jnp.float32)
        adjust = self.param("adjust", nn.initializers.constant(0.1), ())
        bias = self.param("bias", nn.initializers.constant(1.0), (4,))
        distances = jnp.exp(adjust * y + bias)
        if train:
            distances = jnp.clip(distances, 0.0, self.max_distance)
        return distances, x.astype(jnp.float32)


class BoxEncoder(nn.Module):
    """One level's stage-2 box feature: (B, H, W, C/2) encoded map, (B, K, 4) crop-pixel boxes -> (B, K, C/2):
    ROI-align to 3x3, 3x3 valid conv + BN + LReLU, linear + LReLU."""

    features: int = 128
    roi_scale: float = 1 / 8
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, encoded: jnp.ndarray, boxes: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        b, k = boxes.shape[:2]
        pooled = roi_align(encoded, boxes, ROI_SIZE, self.roi_scale)  # (B, K, 3, 3, C/2)
        pooled = pooled.reshape(b * k, ROI_SIZE, ROI_SIZE, encoded.shape[-1])
        x = ConvBN(self.features, ROI_SIZE, "VALID", dtype=self.dtype, name="spatial")(pooled, train)
        x = nn.leaky_relu(nn.Dense(self.features, dtype=self.dtype, name="linear")(x[:, 0, 0]), LEAKY_SLOPE)
        return x.reshape(b, k, self.features).astype(jnp.float32)


class Stage1Classifier(nn.Module):
    """Stage 1 of the authors' classification head (``roi_classification``, first half).

    The regression tower's output (layer-3 branch) and the classification matching output (layer-2 branch),
    (B, S, S, C) each, are encoded to (B, S, S, C/2) maps (conv3x3 + BN + LReLU to C, then to C/2), the two template
    vectors projected to (B, 1, 1, C/2) (1x1 conv + BN + LReLU); ``[reg_map * reg_vector, cls_map * cls_vector]``
    goes through 2 x (conv3x3 + BN + LReLU) and a 3x3 conv to one logit per cell.
    Returns ((B, S, S) logits, the encoded maps and vectors for stage 2).
    """

    channels: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, reg_features: jnp.ndarray, cls_features: jnp.ndarray, v_reg: jnp.ndarray, v_cls: jnp.ndarray,
        train: bool = False,
    ) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
        c, half = self.channels, self.channels // 2

        def encoder(x: jnp.ndarray, name: str) -> jnp.ndarray:
            x = ConvBN(c, dtype=self.dtype, name=f"{name}0")(x, train)
            return ConvBN(half, dtype=self.dtype, name=f"{name}1")(x, train).astype(jnp.float32)

        encoded = {
            "reg_map": encoder(reg_features, "reg_encoder"),
            "cls_map": encoder(cls_features, "cls_encoder"),
            "reg_vector": ConvBN(half, 1, dtype=self.dtype, name="reg_target")(v_reg, train).astype(jnp.float32),
            "cls_vector": ConvBN(half, 1, dtype=self.dtype, name="cls_target")(v_cls, train).astype(jnp.float32),
        }
        x = jnp.concatenate(
            [encoded["reg_map"] * encoded["reg_vector"], encoded["cls_map"] * encoded["cls_vector"]], axis=-1
        )
        for i in range(2):
            x = ConvBN(c, dtype=self.dtype, name=f"merge{i}")(x, train)
        logits = nn.Conv(1, (3, 3), padding="SAME", dtype=self.dtype, name="out")(x)[..., 0]
        return logits.astype(jnp.float32), encoded


class Stage2Classifier(nn.Module):
    """Stage 2 of the authors' classification head: (B, K, 4) crop-pixel boxes scored on stage 1's encoded maps,
    (B, K) logits. Each level's :class:`BoxEncoder` vector is multiplied by its projected template vector, the two
    are concatenated (C), then 2 x (linear + LReLU) and a linear layer to one logit."""

    channels: int = 256
    roi_scale: float = 1 / 8
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, encoded: dict[str, jnp.ndarray], boxes: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        half = self.channels // 2
        reg = BoxEncoder(half, self.roi_scale, self.dtype, name="reg_boxes")(encoded["reg_map"], boxes, train)
        cls = BoxEncoder(half, self.roi_scale, self.dtype, name="cls_boxes")(encoded["cls_map"], boxes, train)
        x = jnp.concatenate([reg * encoded["reg_vector"][:, 0], cls * encoded["cls_vector"][:, 0]], axis=-1)
        for i in range(2):
            x = nn.leaky_relu(nn.Dense(self.channels, dtype=self.dtype, name=f"merge{i}")(x), LEAKY_SLOPE)
        return nn.Dense(1, dtype=self.dtype, name="out")(x)[..., 0].astype(jnp.float32)


def hard_example_cells(logits: jnp.ndarray) -> jnp.ndarray:
    """The cells stage 2 trains on, the authors' local maxima of stage 1: (B, S, S) logits -> (B, 2S) flat cell indices,
    for each column the row of its largest logit, then for each row the column of its largest logit."""
    _, s, _ = logits.shape
    cells = jnp.arange(s)
    best_row = jnp.argmax(logits, axis=1)  # (B, S): per column j
    best_col = jnp.argmax(logits, axis=2)  # (B, S): per row i
    return jnp.concatenate([best_row * s + cells, cells * s + best_col], axis=1)
