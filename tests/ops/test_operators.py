"""Every matching operator: shapes, gradients, jit/vmap, and equality with an independent numpy reference.

The registry holds the authors' forms (JudasDie/SOTS ``lib/models/sot/match.py``); the legacy forms of the paper's
prose, kept for the shipped TrackerNet checkpoints, are checked against their own references at the end.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.ops import OPERATOR_NAMES, OPERATORS, get_operator
from automatch_jax.ops import SEARCH_SPACE as AUTHORS
from automatch_jax.ops.common import masked_average, pseudo_mask
from automatch_jax.ops.legacy import LEGACY_OPERATORS, get_legacy_operator

B, HZ, HX, C = 2, 5, 9, 8


def _inputs(seed: int = 0) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    rng = np.random.default_rng(seed)
    f_z = rng.normal(size=(B, HZ, HZ, C)).astype(np.float32)
    f_x = rng.normal(size=(B, HX, HX, C)).astype(np.float32)
    mask = np.zeros((B, HZ, HZ), np.float32)
    mask[:, 1:4, 1:3] = 1
    mask[1, 3, 3] = 0.5  # a resized pixel mask is not binary
    vector = rng.normal(size=(B, 1, 1, C)).astype(np.float32)
    return jnp.asarray(f_z), jnp.asarray(f_x), jnp.asarray(mask), jnp.asarray(vector)


def _np_pool(f_z: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (f_z * mask[..., None]).sum((1, 2)) / mask.sum((1, 2))[:, None]  # (B, C)


def _conv1x1(x: np.ndarray, p: dict) -> np.ndarray:
    return np.einsum("...c,cd->...d", x, np.asarray(p["kernel"])[0, 0]) + np.asarray(p["bias"])


def _lrelu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.1 * x)


def _softmax(a: np.ndarray, axes) -> np.ndarray:
    a = np.exp(a - a.max(axes, keepdims=True))
    return a / a.sum(axes, keepdims=True)


def _attention(p: dict, q_in: np.ndarray, kv_in: np.ndarray, v_in: np.ndarray) -> np.ndarray:
    """Flax/PyTorch multi-head attention of (B, Nq, C) queries over (B, Nk, C) keys and values."""
    p = {k: {n: np.asarray(v) for n, v in d.items()} for k, d in p.items()}
    q = np.einsum("bxc,chd->bxhd", q_in, p["query"]["kernel"]) + p["query"]["bias"]
    k = np.einsum("bzc,chd->bzhd", kv_in, p["key"]["kernel"]) + p["key"]["bias"]
    v = np.einsum("bzc,chd->bzhd", v_in, p["value"]["kernel"]) + p["value"]["bias"]
    weights = _softmax(np.einsum("bxhd,bzhd->bhxz", q, k) / np.sqrt(q.shape[-1]), -1)
    out = np.einsum("bhxz,bzhd->bxhd", weights, v)
    return np.einsum("bxhd,hdc->bxc", out, p["out"]["kernel"]) + p["out"]["bias"]


def _reference(name: str, p: dict, f_z: np.ndarray, f_x: np.ndarray, mask: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Independent numpy computation of each authors' form, written from match.py's equations."""
    if name == "pointdw":
        return _conv1x1(f_x, p["search_embed"]) * _conv1x1(v, p["template_embed"])
    if name == "add":
        return _conv1x1(f_x, p["search_embed"]) + _conv1x1(v, p["template_embed"])
    if name == "concat":
        x = _conv1x1(f_x, p["search_embed"])
        tiled = np.broadcast_to(_conv1x1(v, p["template_embed"]), x.shape)
        return _conv1x1(np.concatenate([x, tiled], -1), p["fuse"])
    if name == "film":
        x = _conv1x1(f_x, p["search_embed"])
        return (1 + _lrelu(_conv1x1(v, p["gamma"]))) * x + _lrelu(_conv1x1(v, p["beta"]))
    if name == "pairwise":
        ex, ez = _conv1x1(f_x, p["embed"]), _conv1x1(f_z, p["embed"])
        rel = np.zeros((B, HX, HX, HZ * HZ), np.float32)
        for u in range(HZ):
            for w in range(HZ):
                rel[..., u * HZ + w] = (ex * ez[:, u, w][:, None, None]).sum(-1)
        return _conv1x1(rel, p["down"])
    if name == "transformer":
        q = _conv1x1(f_x, p["query_embed"]).reshape(B, -1, C)
        k = _conv1x1(f_z, p["key_embed"]).reshape(B, -1, C)
        val = _conv1x1(f_z, p["value_embed"]).reshape(B, -1, C)
        return _attention(p["attention"], q, k, val).reshape(B, HX, HX, -1)
    if name == "transductive":
        ex, ez = _conv1x1(f_x, p["search_embed"]), _conv1x1(f_z, p["template_embed"])
        a = _softmax(np.einsum("bijd,buvd->bijuv", ex, ez) / np.sqrt(ex.shape[-1]), (-2, -1))
        return f_x + np.einsum("bijuv,buv->bij", a, mask)[..., None]
    raise AssertionError(name)


def test_registry() -> None:
    assert AUTHORS == ("pointdw", "concat", "add", "pairwise", "film", "transformer", "transductive")
    assert set(AUTHORS) <= set(OPERATORS)
    # the names TrackerNet's configs use: the legacy registry's, in the paper's order, each an authors' name too
    assert OPERATOR_NAMES == LEGACY_OPERATORS.names() == (
        "dw_xcorr", "concat", "add", "pairwise", "film", "transformer", "transductive")
    assert set(OPERATOR_NAMES) <= set(OPERATORS)
    with pytest.raises(ValueError, match="unknown matching operator 'xcorr'"):
        get_operator("xcorr")
    with pytest.raises(ValueError, match="unknown matching operator 'pointdw'; known: dw_xcorr"):
        get_legacy_operator("pointdw")


@pytest.mark.parametrize("name", AUTHORS)
def test_matches_reference(name: str) -> None:
    f_z, f_x, mask, vector = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(1), f_z, f_x, mask, vector)
    out = jax.jit(op.apply)(variables, f_z, f_x, mask, vector)
    assert out.shape == (B, HX, HX, C)
    arrays = [np.asarray(a) for a in (f_z, f_x, mask, vector)]
    expected = _reference(name, variables.get("params", {}), *arrays)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=2e-4, atol=2e-4)
    # without a template vector the operators match with F_z averaged inside the mask (the paper's f_z)
    pooled = _np_pool(arrays[0], arrays[2])[:, None, None, :]
    np.testing.assert_allclose(
        np.asarray(op.apply(variables, f_z, f_x, mask)), _reference(name, variables["params"], *arrays[:3], pooled),
        rtol=2e-4, atol=2e-4,
    )


def test_transformer_has_four_heads_over_the_full_template() -> None:
    f_z, f_x, mask, vector = _inputs()
    op = get_operator("transformer")
    params = op.init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)["params"]
    assert params["attention"]["query"]["kernel"].shape == (C, 4, C // 4)
    with pytest.raises(ValueError, match="not divisible by num_heads=4"):
        get_operator("transformer", features=6).init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)


def test_pairwise_embeds_to_64_and_shares_the_embedding() -> None:
    f_z, f_x, mask, vector = _inputs()
    params = get_operator("pairwise").init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)["params"]
    assert set(params) == {"embed", "down"}
    assert params["embed"]["kernel"].shape == (1, 1, C, 64) and params["down"]["kernel"].shape == (1, 1, HZ * HZ, C)


@pytest.mark.parametrize("name", AUTHORS)
def test_projection_to_other_width(name: str) -> None:
    f_z, f_x, mask, vector = _inputs()
    op = get_operator(name, features=24)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)
    assert op.apply(variables, f_z, f_x, mask, vector).shape == (B, HX, HX, 24)


USES_MAP = {"pairwise", "transformer", "transductive"}  # the others read the template vector only


@pytest.mark.parametrize("name", AUTHORS)
def test_gradients_reach_inputs_and_parameters(name: str) -> None:
    f_z, f_x, mask, vector = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)

    def loss(v: dict, z: jnp.ndarray, x: jnp.ndarray, vec: jnp.ndarray) -> jnp.ndarray:
        return jnp.sum(jnp.sin(op.apply(v, z, x, mask, vec)))

    g_vars, g_z, g_x, g_v = jax.grad(loss, argnums=(0, 1, 2, 3))(variables, f_z, f_x, vector)
    assert float(jnp.abs(g_x).sum()) > 0
    assert (float(jnp.abs(g_z).sum()) > 0) == (name in USES_MAP)
    assert (float(jnp.abs(g_v).sum()) > 0) == (name not in USES_MAP)
    for path, leaf in jax.tree_util.tree_leaves_with_path(g_vars):
        assert float(jnp.abs(leaf).sum()) > 0, jax.tree_util.keystr(path)


@pytest.mark.parametrize("name", AUTHORS)
def test_vmap_matches_loop(name: str) -> None:
    f_z, f_x, mask, vector = _inputs()
    op = get_operator(name)
    variables = op.init(jax.random.PRNGKey(0), f_z, f_x, mask, vector)
    stacked = [jnp.stack([a, a * 0.5]) for a in (f_z, f_x, vector)]
    batched = jax.vmap(lambda z, x, v: op.apply(variables, z, x, mask, v))(*stacked)
    for k in range(2):
        np.testing.assert_allclose(
            batched[k], op.apply(variables, stacked[0][k], stacked[1][k], mask, stacked[2][k]), atol=1e-5
        )


def test_transductive_guidance_peaks_on_planted_foreground() -> None:
    """With identity embeddings the guidance is the template's foreground where a search cell matches it."""
    rng = np.random.default_rng(0)
    d = 64
    foreground, background = rng.normal(size=d) * 0.6, rng.normal(size=d) * 0.6
    f_z = np.tile(background, (1, HZ, HZ, 1)).astype(np.float32)
    mask = np.zeros((1, HZ, HZ), np.float32)
    mask[0, 1:4, 1:4] = 1
    f_z[mask > 0] = foreground
    f_x = np.tile(background, (1, HX, HX, 1)).astype(np.float32) + rng.normal(0, 0.05, (1, HX, HX, d))
    planted = [(2, 3), (6, 7), (4, 1)]
    for i, j in planted:
        f_x[0, i, j] = foreground
    op = get_operator("transductive")
    z, x, m = jnp.asarray(f_z), jnp.asarray(f_x, jnp.float32), jnp.asarray(mask)
    params = op.init(jax.random.PRNGKey(0), z, x, m)["params"]
    identity = {"kernel": jnp.eye(d)[None, None], "bias": jnp.zeros(d)}
    out = op.apply({"params": {**params, "search_embed": identity, "template_embed": identity}}, z, x, m)
    guidance = np.asarray(out - x)[0, ..., 0]
    np.testing.assert_allclose(np.asarray(out - x)[0], np.broadcast_to(guidance[..., None], (HX, HX, d)), atol=1e-5)
    top = {tuple(int(v) for v in np.unravel_index(k, guidance.shape)) for k in np.argsort(guidance.ravel())[-3:]}
    assert top == set(planted)
    assert guidance[2, 3] > 0.9 and np.median(guidance) < 0.1


def test_masked_average_and_pseudo_mask() -> None:
    f_z, _, mask, _ = _inputs()
    np.testing.assert_allclose(
        masked_average(f_z, mask)[0, 0, 0], np.asarray(f_z)[0, 1:4, 1:3].mean((0, 1)), rtol=1e-5
    )
    boxes = jnp.array([[1.0, 2.0, 4.0, 5.0], [2.2, 2.2, 2.4, 2.4], [-3.0, -3.0, 20.0, 20.0]])
    masks = np.asarray(pseudo_mask(boxes, 7, 7))
    expected = np.zeros((7, 7))
    expected[2:5, 1:4] = 1  # centres 1.5..3.5 in x, 2.5..4.5 in y
    np.testing.assert_array_equal(masks[0], expected)
    assert masks[1].sum() == 1 and masks[1][2, 2] == 1  # tiny box: the cell holding its centre
    assert masks[2].all()


def _legacy_reference(name: str, params: dict, f_z: np.ndarray, f_x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The paper-prose equations of the legacy forms."""
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
        rel = np.einsum("bijc,buvc->bijuv", f_x, f_z).reshape(B, HX, HX, HZ * HZ)
        return _conv1x1(rel, params["proj"])
    if name == "film":
        return (1 + _conv1x1(pooled, params["gamma"])) * f_x + _conv1x1(pooled, params["beta"])
    if name == "transformer":
        flat_z = f_z.reshape(B, -1, C)
        return _attention(params["attention"], f_x.reshape(B, -1, C), flat_z, flat_z).reshape(B, HX, HX, -1)
    if name == "transductive":
        a = _softmax(np.einsum("bijc,buvc->bijuv", f_x, f_z) / np.sqrt(C), (-2, -1))
        return np.einsum("bijuv,buv->bij", a, mask)[..., None] + f_x
    raise AssertionError(name)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_legacy_forms_match_their_reference(name: str) -> None:
    f_z, f_x, mask, _ = _inputs()
    op = get_legacy_operator(name)
    variables = op.init(jax.random.PRNGKey(1), f_z, f_x, mask)
    out = jax.jit(op.apply)(variables, f_z, f_x, mask)
    expected = _legacy_reference(name, variables.get("params", {}), *map(np.asarray, (f_z, f_x, mask)))
    np.testing.assert_allclose(np.asarray(out), expected, rtol=2e-4, atol=2e-4)
    assert get_legacy_operator(name, features=24).apply(
        get_legacy_operator(name, features=24).init(jax.random.PRNGKey(0), f_z, f_x, mask), f_z, f_x, mask
    ).shape == (B, HX, HX, 24)
