"""One source of truth for the network a ``config.model`` section describes: the default architecture and backbone
(:data:`~automatch_jax.models.config.DEFAULT_ARCH`, :data:`~automatch_jax.models.config.DEFAULT_BACKBONE`), the
operator names each architecture takes (from the operator registries) and the one check of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.models import backbones, geometry
from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.checkpoint import jsonable
from automatch_jax.models.config import (
    ARCHITECTURES,
    DEFAULT_ARCH,
    DEFAULT_BACKBONE,
    architecture_operators,
    automatch_model_config,
    build_network,
    check_operators,
    default_model_config,
    model_arch,
)
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.ops import OPERATORS
from automatch_jax.ops.legacy import LEGACY_OPERATORS


def test_the_default_architecture_and_backbone_are_one_constant_each() -> None:
    assert DEFAULT_ARCH == "ocean" and DEFAULT_ARCH in ARCHITECTURES
    assert model_arch({}) == DEFAULT_ARCH and model_arch(default_model_config()) == DEFAULT_ARCH
    assert model_arch(automatch_model_config()) == "automatch"
    assert type(build_network({"backbone": "tiny"})) is ARCHITECTURES.get(DEFAULT_ARCH)
    assert architecture_operators() == architecture_operators(DEFAULT_ARCH)
    # the configs' backbone and the one either network falls back to when the section names none
    assert default_model_config().backbone == automatch_model_config().backbone == DEFAULT_BACKBONE
    for network in (TrackerNet, AutoMatchNet):
        assert network.__dataclass_fields__["backbone"].default == DEFAULT_BACKBONE
    assert DEFAULT_BACKBONE in backbones.BACKBONES


def test_each_architectures_operators_are_its_registrys_names() -> None:
    assert architecture_operators("ocean") == LEGACY_OPERATORS.names()  # TrackerNet builds from the legacy forms
    assert set(architecture_operators("automatch")) <= set(OPERATORS.names())  # AutoMatchNet from get_operator
    assert len(set(architecture_operators("automatch"))) == len(architecture_operators("automatch"))


@pytest.mark.parametrize(("arch", "bad", "hint"), [("automatch", "dw_xcorr", "'pointdw'"),
                                                   ("ocean", "pointdw", "'dw_xcorr'"), ("ocean", "nonesuch", None)])
def test_build_network_checks_operators_with_the_one_check(arch: str, bad: str, hint: str | None) -> None:
    model = {**default_model_config(), "backbone": "tiny", "arch": arch}
    if arch == "automatch":
        model = {**automatch_model_config(), "backbone": "tiny"}
    with pytest.raises(AutomatchError) as built:
        build_network({**model, "reg_operators": ("film", bad)})
    with pytest.raises(AutomatchError) as checked:
        check_operators(("film", bad), arch, "model.reg_operators")
    message = str(built.value)
    assert message == str(checked.value)
    assert message.startswith(f"model.reg_operators: {bad!r} is not an operator of model.arch {arch!r}; known: ")
    assert ", ".join(architecture_operators(arch)) in message
    assert (f"depthwise correlation is {hint}" in message) == (hint is not None)
    check_operators(architecture_operators(arch), arch, "anything")  # the whole space passes
    check_operators((bad,), "siamfc", "anything")  # an unknown arch is build_network's to name


def test_geometry_imports_the_backbone_offsets_at_module_level() -> None:
    assert geometry.backbone_offset is backbones.backbone_offset
    assert geometry.geometry_for("tiny", 127, 63, 5).offset == backbones.backbone_offset("tiny", 127)


def test_jsonable_is_what_json_reads_back() -> None:
    value = {"ops": ("film", "add"), "n": np.int64(3), "x": np.float32(0.5), "nested": [("a",), {"b": (1, 2)}]}
    plain = jsonable(value)
    assert plain == json.loads(json.dumps(plain))
    assert plain == {"ops": ["film", "add"], "n": 3, "x": 0.5, "nested": [["a"], {"b": [1, 2]}]}
    assert type(plain["n"]) is int
