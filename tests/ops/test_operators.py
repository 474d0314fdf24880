"""Every matching operator: shapes, gradients, jit/vmap, and equality with an independent numpy reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.ops import OPERATOR_NAMES, OPERATORS, get_operator
from automatch_jax.ops.common import masked_average, pseudo_mask

B, HZ, HX, C = 2, 5, 9, 8


def _inputs(seed: int = 0) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    rng = np.random.default_rng(seed)
    f_z = rng.normal(size=(B, HZ, HZ, C)).astype(np.float32)
    f_x = rng.normal(size=(B, HX, HX, C)).astype(np.float32)
    mask = np.zeros((B, HZ, HZ), np.float32)
    mask[:, 1:4, 1:3] = 1
    return jnp.asarray(f_z), jnp.asarray(f_x), jnp.asarray(mask)


def _np_pool(f_z: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (f_z * mask[..., None]).sum((1, 2)) / mask.sum((1, 2))[:, None]  # (B, C)


def _conv1x1(x: np.ndarray, p: dict) -> np.ndarray:
    return np.einsum("...c,cd->...d", x, np.asarray(p["kernel"])[0, 0]) + np.asarray(p["bias"])


def _reference(name: str, params: dict, f_z: np.ndarray, f_x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Independent numpy computation of each operator's equation."""
    pooled = _np_pool(f_z, mask)[:, None, None, :]
    if name == "dw_xcorr":
        out = np.zeros_like(f_x)
        pad = HZ // 2
        padded = np.pad(f_x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        for i in range(HX):
            for j in range(HX):
                out[:, i, j] = (padded[:, i : i + HZ, j : j + HZ] * f_z).sum((1, 2))
        return out
    if name == "concat":
        return _conv1x1(np.concatenate([np.broadcast_to(pooled, f_x.shape), f_x], -1), params["fuse"])
    if name == "add":
        return pooled + f_x
    if name == "pairwise":
        rel = np.zeros((B, HX, HX, HZ * HZ), np.float32)
        for u in range(HZ):
            for v in range(HZ):
                rel[..., u * HZ + v] = (f_x * f_z[:, u, v][:, None, None]).sum(-1)
        return _conv1x1(rel, params["proj"])
    if name == "film":
        return (1 + _conv1x1(pooled, params["gamma"])) * f_x + _conv1x1(pooled, params["beta"])
    if name == "transformer":
        p = {k: {n: np.asarray(v) for n, v in d.items()} for k, d in params["attention"].items()}
        q = np.einsum("bxc,chd->bxhd", f_x.reshape(B, -1, C), p["query"]["kernel"]) + p["query"]["bias"]
        k = np.einsum("bzc,chd->bzhd", f_z.reshape(B, -1, C), p["key"]["kernel"]) + p["key"]["bias"]
        v = np.einsum("bzc,chd->bzhd", f_z.reshape(B, -1, C), p["value"]["kernel"]) + p["value"]["bias"]
        logits = np.einsum("bxhd,bzhd->bhxz", q, k) / np.sqrt(q.shape[-1])
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out = np.einsum("bhxz,bzhd->bxhd", weights, v)
        out = np.einsum("bxhd,hdc->bxc", out, p["out"]["kernel"]) + p["out"]["bias"]
        return out.reshape(B, HX, HX, -1)
    if name == "transductive":
        a = np.einsum("bijc,buvc->bijuv", f_x, f_z) / np.sqrt(C)
        a = np.exp(a - a.max((-2, -1), keepdims=True))
        a /= a.sum((-2, -1), keepdims=True)
        guidance = np.einsum("bijuv,buv->bij", a, mask)
        return guidance[..., None] + f_x
    raise AssertionError(name)


def test_registry() -> None:
    assert OPERATOR_NAMES == ("dw_xcorr", "concat", "add", "pairwise", "film", "transformer", "transductive")
    assert set(OPERATORS) == set(OPERATOR_NAMES)
    with pytest.raises(ValueError, match="unknown matching operator 'xcorr'; known: "):
        get_operator("xcorr")


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_matches_reference(name: str) -> None:
    f_z, f_x, mask = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(1), f_z, f_x, mask)
    out = jax.jit(op.apply)(variables, f_z, f_x, mask)
    assert out.shape == (B, HX, HX, C)
    expected = _reference(name, variables.get("params", {}), *map(np.asarray, (f_z, f_x, mask)))
    np.testing.assert_allclose(np.asarray(out), expected, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_projection_to_other_width(name: str) -> None:
    f_z, f_x, mask = _inputs()
    op = get_operator(name, features=24)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask)
    assert op.apply(variables, f_z, f_x, mask).shape == (B, HX, HX, 24)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_gradients_reach_inputs_and_parameters(name: str) -> None:
    f_z, f_x, mask = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask)

    def loss(v: dict, z: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
        return jnp.sum(jnp.sin(op.apply(v, z, x, mask)))

    g_vars, g_z, g_x = jax.grad(loss, argnums=(0, 1, 2))(variables, f_z, f_x)
    assert float(jnp.abs(g_z).sum()) > 0 and float(jnp.abs(g_x).sum()) > 0
    for path, leaf in jax.tree_util.tree_leaves_with_path(g_vars):
        assert float(jnp.abs(leaf).sum()) > 0, jax.tree_util.keystr(path)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_vmap_matches_loop(name: str) -> None:
    f_z, f_x, mask = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask)
    stacked = [jnp.stack([a, a * 0.5]) for a in (f_z, f_x)]
    batched = jax.vmap(lambda z, x: op.apply(variables, z, x, mask))(*stacked)
    for k in range(2):
        np.testing.assert_allclose(
            batched[k], op.apply(variables, stacked[0][k], stacked[1][k], mask), atol=1e-5
        )


def test_transductive_guidance_peaks_on_planted_foreground() -> None:
    rng = np.random.default_rng(0)
    foreground, background = rng.normal(size=C) * 2, rng.normal(size=C) * 2
    f_z = np.tile(background, (1, HZ, HZ, 1)).astype(np.float32)
    mask = np.zeros((1, HZ, HZ), np.float32)
    mask[0, 1:4, 1:4] = 1
    f_z[mask > 0] = foreground
    f_x = np.tile(background, (1, HX, HX, 1)).astype(np.float32) + rng.normal(0, 0.1, (1, HX, HX, C))
    planted = [(2, 3), (6, 7), (4, 1)]
    for i, j in planted:
        f_x[0, i, j] = foreground
    op = get_operator("transductive")
    out = op.apply({}, jnp.asarray(f_z), jnp.asarray(f_x, jnp.float32), jnp.asarray(mask))
    guidance = np.asarray(out - f_x)[0, ..., 0]
    top = {
        tuple(int(v) for v in np.unravel_index(k, guidance.shape)) for k in np.argsort(guidance.ravel())[-3:]
    }
    assert top == set(planted)
    assert guidance[2, 3] > 0.9 and np.median(guidance) < 0.1


def test_masked_average_and_pseudo_mask() -> None:
    f_z, _, mask = _inputs()
    np.testing.assert_allclose(
        masked_average(f_z, mask)[:, 0, 0], np.asarray(f_z)[:, 1:4, 1:3].mean((1, 2)), rtol=1e-5
    )
    boxes = jnp.array([[1.0, 2.0, 4.0, 5.0], [2.2, 2.2, 2.4, 2.4], [-3.0, -3.0, 20.0, 20.0]])
    masks = np.asarray(pseudo_mask(boxes, 7, 7))
    expected = np.zeros((7, 7))
    expected[2:5, 1:4] = 1  # centres 1.5..3.5 in x, 2.5..4.5 in y
    np.testing.assert_array_equal(masks[0], expected)
    assert masks[1].sum() == 1 and masks[1][2, 2] == 1  # tiny box: the cell holding its centre
    assert masks[2].all()
