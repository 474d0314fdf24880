"""EfficientNet-Lite0/1/2 in Flax (the architecture; its ImageNet weights are read by
:mod:`automatch_jax.models.weights.efficientnet_lite`).

EfficientNet-Lite is EfficientNet without squeeze-and-excitation, with ReLU6, and with the stem (32) and head
(1280) widths and the first and last stages' repeats kept fixed when scaling. Variants scale (width, depth):
lite0 (1.0, 1.0), lite1 (1.0, 1.1), lite2 (1.1, 1.2).

For tracking (``stride8=True``) the network is cut after stage 5 and the stride-2 of stage 4 is replaced by
dilation 2 in stages 4-5, the same surgery the paper applies to ResNet-50's layer3: a 255x255 search crop then
gives 32x32 features of 112 (lite0/1) or 120 (lite2) channels. ``stages=4`` cuts one stage earlier (80 channels,
about 45 % of the 5-stage trunk's multiply-adds at the same crop size) for CPU-speed models.
``stride8=False`` is the ImageNet classifier.

Padding is TensorFlow's ``SAME``, computed statically from the input size (the checkpoints come from TF).
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.ops.depthwise import depthwise_impl, depthwise_shift_sum
from automatch_jax.ops.gradients import freeze_below

# Per stage: (repeats, kernel, stride, expand ratio, in channels, out channels), lukemelas' block strings.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
VARIANTS: dict[str, tuple[float, float, int]] = {  # width, depth, ImageNet resolution
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}
# EfficientNet-Lite's TF preprocessing: (x - 127) / 128 on RGB in [0, 255].
MEAN_RGB = 127.0
STDDEV_RGB = 128.0
TRACKING_STAGES = 5  # stages kept for stride-8 tracking features
STEM_CHANNELS = 32  # fixed for every variant, as the head width and class count are
HEAD_CHANNELS = 1280
CLASSES = 1000
BN_EPSILON = 1e-3


def check_variant(variant: str) -> None:
    """Raises ``ValueError`` naming the known variants unless ``variant`` is one of them."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; known: {', '.join(VARIANTS)}")


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's channel rounding to a multiple of ``divisor``, never below 90% of the scaled value."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


@dataclasses.dataclass(frozen=True)
class BlockSpec:
    kernel: int
    stride: int
    dilation: int
    expand: int
    cin: int
    cout: int


def block_specs(variant: str, stride8: bool = False, stages: int = TRACKING_STAGES) -> list[BlockSpec]:
    """The MBConv blocks of ``variant`` in order (all 7 stages, or the first ``stages`` (4 or 5), dilated from
    stage 4 on, for ``stride8``)."""
    check_variant(variant)
    width, depth, _ = VARIANTS[variant]
    if stride8 and stages not in (4, 5):
        raise ValueError(f"stride-8 EfficientNet-Lite keeps 4 or 5 stages, not {stages}")
    specs: list[BlockSpec] = []
    for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(_STAGES[:stages] if stride8 else _STAGES):
        cin, cout = round_filters(cin, width), round_filters(cout, width)
        if i == 0:
            cin = STEM_CHANNELS
        if i not in (0, len(_STAGES) - 1):
            repeats = math.ceil(depth * repeats)
        dilation = 1
        if stride8 and i >= 3:
            stride, dilation = 1, 2
        for r in range(repeats):
            specs.append(
                BlockSpec(kernel, stride if r == 0 else 1, dilation, expand, cin if r == 0 else cout, cout)
            )
    return specs


def lower_level_block(variant: str, stages: int = TRACKING_STAGES) -> int:
    """Index of the last stride-8 block before the dilated stages (the end of stage 3): its output is the lower of
    the two tracking levels, the role ResNet-50's layer2 plays (the higher is the last block's, like layer3)."""
    specs = block_specs(variant, stride8=True, stages=stages)
    return max(i for i, spec in enumerate(specs) if spec.dilation == 1)


def level_channels(variant: str, stages: int = TRACKING_STAGES) -> tuple[int, int]:
    """Channels of the (lower, higher) tracking levels: stage 3's (40 for lite0/1, 48 for lite2) and the last's."""
    specs = block_specs(variant, stride8=True, stages=stages)
    return specs[lower_level_block(variant, stages)].cout, specs[-1].cout


def feature_channels(variant: str, stages: int = TRACKING_STAGES) -> int:
    """Channels of the stride-8 tracking features of ``variant`` cut after ``stages`` stages."""
    return block_specs(variant, stride8=True, stages=stages)[-1].cout


def trunk_unit(path: tuple[str, ...]) -> int:
    """The unit a parameter of :class:`EfficientNetLite` belongs to, from its module path below the network
    (``("stem_conv", "conv", "kernel")`` -> 0, ``("block3", ...)`` -> 4): the order gradients reach them in."""
    name = path[0]
    return 0 if name.startswith("stem") else int(name.removeprefix("block")) + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding (low, high) of one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def feature_offset(size: int) -> float:
    """Pixel centre of feature cell 0 for a ``size``-pixel input at stride 8 (TF padding is asymmetric).

    Follows the three stride-2 convolutions (stem k3, stage 2 k3, stage 3 k5): output cell ``j`` of a
    convolution padded ``(low, high)`` is centred on input position ``stride * j - low + (k - 1) / 2``.
    """
    scale, offset = 1, 0.0
    for kernel in (3, 3, 5):
        low, _ = same_padding(size, kernel, 2)
        offset += scale * ((kernel - 1) / 2 - low)
        scale *= 2
        size = -(-size // 2)
    return offset


class _DepthwiseKernel(nn.Module):
    """Holds a depthwise kernel under the same name and shape as ``nn.Conv`` (``kernel``: (k, k, 1, C))."""

    kernel_size: int
    channels: int

    @nn.compact
    def __call__(self) -> jnp.ndarray:
        return self.param("kernel", nn.initializers.lecun_normal(),
                          (self.kernel_size, self.kernel_size, 1, self.channels))


class SameConv(nn.Module):
    """Convolution with TF ``SAME`` padding from the static input shape; ``depthwise`` convolves each channel
    alone (on CPU as a sum of shifted products, :func:`~automatch_jax.ops.depthwise.depthwise_shift_sum`; the same
    parameters either way)."""

    FOLDABLE = True  # a convolution with one kernel: a BatchNorm after it folds into it (automatch_jax.models.fold)

    features: int
    kernel: int
    stride: int = 1
    dilation: int = 1
    depthwise: bool = False
    use_bias: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        pads = [same_padding(n, self.kernel, self.stride, self.dilation) for n in x.shape[1:3]]
        if self.depthwise and not self.use_bias and depthwise_impl() == "shift":
            kernel = _DepthwiseKernel(self.kernel, x.shape[-1], name="conv")()
            return depthwise_shift_sum(x.astype(self.dtype), kernel, self.stride, self.dilation, pads)
        return nn.Conv(
            self.features,
            (self.kernel, self.kernel),
            strides=self.stride,
            padding=pads,
            kernel_dilation=self.dilation,
            feature_group_count=x.shape[-1] if self.depthwise else 1,
            use_bias=self.use_bias,
            dtype=self.dtype,
            name="conv",
        )(x)


def _norm(train: bool, dtype: jnp.dtype, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(
        use_running_average=not train, momentum=0.99, epsilon=BN_EPSILON, dtype=dtype, name=name
    )


class MBConv(nn.Module):
    """Inverted residual without SE: [1x1 expand] -> kxk depthwise -> 1x1 project, identity skip when shapes match."""

    spec: BlockSpec
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        s = self.spec
        hidden = s.cin * s.expand
        y = x
        if s.expand != 1:
            y = SameConv(hidden, 1, dtype=self.dtype, name="expand_conv")(y)
            y = nn.relu6(_norm(train, self.dtype, "bn0")(y))
        y = SameConv(
            hidden, s.kernel, s.stride, s.dilation, depthwise=True, dtype=self.dtype, name="depthwise_conv"
        )(y)
        y = nn.relu6(_norm(train, self.dtype, "bn1")(y))
        y = SameConv(s.cout, 1, dtype=self.dtype, name="project_conv")(y)
        y = _norm(train, self.dtype, "bn2")(y)
        if s.stride == 1 and s.cin == s.cout:
            y = y + x
        return y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite on RGB images in [0, 255] (it normalises them itself).

    ``stride8=False``: (B, H, W, 3) -> (B, 1000) ImageNet logits (float32).
    ``stride8=True``: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), :func:`feature_channels`) features of the
    first ``stages`` stages; with ``levels=2`` the pair (stage 3's output, the last stage's), on the same grid
    (:func:`level_channels`).

    ``frozen_units``: gradients stop after the first that many units (unit 0 the stem, unit ``i + 1`` MBConv block
    ``i``, :func:`trunk_unit`), so fine-tuning the upper blocks never back-propagates through the lower ones.
    """

    variant: str = "lite0"
    stride8: bool = True
    stages: int = TRACKING_STAGES
    dtype: jnp.dtype = jnp.float32
    levels: int = 1
    frozen_units: int = 0

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = ((images - MEAN_RGB) / STDDEV_RGB).astype(self.dtype)
        x = SameConv(STEM_CHANNELS, 3, 2, dtype=self.dtype, name="stem_conv")(x)
        x = freeze_below(nn.relu6(_norm(train, self.dtype, "stem_bn")(x)), 0, self.frozen_units)
        lower = lower_level_block(self.variant, self.stages) if self.stride8 and self.levels == 2 else -1
        for i, spec in enumerate(block_specs(self.variant, self.stride8, self.stages)):
            x = freeze_below(MBConv(spec, dtype=self.dtype, name=f"block{i}")(x, train), i + 1, self.frozen_units)
            if i == lower:
                low = x
        if self.stride8:
            return (low, x) if self.levels == 2 else x
        x = SameConv(HEAD_CHANNELS, 1, dtype=self.dtype, name="head_conv")(x)
        x = nn.relu6(_norm(train, self.dtype, "head_bn")(x))
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(CLASSES, dtype=self.dtype, name="fc")(x).astype(jnp.float32)
