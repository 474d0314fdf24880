"""Configs build the networks they describe; ``automatch info`` reports parameters and FLOPs per part."""

from __future__ import annotations

from pathlib import Path

import pytest

from automatch_jax.cli.main import main
from automatch_jax.errors import AutomatchError
from automatch_jax.models.config import build_network
from automatch_jax.models.summary import network_costs
from automatch_jax.ops import OPERATOR_NAMES
from automatch_jax.train.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.py")))
def test_every_config_builds_its_network(name: str) -> None:
    config = load_config(CONFIGS / name)
    net = build_network(config.model)
    assert net.geometry.score_size == -(-config.model.search_size // 8)


def test_table1_configs_select_one_operator() -> None:
    for operator in OPERATOR_NAMES:
        config = load_config(f"{CONFIGS / 'table1.py'}:{operator}")
        assert tuple(config.model.cls_operators) == tuple(config.model.reg_operators) == (operator,)
    lite = load_config(f"{CONFIGS / 'table1.py'}:film,lite")
    assert lite.model.backbone == "efficientnet_lite0"
    with pytest.raises(AutomatchError, match="unknown operator 'conv'"):
        load_config(f"{CONFIGS / 'table1.py'}:conv")


def test_bad_configs_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(AutomatchError, match="config file not found"):
        load_config(tmp_path / "missing.py")
    broken = tmp_path / "broken.py"
    broken.write_text("def get_config(:\n")
    with pytest.raises(AutomatchError, match="broken.py: config file fails to load"):
        load_config(broken)
    config = load_config(CONFIGS / "smoke.py")
    config.model.unknown_knob = 3
    with pytest.raises(AutomatchError, match="unknown model setting.*unknown_knob"):
        build_network(config.model)


def test_costs_add_up_and_scale_with_the_network() -> None:
    small = network_costs(build_network(load_config(CONFIGS / "smoke.py").model))
    parts = {row.part: row for row in small}
    assert set(parts) == {"backbone", "neck", "matching", "heads", "total"}
    assert parts["total"].params == sum(parts[p].params for p in ("backbone", "neck", "matching", "heads"))
    assert all(parts[p].flops_per_frame > 0 for p in ("backbone", "neck", "matching", "heads"))
    # the tiny backbone's first conv: 64x64 outputs x 16 channels x 27 multiply-adds, counted twice
    assert parts["backbone"].flops_per_frame > 2 * 64 * 64 * 16 * 27
    config = load_config(CONFIGS / "smoke.py")
    config.model.tower_layers = 3
    deeper = {row.part: row for row in network_costs(build_network(config.model))}
    assert deeper["heads"].flops_per_frame > parts["heads"].flops_per_frame
    assert deeper["backbone"].flops_per_frame == parts["backbone"].flops_per_frame


def test_info_command(capsys: pytest.CaptureFixture) -> None:
    assert main(["info", "--config", str(CONFIGS / "smoke.py")]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "GFLOPs/frame" in out and "matching" in out
    assert main(["info", "--config", "no/such/config.py"]) == 2
    assert "config file not found" in capsys.readouterr().err
