"""The Pallas depthwise cross-correlation kernel (interpret mode on CPU) and the CPU shifted-sum path against the
XLA path."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.ops.xcorr import depthwise_xcorr, shift_depthwise_xcorr, xla_depthwise_xcorr
from automatch_jax.ops.xcorr_pallas import fast_path_available, pallas_depthwise_xcorr, supported


@pytest.mark.parametrize(("hx", "hz", "c"), [(16, 7, 32), (32, 7, 16), (8, 3, 16), (16, 5, 48)])
def test_kernel_matches_xla(hx: int, hz: int, c: int) -> None:
    rng = np.random.default_rng(hx + hz + c)
    f_x = jnp.asarray(rng.normal(size=(2, hx, hx, c)), jnp.float32)
    f_z = jnp.asarray(rng.normal(size=(2, hz, hz, c)), jnp.float32)
    fast = pallas_depthwise_xcorr(f_x, f_z, interpret=True)
    np.testing.assert_allclose(fast, xla_depthwise_xcorr(f_x, f_z), rtol=1e-5, atol=1e-4)


def test_dispatch_and_gradients_follow_the_xla_path() -> None:
    rng = np.random.default_rng(0)
    f_x = jnp.asarray(rng.normal(size=(1, 8, 8, 16)), jnp.float32)
    f_z = jnp.asarray(rng.normal(size=(1, 3, 3, 16)), jnp.float32)

    def loss(impl: str):
        return lambda x, z: jnp.sum(jnp.tanh(depthwise_xcorr(x, z, impl)))

    assert not fast_path_available()  # CPU: auto means the shifted sum
    np.testing.assert_allclose(depthwise_xcorr(f_x, f_z, "pallas"), depthwise_xcorr(f_x, f_z), atol=1e-4)
    for g_fast, g_ref in zip(
        jax.grad(loss("pallas"), (0, 1))(f_x, f_z), jax.grad(loss("xla"), (0, 1))(f_x, f_z), strict=True
    ):
        np.testing.assert_allclose(g_fast, g_ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unknown depthwise xcorr implementation"):
        depthwise_xcorr(f_x, f_z, "cuda")


def test_unsupported_shapes_are_refused() -> None:
    assert not supported((1, 25, 25, 16), (1, 7, 7, 16))  # Triton needs power-of-two blocks
    assert not supported((1, 32, 32, 20), (1, 7, 7, 20))
    with pytest.raises(ValueError, match="unsupported shapes"):
        pallas_depthwise_xcorr(jnp.zeros((1, 25, 25, 16)), jnp.zeros((1, 7, 7, 16)), interpret=True)


@pytest.mark.parametrize(("hx", "hz"), [(31, 7), (16, 4), (9, 3), (25, 5)])
def test_shifted_sum_matches_xla_with_gradients(hx: int, hz: int) -> None:
    rng = np.random.default_rng(hx * hz)
    f_x = jnp.asarray(rng.normal(size=(3, hx, hx, 8)), jnp.float32)
    f_z = jnp.asarray(rng.normal(size=(3, hz, hz, 8)), jnp.float32)
    np.testing.assert_allclose(shift_depthwise_xcorr(f_x, f_z), xla_depthwise_xcorr(f_x, f_z), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(depthwise_xcorr(f_x, f_z), xla_depthwise_xcorr(f_x, f_z), rtol=1e-5, atol=1e-4)

    def loss(fn):
        return lambda x, z: jnp.sum(jnp.tanh(fn(x, z)))

    for a, b in zip(jax.grad(loss(shift_depthwise_xcorr), (0, 1))(f_x, f_z),
                    jax.grad(loss(xla_depthwise_xcorr), (0, 1))(f_x, f_z), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
