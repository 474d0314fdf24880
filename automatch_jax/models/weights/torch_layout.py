"""PyTorch layouts to Flax layouts, one function per layer kind, and a state dict reader that checks every tensor.

PyTorch stores a convolution kernel as (O, I, kh, kw) and correlates (no kernel flip); ``nn.Conv`` / ``lax.conv``
take (kh, kw, I, O) and correlate too, so the conversion is a transpose. A depthwise kernel is (C, 1, k, k) in
PyTorch and (k, k, 1, C) in Flax (the same transpose). A linear layer's (out, in) weight is ``nn.Dense``'s
(in, out) kernel transposed. BatchNorm's ``weight``/``bias`` are Flax's ``scale``/``bias`` parameters, its
``running_mean``/``running_var`` the ``mean``/``var`` batch statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.models.weights.pth import load_pth


def conv_kernel(weight: np.ndarray) -> np.ndarray:
    """(O, I, kh, kw) PyTorch convolution weight -> (kh, kw, I, O) Flax kernel (depthwise: (C, 1, k, k) ->
    (k, k, 1, C))."""
    if weight.ndim != 4:
        raise ValueError(f"a convolution weight has 4 dimensions, not shape {weight.shape}")
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def linear_kernel(weight: np.ndarray) -> np.ndarray:
    """(out, in) PyTorch linear weight -> (in, out) Flax ``Dense`` kernel."""
    if weight.ndim != 2:
        raise ValueError(f"a linear weight has 2 dimensions, not shape {weight.shape}")
    return np.ascontiguousarray(weight.T)


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch state dict saved as ``.pth``/``.pt`` (read without torch) or as ``.npz`` of the
    same keys, as ``{name: numpy array}``; :class:`AutomatchError` naming the file if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise AutomatchError(f"{path}: weight file not found")
    if path.suffix != ".npz":
        return load_pth(path)
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise AutomatchError(f"{path}: not a readable .npz of tensors ({exc})") from None


class TorchStateDict:
    """A PyTorch state dict read tensor by tensor into Flax layouts, each checked against the shape the network
    expects; a missing tensor or a wrong shape is one :class:`AutomatchError` naming the tensor.

    Args:
      tensors: ``{name: array}`` in PyTorch layouts.
      model: the network's name, the errors' prefix (``"ResNet-50"``).
      naming: said after a missing tensor (``"expected torchvision's key names"``).
    """

    def __init__(self, tensors: Mapping[str, np.ndarray], model: str, naming: str = ""):
        self.tensors, self.model, self.naming = tensors, model, naming

    def __contains__(self, key: object) -> bool:
        return key in self.tensors

    def tensor(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``key`` as float32, which must have ``shape``."""
        if key not in self.tensors:
            hint = f" ({self.naming})" if self.naming else ""
            raise AutomatchError(f"{self.model} weights: missing tensor {key!r}{hint}")
        value = np.asarray(self.tensors[key], dtype=np.float32)
        if value.shape != shape:
            raise AutomatchError(f"{self.model} weights: {key!r} has shape {value.shape}, expected {shape}")
        return value

    def conv(self, prefix: str, cout: int, cin: int, kernel: int) -> dict[str, np.ndarray]:
        """``{"kernel": (k, k, cin, cout)}`` of a bias-free convolution from ``<prefix>.weight`` (cout, cin, k, k)."""
        return {"kernel": conv_kernel(self.tensor(f"{prefix}.weight", (cout, cin, kernel, kernel)))}

    def depthwise(self, prefix: str, channels: int, kernel: int) -> dict[str, np.ndarray]:
        """``{"kernel": (k, k, 1, C)}`` of a depthwise convolution from ``<prefix>.weight`` (C, 1, k, k)."""
        return self.conv(prefix, channels, 1, kernel)

    def batchnorm(self, prefix: str, channels: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """BatchNorm ``<prefix>``: its ``{"scale", "bias"}`` parameters and ``{"mean", "var"}`` statistics, (C,)
        each."""
        def take(suffix: str) -> np.ndarray:
            return self.tensor(f"{prefix}.{suffix}", (channels,))

        params = {"scale": take("weight"), "bias": take("bias")}
        return params, {"mean": take("running_mean"), "var": take("running_var")}

    def linear(self, prefix: str, out: int, inp: int) -> dict[str, np.ndarray]:
        """``{"kernel": (inp, out), "bias": (out,)}`` of a linear layer from ``<prefix>.weight`` (out, inp) and
        ``<prefix>.bias``."""
        weight = self.tensor(f"{prefix}.weight", (out, inp))
        return {"kernel": linear_kernel(weight), "bias": self.tensor(f"{prefix}.bias", (out,))}
