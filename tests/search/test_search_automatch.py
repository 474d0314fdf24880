"""``automatch search`` and ``automatch train --arch`` on the authors' network (``model.arch = "automatch"``): the
search space is :data:`~automatch_jax.ops.SEARCH_SPACE`, the result trains an AutoMatchNet with the
found operators, and names or files of the other architecture are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automatch_jax.cli.main import main
from automatch_jax.data.imagery import Imagery
from automatch_jax.errors import AutomatchError
from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.checkpoint import load_checkpoint
from automatch_jax.models.config import build_network
from automatch_jax.ops import OPERATOR_NAMES, SEARCH_SPACE
from automatch_jax.search.arch import apply_arch, load_arch
from automatch_jax.search.model import search_network
from automatch_jax.search.run import search
from automatch_jax.train.config import load_config, search_space, validate_config
from tests.data.fixtures import save_imagery
from tests.train.test_config_schema import refusal
from tests.train.test_train import SMOKE

# the smoke sizes (configs/smoke.py, tests/conftest.py SMOKE_AUTOMATCH) on the authors' network; 2 training steps,
# 3 first-order search steps
CONFIG_FILE = '''
import ml_collections

from automatch_jax.models.config import automatch_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "smoke-automatch"
    config.model = automatch_model_config()
    config.model.update(backbone="tiny", channels=16, reg_tower_layers=1, search_size=127, exemplar_size=63)
    config.train.update(batch_size=4, steps=2, warmup_steps=1, lr=0.02, warmup_lr=0.005, final_lr=0.002,
                        unfreeze_step=2, log_every=1, eval_every=2, eval_batches=1, checkpoint_every=2, workers=0)
    config.search.update(steps=3, batch_size=4, order="first", log_every=1, checkpoint_every=3, lr=0.02,
                         final_lr=0.005, arch_lr=0.01, workers=0)
    config.data.pairs = {"target_min": 18.0, "target_max": 64.0, "shift": 32.0, "distractors": 1}
    return config
'''


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "smoke_automatch.py"
    path.write_text(CONFIG_FILE)
    return path


@pytest.fixture(scope="module")
def imagery_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_imagery(Imagery.builtin(cutouts=12), tmp_path_factory.mktemp("imagery") / "cache")


def test_the_search_space_follows_the_architecture(config_file: Path) -> None:
    config = load_config(config_file)
    assert tuple(config.search.space) == ()  # the default: the architecture's whole space
    validate_config(config, "search")
    assert search_space(config) == SEARCH_SPACE
    net = search_network(config)
    assert isinstance(net, AutoMatchNet) and net.search_cell and tuple(net.cls_operators) == SEARCH_SPACE
    assert search_space(load_config(SMOKE)) == OPERATOR_NAMES  # the ocean network keeps TrackerNet's names
    config.search.space = ("dw_xcorr", "film")  # TrackerNet's name of the depthwise correlation
    message = refusal(config, "search")
    assert "search.space: 'dw_xcorr' is not an operator of model.arch 'automatch'" in message
    assert "known: " + ", ".join(SEARCH_SPACE) in message
    config.search.space = ("pointdw", "film", "add")
    validate_config(config, "search")
    assert search_space(config) == ("pointdw", "film", "add")
    config.search.keep = 4
    assert "search.keep 4 exceeds the 3 operators" in refusal(config, "search")
    ocean = load_config(SMOKE)
    ocean.search.space = ("pointdw", "film")
    known = ", ".join(OPERATOR_NAMES)
    assert "'pointdw' is not an operator of model.arch 'ocean'; known: " + known in refusal(ocean, "search")
    ocean.model.cls_operators = ("pointdw",)
    assert "model.cls_operators: 'pointdw' is not an operator of model.arch 'ocean'" in refusal(ocean, "train")


@pytest.mark.slow  # ~95 s: the space and refusals run by default (test_the_search_space_follows_the_architecture)
def test_search_then_train_the_found_automatch_network(tmp_path: Path, config_file: Path, imagery_cache: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "arch.json"
    result = search(load_config(config_file), out, imagery=Imagery.load(imagery_cache), progress=False)
    data = json.loads(out.read_text())
    assert data["arch"] == "automatch" and data["space"] == list(SEARCH_SPACE) and data["steps"] == 3
    assert [h["step"] for h in data["history"]] == [0, 1, 2, 3]
    for branch in ("cls", "reg"):
        kept = data[branch]["operators"]
        assert len(kept) == 2 and set(kept) <= set(SEARCH_SPACE) and kept == result[branch]["operators"]
        assert list(data[branch]["potentials"]) == list(SEARCH_SPACE)
        assert len(data["manipulators"][branch]) == len(SEARCH_SPACE) and len(data["manipulators"][branch][0]) == 16
    assert load_arch(out)["reg"]["operators"] == data["reg"]["operators"]

    run = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--arch", str(out), "--out", str(run), "--imagery",
                 str(imagery_cache), "--quiet"]) == 0
    checkpoint = load_checkpoint(run / "model")
    assert checkpoint.info["steps"] == 2
    net = build_network(checkpoint.model)
    assert isinstance(net, AutoMatchNet) and not net.search_cell
    for branch in ("cls", "reg"):
        assert tuple(getattr(net, f"{branch}_operators")) == tuple(data[branch]["operators"])
        matching = checkpoint.variables["params"][f"{branch}_matching"]
        assert set(data[branch]["operators"]) <= set(matching) and "cell" not in matching

    # an ARCH.json of the other architecture is refused in one line, either way round
    ocean_arch = tmp_path / "ocean.json"
    ocean_arch.write_text(json.dumps({**data, "arch": "ocean", "cls": {"operators": ["dw_xcorr", "film"]},
                                      "reg": {"operators": ["film", "pairwise"]}}))
    assert main(["train", "--config", str(config_file), "--arch", str(ocean_arch), "--out",
                 str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model.arch 'ocean' network; the config builds 'automatch'" in err
    with pytest.raises(AutomatchError, match="model.arch 'automatch' network; the config builds 'ocean'"):
        apply_arch(load_config(SMOKE), load_arch(out))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "cls": {"operators": ["dw_xcorr", "film"]}}))  # arch automatch, ocean name
    with pytest.raises(AutomatchError, match="branch 'cls' has no valid operator list"):
        load_arch(bad)


@pytest.mark.slow
def test_one_second_order_step_on_the_automatch_network(tmp_path: Path, config_file: Path,
                                                        imagery_cache: Path) -> None:
    config = load_config(config_file)
    config.search.update(order="second", steps=1, checkpoint_every=1)
    result = search(config, tmp_path / "arch.json", imagery=Imagery.load(imagery_cache), progress=False)
    assert result["order"] == "second" and result["steps"] == 1 and result["arch"] == "automatch"
    assert all(set(result[branch]["operators"]) <= set(SEARCH_SPACE) for branch in ("cls", "reg"))
