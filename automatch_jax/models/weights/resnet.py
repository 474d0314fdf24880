"""ImageNet weights of :class:`~automatch_jax.models.resnet.ResNet50S8` from torchvision's ``resnet50`` state dict
(none are bundled: the user passes the file)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from automatch_jax.models.resnet import LAYERS, STEM_CHANNELS
from automatch_jax.models.weights.torch_layout import TorchStateDict, read_state_dict


def convert_torchvision_resnet50(state_dict: Mapping[str, np.ndarray]) -> dict[str, dict]:
    """torchvision ``resnet50`` state dict -> ``{"params": ..., "batch_stats": ...}`` for :class:`ResNet50S8`.

    Only conv1 ... layer3 are used (layer4 and fc are ignored). Raises AutomatchError naming a missing key
    or a shape mismatch.
    """
    torch = TorchStateDict(state_dict, "ResNet-50", "expected torchvision's key names")
    params: dict = {"conv1": torch.conv("conv1", STEM_CHANNELS, 3, 7)}
    stats: dict = {}
    params["bn1"], stats["bn1"] = torch.batchnorm("bn1", STEM_CHANNELS)
    channels = STEM_CHANNELS
    for layer, (blocks, width, _, _) in enumerate(LAYERS, start=1):
        for block in range(blocks):
            src, dst = f"layer{layer}.{block}", f"layer{layer}_{block}"
            p, s = {}, {}
            cin = channels if block == 0 else 4 * width
            p["conv1"] = torch.conv(f"{src}.conv1", width, cin, 1)
            p["conv2"] = torch.conv(f"{src}.conv2", width, width, 3)
            p["conv3"] = torch.conv(f"{src}.conv3", 4 * width, width, 1)
            for i in (1, 2, 3):
                p[f"bn{i}"], s[f"bn{i}"] = torch.batchnorm(f"{src}.bn{i}", width if i < 3 else 4 * width)
            if f"{src}.downsample.0.weight" in torch:
                p["downsample_conv"] = torch.conv(f"{src}.downsample.0", 4 * width, cin, 1)
                p["downsample_bn"], s["downsample_bn"] = torch.batchnorm(f"{src}.downsample.1", 4 * width)
            params[dst], stats[dst] = p, s
        channels = 4 * width
    return {"params": params, "batch_stats": stats}


def load_torchvision_resnet50(path: Path | str) -> dict[str, dict]:
    """Flax variables for :class:`ResNet50S8` from a torchvision ResNet-50 state dict saved as ``.pth`` (read
    without torch) or ``.npz``."""
    return convert_torchvision_resnet50(read_state_dict(path))
