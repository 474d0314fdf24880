"""The shared torch-to-Flax conversions, each checked by running the converted layer in Flax/XLA against an
independent numpy computation on the original PyTorch-layout tensors."""

from __future__ import annotations

from pathlib import Path

import flax.linen as nn
import jax
import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.models.weights.torch_layout import (
    TorchStateDict,
    conv_kernel,
    linear_kernel,
    read_state_dict,
)


def _numpy_correlation(x: np.ndarray, weight: np.ndarray, groups: int = 1) -> np.ndarray:
    """PyTorch's convolution (a correlation, VALID padding, stride 1): x (B, H, W, I), weight (O, I / groups, k, k)
    -> (B, H - k + 1, W - k + 1, O), written with explicit windows."""
    out_channels, per_group, k, _ = weight.shape
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # (B, H', W', I, k, k)
    outs = []
    for o in range(out_channels):
        g = o // (out_channels // groups)
        patch = windows[..., g * per_group : (g + 1) * per_group, :, :]
        outs.append(np.einsum("bhwiuv,iuv->bhw", patch, weight[o]))
    return np.stack(outs, axis=-1)


def test_conv_kernel_applied_by_xla_equals_the_torch_correlation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 8, 3)).astype(np.float32)
    weight = rng.normal(size=(5, 3, 3, 3)).astype(np.float32)  # (O, I, kh, kw)
    weight[:, :, 0, 2] += 3.0  # an asymmetric kernel: a flip or a swapped axis would show
    out = jax.lax.conv_general_dilated(x, conv_kernel(weight), (1, 1), "VALID",
                                       dimension_numbers=("NHWC", "HWIO", "NHWC"))
    np.testing.assert_allclose(out, _numpy_correlation(x, weight), rtol=1e-5, atol=1e-5)


def test_depthwise_kernel_in_a_grouped_flax_conv_equals_the_torch_correlation() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 7, 7, 4)).astype(np.float32)
    state = TorchStateDict({"dw.weight": rng.normal(size=(4, 1, 3, 3))}, "test")
    params = state.depthwise("dw", 4, 3)
    assert params["kernel"].shape == (3, 3, 1, 4) and params["kernel"].dtype == np.float32  # from float64
    conv = nn.Conv(4, (3, 3), padding="VALID", feature_group_count=4, use_bias=False)
    out = conv.apply({"params": params}, x)
    np.testing.assert_allclose(out, _numpy_correlation(x, state.tensors["dw.weight"], groups=4), rtol=1e-5, atol=1e-5)


def test_linear_and_batchnorm_in_flax_equal_the_torch_formulas() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6)).astype(np.float32)
    tensors = {
        "fc.weight": rng.normal(size=(4, 6)),
        "fc.bias": rng.normal(size=4),
        "bn.weight": rng.uniform(0.5, 2, 6),
        "bn.bias": rng.normal(size=6),
        "bn.running_mean": rng.normal(size=6),
        "bn.running_var": rng.uniform(0.5, 2, 6),
    }
    state = TorchStateDict(tensors, "test")
    dense = nn.Dense(4).apply({"params": state.linear("fc", 4, 6)}, x)
    np.testing.assert_allclose(dense, x @ tensors["fc.weight"].T + tensors["fc.bias"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(linear_kernel(np.arange(6.0).reshape(2, 3)), np.arange(6.0).reshape(2, 3).T)
    params, stats = state.batchnorm("bn", 6)
    normed = nn.BatchNorm(use_running_average=True, epsilon=1e-5).apply({"params": params, "batch_stats": stats}, x)
    expected = (x - tensors["bn.running_mean"]) / np.sqrt(tensors["bn.running_var"] + 1e-5) * tensors[
        "bn.weight"
    ] + tensors["bn.bias"]
    np.testing.assert_allclose(normed, expected, rtol=1e-5, atol=1e-5)


def test_missing_tensors_and_wrong_shapes_name_the_tensor() -> None:
    state = TorchStateDict({"a.weight": np.zeros((2, 3, 1, 1))}, "Net", "expected the usual names")
    with pytest.raises(AutomatchError, match=r"Net weights: missing tensor 'b.weight' \(expected the usual names\)"):
        state.conv("b", 2, 3, 1)
    with pytest.raises(AutomatchError, match=r"'a.weight' has shape \(2, 3, 1, 1\), expected \(2, 3, 3, 3\)"):
        state.conv("a", 2, 3, 3)
    with pytest.raises(ValueError, match="4 dimensions"):
        conv_kernel(np.zeros((2, 3)))


def test_read_state_dict_from_npz_and_bad_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", **{"conv.weight": np.ones((2, 1, 3, 3), np.float32)})
    assert read_state_dict(tmp_path / "w.npz")["conv.weight"].shape == (2, 1, 3, 3)
    with pytest.raises(AutomatchError, match="not found"):
        read_state_dict(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(AutomatchError, match=r"bad\.npz: not a readable \.npz"):
        read_state_dict(tmp_path / "bad.npz")
    (tmp_path / "bad.pth").write_bytes(b"not a pickle")
    with pytest.raises(AutomatchError, match=r"bad\.pth: not a readable PyTorch state dict"):
        read_state_dict(tmp_path / "bad.pth")

