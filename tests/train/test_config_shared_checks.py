"""Validation uses the model package's facts rather than copies: the default backbone when ``model`` names none
(:data:`~automatch_jax.models.config.DEFAULT_BACKBONE`) and the checkpoint manifest's JSON form of a ``model``
section (:func:`~automatch_jax.models.checkpoint.jsonable`) when ``init_from`` compares networks."""

from __future__ import annotations

import json
from pathlib import Path

from automatch_jax.models.backbones import BACKBONES
from automatch_jax.models.checkpoint import FORMAT, MANIFEST, VERSION, jsonable
from automatch_jax.models.config import DEFAULT_BACKBONE
from automatch_jax.train.config import load_config, validate_config
from tests.train.test_config_schema import refusal
from tests.train.test_train import SMOKE


def test_frozen_units_count_the_default_backbones_units_when_model_names_none() -> None:
    config = load_config(SMOKE)
    units = BACKBONES.metadata(DEFAULT_BACKBONE)["units"]
    config.model.backbone = "efficientnet_lite0"
    assert BACKBONES.metadata(config.model.backbone)["units"] > units  # the test tells the two apart
    config.train.frozen_units = units
    validate_config(config, "train")
    del config.model["backbone"]
    assert f"train.frozen_units {units}: the backbone has {units} units" in refusal(config)
    config.train.frozen_units = units - 1
    validate_config(config, "train")


def test_init_from_compares_the_model_as_the_manifest_stores_it(tmp_path: Path) -> None:
    config = load_config(SMOKE)
    folder = tmp_path / "first"
    folder.mkdir()
    manifest = {"format": FORMAT, "version": VERSION, "name": "first", "model": jsonable(dict(config.model)),
                "settings": {}, "info": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    config.init_from = str(folder)
    assert isinstance(config.model.cls_operators, tuple)  # a tuple here, a list in the manifest: the same network
    validate_config(config, "train")
    config.model.reg_operators = ("film", "add")
    assert ("a different network (model.reg_operators is ['film', 'pairwise'] there, ['film', 'add'] in this "
            "config)") in refusal(config)
