"""``validate_config``: the whole config against the schema of its defaults, one line per problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from automatch_jax.data.pair_sources import build_source
from automatch_jax.data.training_sets import TRAINING_SETS
from automatch_jax.errors import AutomatchError
from automatch_jax.models.config import model_arch, named_dtype
from automatch_jax.models.losses import CLS_LOSSES, IOU_LOSSES, classification_loss, iou_loss
from automatch_jax.search.bilevel import ORDERS
from automatch_jax.train.config import (
    COMPUTE_DTYPES,
    IMAGERY_SOURCES,
    LOSS_KINDS,
    Rule,
    config_schema,
    load_config,
    validate_config,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [
    "smoke.py", "automatch_lite.py", "automatch_lite_fast.py", "automatch_resnet50.py", "ocean_resnet50.py",
    "automatch_lite_cpu.py", "automatch_lite_cpu.py:1500", "automatch_lite_cpu.py:1500,fast",
    "automatch_lite_fast_authors.py", "automatch_lite_cpu.py:1500,fast-authors", "ocean_lite.py",
    "automatch_lite_cpu.py:1500,ocean",
    *(f"table1.py:{op}{variant}" for op in ("dw_xcorr", "concat", "add", "pairwise", "film", "transformer",
                                             "transductive") for variant in ("", ",lite", ",lite-fast", ",smoke")),
]


def test_the_cpu_recipe_builds_the_authors_network_and_fine_tunes_only_the_fast_variants_upper_stages() -> None:
    frozen = load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:1500,fast")
    assert frozen.train.unfreeze_step == 1501  # never: the backbone stays frozen
    assert frozen.inference.lost_score == 0.1  # the Ocean-head models keep the rule they were measured with
    assert load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:1500").inference.lost_score == 0.0
    assert model_arch(load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:1500,ocean").model) == "ocean"
    for variant, backbone, search, unfreeze in (("fast-authors", "efficientnet_lite0_stage4", 127, 2250),
                                                ("", "efficientnet_lite0", 255, 3001)):
        authors = load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:3000,{variant}")
        assert authors.train.steps == 3000 and authors.train.unfreeze_step == unfreeze
        assert authors.model.arch == "automatch" and "real-video" in authors.data.sources
        assert authors.model.backbone == backbone and authors.model.search_size == search
    assert load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:3000,fast-authors").train.frozen_units == 4
    with pytest.raises(AutomatchError, match="fast-authors"):
        load_config(f"{REPO / 'configs' / 'automatch_lite_cpu.py'}:1500,nosuch")


def smoke() -> ml_collections.ConfigDict:
    return load_config(REPO / "configs" / "smoke.py")


def refusal(config, command: str = "train") -> str:
    with pytest.raises(AutomatchError) as caught:
        validate_config(config, command)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("spec", SHIPPED)
def test_every_shipped_config_validates_for_training_and_search(spec: str) -> None:
    config = load_config(f"{REPO / 'configs'}/{spec}")
    validate_config(config, "train")
    validate_config(config, "search")


def _set(path: str, value) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        *parents, key = path.split(".")
        section = config
        for parent in parents:
            section = section.setdefault(parent, {})
        section[key] = value

    return change


# (change to the smoke config as a plain dict, words the one-line answer must hold)
ISSUE_EXAMPLES = [
    (_set("train.checkpoint_evry", 5), ["train.checkpoint_evry", "unknown", "did you mean checkpoint_every"]),
    (_set("loss.bogus", 1), ["loss.bogus", "unknown", "known: cls, iou, radius, reg_weight"]),
    (_set("data.pairs.jitter", 0.1), ["data.pairs.jitter", "unknown", "scale_jitter"]),
    (_set("loss.cls", "bcd"), ["loss.cls", "'bcd'", "'bce', 'focal'"]),
    (_set("loss.iou", 3), ["loss.iou", "'log', 'linear', 'giou'"]),
    (_set("inference.lr", 2.0), ["inference", "lr=2.0", "out of range"]),
    (_set("inference.penalty", 0.1), ["inference.penalty", "did you mean penalty_k"]),
    (_set("train.steps", 0), ["train.steps = 0", "an integer >= 1"]),
    (_set("train.steps", 100.0), ["train.steps = 100.0", "an integer"]),
    (_set("train.lr", "fast"), ["train.lr = 'fast'", "a number > 0"]),
    (_set("train.momentum", 1.0), ["train.momentum", "[0, 1)"]),
    (_set("train.dtype", "float64"), ["train.dtype", "'auto', 'float32'"]),
    (_set("train.eval_every", 25), ["train.eval_every 25", "multiple of train.log_every 10"]),
    (_set("model.backbone", "resnet18"), ["model.backbone", "'resnet50'", "'tiny'"]),
    (_set("model.cls_operators", ("xcorr",)), ["model.cls_operators", "dw_xcorr"]),
    (_set("model.exemplar_cells", 50), ["model:", "exemplar_cells=50"]),
    (_set("model.chanels", 8), ["model.chanels", "did you mean channels"]),
    (_set("stepz", 8), ["config.stepz", "unknown section or setting"]),
    (_set("data.pairs.search_size", 300), ["data.pairs.search_size", "set by model.search_size"]),
    (_set("data.pairs.negative", 1.5), ["data.pairs.negative = 1.5", "[0, 1]"]),
    (_set("data.pairs.target_min", 100.0), ["target_min 100", "target_max 64"]),
    (_set("data.validation_fraction", 0.9), ["data.validation_fraction", "(0, 0.5]"]),
    (_set("data.sources.imagenet", {"weight": 1.0}), ["data.sources.imagenet", "unknown training source", "coco"]),
    (_set("data.sources.coco", {"weight": 1.0}), ["data.sources.coco.root", "missing"]),
    (_set("data.sources.coco", {"root": "/no/such/coco"}), ["/no/such/coco", "dataset folder not found"]),
    (_set("data.sources.coco", {"root": "/", "splt": "val"}), ["data.sources.coco.splt", "did you mean split"]),
    (_set("data.sources.synthetic", {"weight": 0.0}), ["data.sources", "every weight is 0"]),
    (_set("data.sources.synthetic-video", {"attributes": 20}), ["attributes = 20", "[0, 11]"]),
    (_set("backbone_weights", "/no/such/weights.pth"), ["backbone_weights", "not found"]),
    (_set("search.tau", "hot"), ["search.tau = 'hot'", "a number"]),
]


@pytest.mark.parametrize(("change", "words"), ISSUE_EXAMPLES)
def test_a_bad_config_is_one_line_naming_the_key_and_what_it_accepts(change, words: list[str]) -> None:
    config = smoke().to_dict()
    validate_config(config, "train")  # the plain-dict form of a good config is good too
    change(config)
    message = refusal(config)
    for word in words:
        assert word in message, message


def test_missing_sections_and_keys_are_named() -> None:
    config = smoke().to_dict()
    del config["train"]["steps"]
    assert "train.steps: missing" in refusal(config)
    config = smoke().to_dict()
    del config["loss"]
    assert "no 'loss' section" in refusal(config, "search")
    config = smoke().to_dict()
    del config["search"]
    validate_config(config, "train")  # training needs no search section
    assert "no 'search' section" in refusal(config, "search")


def test_search_checks_its_own_section_strictly_and_training_its_own() -> None:
    config = smoke()
    config.search.order = "third"
    validate_config(config, "train")  # the right type: training never reads it
    assert "search.order = 'third'" in refusal(config, "search")
    config = smoke()
    config.search.keep = 9
    assert "search.keep 9 exceeds the 7 operators" in refusal(config, "search")
    config = smoke()
    config.search.space = ("film", "film")
    assert "names an operator twice" in refusal(config, "search")
    config = smoke()
    config.inference = {"lr": 2.0}
    validate_config(config, "search")  # the search writes no tracker
    assert "out of range" in refusal(config, "train")
    with pytest.raises(ValueError, match="command"):
        validate_config(smoke(), "track")


def test_the_schema_is_the_defaults() -> None:
    schema = config_schema()
    config = smoke()
    for section in ("train", "search", "loss"):
        assert set(schema[section]) == set(config[section])
    assert {"exemplar_size", "search_size"}.isdisjoint(schema["data.pairs"])
    assert schema["train"]["steps"].kind is int and schema["train"]["lr"].kind is float
    assert schema["search"]["scalar"].kind is bool and schema["search"]["space"].kind is tuple


def test_the_names_the_schema_allows_are_those_the_code_implements(tmp_path: Path) -> None:
    schema = config_schema()  # the schema's choices are the implementing modules' own tuples, not copies of them
    assert schema["search"]["order"].choices is ORDERS
    assert schema["loss"]["cls"].choices is CLS_LOSSES and schema["loss"]["iou"].choices is IOU_LOSSES
    with pytest.raises(ValueError, match="known: " + ", ".join(CLS_LOSSES)):
        classification_loss(jnp.zeros((1, 3, 3)), jnp.eye(3)[None], "hinge")
    for name in COMPUTE_DTYPES:
        named_dtype(name, auto=True)
    logits, labels = jnp.zeros((1, 3, 3)), jnp.eye(3)[None]
    for kind in LOSS_KINDS["cls"]:
        assert np.isfinite(float(classification_loss(logits, labels, kind)))
    pred, weight = jnp.ones((1, 3, 3, 4)), jnp.ones((1, 3, 3))
    for kind in LOSS_KINDS["iou"]:
        assert np.isfinite(float(iou_loss(pred, pred * 2, weight, kind)))
    for name in [*IMAGERY_SOURCES, *TRAINING_SETS]:  # every source name the schema allows is one build_source knows
        with pytest.raises(AutomatchError) as caught:
            build_source({name: {"root": str(tmp_path / "missing")}}, None, progress=False)
        assert "unknown training source" not in str(caught.value)


def test_rules_say_what_they_accept() -> None:
    assert Rule(int, low=1).allowed() == "an integer >= 1"
    assert Rule(float, low=0, high=1, exclusive="high").allowed() == "a number in [0, 1)"
    assert Rule(float, low=0, exclusive="low").accepts(0.5) and not Rule(float, low=0, exclusive="low").accepts(0)
    assert not Rule(float).accepts(True) and not Rule(int).accepts(2.0) and Rule(float).accepts(2)
    assert not Rule(float).accepts(float("nan")) and Rule(float).accepts(float("nan"), strict=False)
    assert Rule(tuple, choices=("a", "b")).accepts(["a"]) and not Rule(tuple, choices=("a",)).accepts("a")
