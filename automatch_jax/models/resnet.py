"""The paper's backbone: ResNet-50 conv1 ... layer3 with output stride 8 (layer3 dilated), 1024 channels.

As in SiamRPN++ / Ocean: torchvision's ResNet-50 (v1.5, stride in the 3x3 convolution) truncated after layer3,
with layer3's stride replaced by dilation 2. Padding is torchvision's (conv1: 3, 3x3 convolutions: their
dilation, max-pool: 1), so a 255x255 search crop gives 32x32 features and a 127x127 exemplar 16x16.

Weights: no ImageNet ResNet-50 weights can be downloaded here; users with torchvision's ``resnet50`` state
dict pass its path (``.pth``, or ``.npz`` of the same keys) to :func:`load_torchvision_resnet50`.
"""

from __future__ import annotations

from pathlib import Path

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from automatch_jax.errors import AutomatchError

# (blocks, width, stride, dilation) of layer1..layer3.
_LAYERS = ((3, 64, 1, 1), (4, 128, 2, 1), (6, 256, 1, 2))


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

    Inputs are RGB images normalised with ImageNet's mean and std (see :data:`IMAGENET_MEAN`).
    """

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        x = nn.Conv(
            64, (7, 7), strides=2, padding=((3, 3), (3, 3)), use_bias=False, dtype=self.dtype, name="conv1"
        )(x)
        x = nn.BatchNorm(
            use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype, name="bn1"
        )(x)
        x = nn.max_pool(nn.relu(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        channels = 64
        for layer, (blocks, width, stride, dilation) in enumerate(_LAYERS, start=1):
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
        return x


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255.0
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255.0


def convert_torchvision_resnet50(state_dict: dict[str, np.ndarray]) -> dict[str, dict]:
    """torchvision ``resnet50`` state dict -> ``{"params": ..., "batch_stats": ...}`` for :class:`ResNet50S8`.

    Only conv1 ... layer3 are used (layer4 and fc are ignored). Raises AutomatchError naming a missing key
    or a shape mismatch.
    """
    params: dict = {}
    stats: dict = {}

    def take(key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if key not in state_dict:
            raise AutomatchError(
                f"ResNet-50 weights: missing tensor {key!r} (expected torchvision's key names)"
            )
        value = np.asarray(state_dict[key], dtype=np.float32)
        if shape is not None and value.shape != shape:
            raise AutomatchError(f"ResNet-50 weights: {key!r} has shape {value.shape}, expected {shape}")
        return value

    def conv(key: str, cout: int, cin: int, k: int) -> dict:
        return {"kernel": take(f"{key}.weight", (cout, cin, k, k)).transpose(2, 3, 1, 0)}

    def bn(key: str, c: int) -> tuple[dict, dict]:
        return (
            {"scale": take(f"{key}.weight", (c,)), "bias": take(f"{key}.bias", (c,))},
            {"mean": take(f"{key}.running_mean", (c,)), "var": take(f"{key}.running_var", (c,))},
        )

    params["conv1"] = conv("conv1", 64, 3, 7)
    params["bn1"], stats["bn1"] = bn("bn1", 64)
    channels = 64
    for layer, (blocks, width, _, _) in enumerate(_LAYERS, start=1):
        for block in range(blocks):
            src, dst = f"layer{layer}.{block}", f"layer{layer}_{block}"
            p, s = {}, {}
            cin = channels if block == 0 else 4 * width
            p["conv1"] = conv(f"{src}.conv1", width, cin, 1)
            p["conv2"] = conv(f"{src}.conv2", width, width, 3)
            p["conv3"] = conv(f"{src}.conv3", 4 * width, width, 1)
            for i in (1, 2, 3):
                p[f"bn{i}"], s[f"bn{i}"] = bn(f"{src}.bn{i}", width if i < 3 else 4 * width)
            if f"{src}.downsample.0.weight" in state_dict:
                p["downsample_conv"] = conv(f"{src}.downsample.0", 4 * width, cin, 1)
                p["downsample_bn"], s["downsample_bn"] = bn(f"{src}.downsample.1", 4 * width)
            params[dst], stats[dst] = p, s
        channels = 4 * width
    return {"params": params, "batch_stats": stats}


def load_torchvision_resnet50(path: Path | str) -> dict[str, dict]:
    """Flax variables for :class:`ResNet50S8` from a torchvision ResNet-50 state dict saved as ``.pth``
    (read without torch) or ``.npz``."""
    path = Path(path)
    if not path.is_file():
        raise AutomatchError(f"{path}: ResNet-50 weight file not found")
    if path.suffix == ".npz":
        with np.load(path) as data:
            state = {k: data[k] for k in data.files}
    else:
        from automatch_jax.models.pth import load_pth

        state = load_pth(path)
    return convert_torchvision_resnet50(state)
