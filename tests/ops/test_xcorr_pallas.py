"""The Pallas depthwise cross-correlation on CPU: interpret mode against the XLA path, cross-lowering for CUDA
(Triton), gradients of any order, the self-check (outside traces, relative tolerance, cached) and the dispatch."""

from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.ops import xcorr, xcorr_pallas
from automatch_jax.ops.xcorr import (
    depthwise_xcorr,
    fast_depthwise_xcorr,
    pallas_self_check,
    shift_depthwise_xcorr,
    xla_depthwise_xcorr,
)
from automatch_jax.ops.xcorr_pallas import pallas_depthwise_xcorr

HIGHEST = jax.lax.Precision.HIGHEST
TRITON_CALL = "__gpu$xla.gpu.triton"


def _pair(b: int, hx: int, wx: int, hz: int, c: int, seed: int, dtype=jnp.float32):
    rng = np.random.default_rng(seed)
    f_x = jnp.asarray(rng.normal(size=(b, hx, wx, c)), dtype)
    f_z = jnp.asarray(rng.normal(size=(b, hz, hz, c)), dtype)
    return f_x, f_z


@pytest.mark.parametrize(
    ("hx", "wx", "hz", "c"),
    [(32, 32, 7, 32), (24, 24, 7, 16), (25, 19, 5, 20), (8, 8, 4, 8), (13, 6, 6, 3)],
)
def test_kernel_matches_xla_for_any_shape(hx: int, wx: int, hz: int, c: int) -> None:
    f_x, f_z = _pair(2, hx, wx, hz, c, seed=hx + hz + c)
    fast = pallas_depthwise_xcorr(f_x, f_z, interpret=True)
    assert fast.shape == f_x.shape
    np.testing.assert_allclose(fast, xla_depthwise_xcorr(f_x, f_z, HIGHEST), rtol=1e-5, atol=1e-5)


def test_kernel_in_bfloat16_and_under_vmap() -> None:
    f_x, f_z = _pair(2, 16, 16, 7, 16, seed=1, dtype=jnp.bfloat16)
    fast = pallas_depthwise_xcorr(f_x, f_z, interpret=True)
    assert fast.dtype == jnp.bfloat16
    reference = xla_depthwise_xcorr(f_x.astype(jnp.float32), f_z.astype(jnp.float32), HIGHEST)
    np.testing.assert_allclose(fast.astype(jnp.float32), reference, rtol=2e-2, atol=0.1)
    # MultiTracker vmaps the network over targets: the kernel batches like the XLA path.
    x3, z3 = _pair(6, 16, 16, 5, 16, seed=2)
    vmapped = jax.vmap(lambda x, z: fast_depthwise_xcorr(x, z, True))(x3.reshape(3, 2, 16, 16, 16),
                                                                     z3.reshape(3, 2, 5, 5, 16))
    np.testing.assert_allclose(vmapped.reshape(x3.shape), xla_depthwise_xcorr(x3, z3, HIGHEST), atol=1e-5)


def _pallas_operand_shapes(f_x: jnp.ndarray, f_z: jnp.ndarray) -> list[tuple[int, ...]]:
    jaxpr = jax.make_jaxpr(functools.partial(pallas_depthwise_xcorr, interpret=True))(f_x, f_z)
    calls = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "pallas_call"]
    assert len(calls) == 1
    return [tuple(v.aval.shape) for v in (*calls[0].invars, *calls[0].outvars)]


def test_blocks_are_padded_only_where_the_loaded_windows_need_it() -> None:
    # 32x32 search maps with a 7x7 exemplar: SAME padding only (38 = 32 + 6), the exemplar unpadded.
    assert _pallas_operand_shapes(*_pair(1, 32, 32, 7, 16, seed=0)) == [
        (1, 38, 38, 16), (1, 7, 7, 16), (1, 32, 32, 16)]
    # 24x24 (a 191 crop): windows and output rounded up to 32x32, 20 channels to 2 blocks of 16.
    assert _pallas_operand_shapes(*_pair(1, 24, 24, 7, 20, seed=0)) == [
        (1, 38, 38, 32), (1, 7, 7, 32), (1, 32, 32, 32)]


def _lower_for_cuda(fn, *shapes: jax.ShapeDtypeStruct) -> str:
    """StableHLO of ``fn`` lowered for CUDA on this CPU machine, for an abstract H200 (Triton needs a GPU kind)."""
    if not hasattr(jax.sharding, "AbstractDevice"):
        pytest.skip("this JAX cannot describe an abstract GPU for cross-lowering")
    device = jax.sharding.AbstractDevice(device_kind="NVIDIA H200", num_cores=None, platform="cuda")
    with jax.sharding.use_abstract_mesh(jax.sharding.AbstractMesh((1,), ("x",), abstract_device=device)):
        return jax.jit(fn).trace(*shapes).lower(lowering_platforms=("cuda",)).as_text()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_lowers_for_cuda_through_triton(dtype) -> None:
    for hx in (32, 24):
        text = _lower_for_cuda(pallas_depthwise_xcorr, jax.ShapeDtypeStruct((4, hx, hx, 256), dtype),
                               jax.ShapeDtypeStruct((4, 7, 7, 256), dtype))
        assert text.count(TRITON_CALL) == 1
        assert "mosaic" not in text.lower()


def _tanh_loss(fn):
    return lambda x, z: jnp.sum(jnp.tanh(fn(x, z)) * jnp.cos(x))


def test_gradients_of_first_and_second_order_lower_for_cuda() -> None:
    loss = _tanh_loss(fast_depthwise_xcorr)
    second = jax.grad(lambda x, z: jnp.sum(jax.grad(loss, (0, 1))(x, z)[1] ** 2), (0, 1))
    shapes = (jax.ShapeDtypeStruct((2, 32, 32, 64), jnp.float32), jax.ShapeDtypeStruct((2, 7, 7, 64), jnp.float32))
    assert _lower_for_cuda(jax.grad(loss, (0, 1)), *shapes).count(TRITON_CALL) == 1  # the primal; tangents: XLA
    assert _lower_for_cuda(second, *shapes).count(TRITON_CALL) >= 1


def test_gradients_of_any_order_equal_the_xla_path() -> None:
    f_x, f_z = _pair(2, 8, 8, 3, 16, seed=3)
    fast_loss = _tanh_loss(lambda x, z: fast_depthwise_xcorr(x, z, True))
    ref_loss = _tanh_loss(functools.partial(xla_depthwise_xcorr, precision=HIGHEST))
    for fast, ref in zip(jax.grad(fast_loss, (0, 1))(f_x, f_z), jax.grad(ref_loss, (0, 1))(f_x, f_z), strict=True):
        np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=1e-5)

    def second(loss):  # d/d(x, z) of |d loss / d z|^2: the shape of a second-order architecture gradient
        return jax.grad(lambda x, z: jnp.sum(jax.grad(loss, 1)(x, z) ** 2), (0, 1))(f_x, f_z)

    for fast, ref in zip(second(fast_loss), second(ref_loss), strict=True):
        np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=1e-4)
    v_x, v_z = _pair(2, 8, 8, 3, 16, seed=4)

    def hvp(loss):
        return jax.jvp(jax.grad(loss, (0, 1)), (f_x, f_z), (v_x, v_z))[1]

    for fast, ref in zip(hvp(fast_loss), hvp(ref_loss), strict=True):
        np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=1e-4)


def test_self_check_passes_inside_traces() -> None:
    seen = []

    def traced(a):
        seen.append(pallas_self_check(interpret=True))
        return a

    jax.jit(jax.vmap(traced))(jnp.ones(2))
    assert seen and seen[0][0], seen


def test_self_check_uses_a_relative_tolerance_at_highest_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    def off_by(scale: float):
        return lambda f_x, f_z, interpret=False: pallas_depthwise_xcorr(f_x, f_z, interpret=interpret) * scale

    peak = float(jnp.max(jnp.abs(xla_depthwise_xcorr(*xcorr.self_check_probe(), HIGHEST))))
    assert 5e-5 * peak > 1e-3  # an absolute 1e-3 would refuse a kernel 5e-5 off in relative terms
    monkeypatch.setattr(xcorr, "pallas_depthwise_xcorr", off_by(1 + 5e-5))
    passed, detail = pallas_self_check(interpret=True)
    assert passed, detail
    monkeypatch.setattr(xcorr, "pallas_depthwise_xcorr", off_by(1 + 1e-3))
    passed, detail = pallas_self_check(interpret=True)
    assert not passed and "relative error" in detail

    def broken(f_x, f_z, interpret=False):
        raise NotImplementedError("no lowering")

    monkeypatch.setattr(xcorr, "pallas_depthwise_xcorr", broken)
    assert pallas_self_check(interpret=True) == (False, "NotImplementedError: no lowering")


def test_fast_path_is_checked_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def check(interpret: bool = False):
        calls.append(interpret)
        return pallas_self_check(interpret=True)

    monkeypatch.setattr(xcorr, "pallas_self_check", check)
    monkeypatch.delenv(xcorr.ENV_SWITCH, raising=False)
    xcorr._self_check_once.cache_clear()
    try:
        assert not xcorr.fast_path_available()  # CPU: never, and no check
        monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
        answers = []
        jax.jit(lambda a: (answers.append(xcorr.fast_path_available()), a)[1])(jnp.ones(1))  # first use: traced
        answers.append(xcorr.fast_path_available())
        assert answers == [True, True] and calls == [False]
        monkeypatch.setenv(xcorr.ENV_SWITCH, "xla")
        assert not xcorr.fast_path_available()
    finally:
        xcorr._self_check_once.cache_clear()


def _primitives(fn, *args) -> str:
    return str(jax.make_jaxpr(lambda *a: fn(*a))(*args))  # a fresh function: traced anew; nested jaxprs included


def test_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    f_x, f_z = _pair(1, 8, 8, 3, 16, seed=0)
    monkeypatch.delenv(xcorr.ENV_SWITCH, raising=False)
    assert not xcorr.fast_path_available() and xcorr.auto_implementation() == "shift"  # CPU
    reference = xla_depthwise_xcorr(f_x, f_z, HIGHEST)
    for impl in ("auto", "xla", "shift", "pallas"):
        np.testing.assert_allclose(depthwise_xcorr(f_x, f_z, impl), reference, atol=1e-4)
    assert "conv_general_dilated" not in _primitives(depthwise_xcorr, f_x, f_z)
    assert "pallas_call" in _primitives(functools.partial(depthwise_xcorr, impl="pallas"), f_x, f_z)
    monkeypatch.setenv(xcorr.ENV_SWITCH, "xla")  # read while tracing: exports choose per platform
    assert "conv_general_dilated" in _primitives(depthwise_xcorr, f_x, f_z)
    with pytest.raises(ValueError, match="unknown depthwise xcorr implementation 'cuda'; known: auto, xla"):
        depthwise_xcorr(f_x, f_z, "cuda")
    with pytest.raises(ValueError, match="want .B, Hx, Wx, C. and .B, Hz, Wz, C."):
        pallas_depthwise_xcorr(f_x, f_z[..., :8], interpret=True)


def test_environment_switch_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = []
    monkeypatch.setattr(xcorr, "_self_check_once", lambda: checks.append(1) or True)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    expected = {"": "pallas", "pallas": "pallas", "xla": "xla", "shift": "shift", "other": "pallas"}
    for value, impl in expected.items():
        monkeypatch.setenv(xcorr.ENV_SWITCH, value)
        assert xcorr.auto_implementation() == impl, value
    assert len(checks) == 2  # "" and "other": the self-check decides; "pallas" skips it
    monkeypatch.setattr(xcorr, "_self_check_once", lambda: False)
    monkeypatch.setenv(xcorr.ENV_SWITCH, "")
    assert xcorr.auto_implementation() == "xla"


def test_without_pallas_the_gpu_dispatch_falls_back_to_xla(monkeypatch: pytest.MonkeyPatch) -> None:
    f_x, f_z = _pair(1, 8, 8, 3, 16, seed=0)
    reason = "cannot import Pallas's Triton backend (ImportError: no triton here)"
    monkeypatch.setattr(xcorr_pallas, "IMPORT_ERROR", reason)
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert xcorr_pallas.kernel_available() == (False, reason)
    assert pallas_self_check() == (False, reason)
    with pytest.raises(xcorr_pallas.PallasUnavailableError, match="no triton here"):
        pallas_depthwise_xcorr(f_x, f_z, interpret=True)
    xcorr._self_check_once.cache_clear()
    try:
        for value in ("", "pallas"):  # even the switch that skips the self-check cannot run a kernel that is absent
            monkeypatch.setenv(xcorr.ENV_SWITCH, value)
            assert not xcorr.fast_path_available() and xcorr.auto_implementation() == "xla", value
            assert "conv_general_dilated" in _primitives(depthwise_xcorr, f_x, f_z)
            assert "pallas_call" not in _primitives(depthwise_xcorr, f_x, f_z)
    finally:
        xcorr._self_check_once.cache_clear()


_WITHOUT_TRITON = textwrap.dedent("""
    import sys
    import jax.experimental.pallas  # present; its Triton backend made unimportable, as on installs without it
    sys.modules["jax.experimental.pallas.triton"] = None
    if hasattr(jax.experimental.pallas, "triton"):
        del jax.experimental.pallas.triton
    import jax, numpy as np
    import automatch_jax, automatch_jax.ops
    from automatch_jax.ops import xcorr, xcorr_pallas
    available, reason = xcorr_pallas.kernel_available()
    assert not available and "jax.experimental.pallas.triton" in reason, reason
    jax.default_backend = lambda: "gpu"
    assert xcorr.pallas_self_check() == (False, reason)
    assert not xcorr.fast_path_available() and xcorr.auto_implementation() == "xla"
    f_x, f_z = np.ones((1, 8, 8, 4), np.float32), np.ones((1, 3, 3, 4), np.float32)
    assert "conv_general_dilated" in str(jax.make_jaxpr(xcorr.depthwise_xcorr)(f_x, f_z))
    np.testing.assert_allclose(xcorr.depthwise_xcorr(f_x, f_z), xcorr.xla_depthwise_xcorr(f_x, f_z))
    print("fallback:", reason)
""")


def test_the_package_imports_where_the_triton_backend_does_not() -> None:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop(xcorr.ENV_SWITCH, None)
    done = subprocess.run([sys.executable, "-c", _WITHOUT_TRITON], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fallback: cannot import Pallas's Triton backend (ModuleNotFoundError" in done.stdout, done.stdout


def test_the_kernel_module_imports_nothing_of_the_package() -> None:
    source = Path(xcorr.__file__).with_name("xcorr_pallas.py").read_text(encoding="utf-8")
    modules = [n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in modules if m and re.match(r"automatch_jax\b", m)], modules


@pytest.mark.parametrize(("hx", "hz"), [(31, 7), (16, 4), (9, 3), (25, 5)])
def test_shifted_sum_matches_xla_with_gradients(hx: int, hz: int) -> None:
    f_x, f_z = _pair(3, hx, hx, hz, 8, seed=hx * hz)
    np.testing.assert_allclose(shift_depthwise_xcorr(f_x, f_z), xla_depthwise_xcorr(f_x, f_z), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(depthwise_xcorr(f_x, f_z), xla_depthwise_xcorr(f_x, f_z), rtol=1e-5, atol=1e-4)
    for a, b in zip(jax.grad(_tanh_loss(shift_depthwise_xcorr), (0, 1))(f_x, f_z),
                    jax.grad(_tanh_loss(xla_depthwise_xcorr), (0, 1))(f_x, f_z), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
