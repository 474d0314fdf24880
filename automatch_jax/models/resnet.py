"""The paper's backbone: ResNet-50 conv1 ... layer3 with output stride 8 (layer3 dilated), 1024 channels.

As in SiamRPN++ / Ocean: torchvision's ResNet-50 (v1.5, stride in the 3x3 convolution) truncated after layer3,
with layer3's stride replaced by dilation 2. Padding is torchvision's (conv1: 3, 3x3 convolutions: their
dilation, max-pool: 1), so a 255x255 search crop gives 32x32 features and a 127x127 exemplar 16x16.

Weights: none are bundled; :func:`automatch_jax.models.weights.resnet.load_torchvision_resnet50` converts
torchvision's ``resnet50`` state dict (``.pth``, or ``.npz`` of the same keys).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from automatch_jax.ops.gradients import freeze_below

# (blocks, width, stride, dilation) of layer1..layer3.
LAYERS = ((3, 64, 1, 1), (4, 128, 2, 1), (6, 256, 1, 2))
STEM_CHANNELS = 64  # conv1's output


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride, dilation) -> 1x1 (4x width), with a projected shortcut when shapes change."""

    width: int
    stride: int = 1
    dilation: int = 1
    first_dilation: int = 1
    project: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        """(B, H, W, Cin) -> (B, H/stride, W/stride, 4 * width)."""

        def norm(name: str) -> nn.BatchNorm:
            return nn.BatchNorm(
                use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype, name=name
            )

        d = self.first_dilation
        y = nn.Conv(self.width, (1, 1), use_bias=False, dtype=self.dtype, name="conv1")(x)
        y = nn.relu(norm("bn1")(y))
        y = nn.Conv(
            self.width,
            (3, 3),
            strides=self.stride,
            padding=((d, d), (d, d)),
            kernel_dilation=d,
            use_bias=False,
            dtype=self.dtype,
            name="conv2",
        )(y)
        y = nn.relu(norm("bn2")(y))
        y = nn.Conv(4 * self.width, (1, 1), use_bias=False, dtype=self.dtype, name="conv3")(y)
        y = norm("bn3")(y)
        if self.project:
            x = nn.Conv(
                4 * self.width,
                (1, 1),
                strides=self.stride,
                use_bias=False,
                dtype=self.dtype,
                name="downsample_conv",
            )(x)
            x = norm("downsample_bn")(x)
        return nn.relu(y + x)


class ResNet50S8(nn.Module):
    """ResNet-50 up to layer3, output stride 8: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), 1024).

    Inputs are RGB images normalised with ImageNet's mean and std (see :data:`IMAGENET_MEAN`). ``levels=2`` returns
    layer2's and layer3's outputs, (B, ceil(H/8), ceil(W/8), 512) and (..., 1024), on the same grid (the AutoMatch
    network's two levels). ``frozen_units``: gradients stop after the first that many units (0 the stem
    ``conv1``/``bn1``, 1-3 layer1-3; :func:`trunk_unit`): the authors fine-tune layer1-3 (``frozen_units=1``).
    """

    dtype: jnp.dtype = jnp.float32
    levels: int = 1
    frozen_units: int = 0

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = nn.Conv(
            STEM_CHANNELS,
            (7, 7),
            strides=2,
            padding=((3, 3), (3, 3)),
            use_bias=False,
            dtype=self.dtype,
            name="conv1",
        )(x)
        x = nn.BatchNorm(
            use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype, name="bn1"
        )(x)
        x = nn.max_pool(nn.relu(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        x = freeze_below(x, 0, self.frozen_units)
        channels = STEM_CHANNELS
        for layer, (blocks, width, stride, dilation) in enumerate(LAYERS, start=1):
            for block in range(blocks):
                first = block == 0
                x = Bottleneck(
                    width=width,
                    stride=stride if first else 1,
                    first_dilation=1 if first else dilation,
                    project=first and (stride != 1 or channels != 4 * width),
                    dtype=self.dtype,
                    name=f"layer{layer}_{block}",
                )(x, train)
            channels = 4 * width
            x = freeze_below(x, layer, self.frozen_units)
            if layer == 2:
                layer2 = x
        return (layer2, x) if self.levels == 2 else x


def trunk_unit(path: tuple[str, ...]) -> int:
    """The unit a parameter of :class:`ResNet50S8` belongs to, from its module path below the network
    (``("conv1", "kernel")`` -> 0, ``("layer2_1", ...)`` -> 2)."""
    name = path[0]
    return 0 if name in ("conv1", "bn1") else int(name.removeprefix("layer").partition("_")[0])


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255.0
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255.0
