"""``automatch search`` end to end on the smoke config: result file, plot, resume, ablations, two devices, and
``automatch train --arch``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from automatch_jax.cli.main import main
from automatch_jax.data.imagery import Imagery
from automatch_jax.errors import AutomatchError
from automatch_jax.search.arch import apply_arch, load_arch, random_architecture
from automatch_jax.search.run import search
from automatch_jax.train.config import load_config
from tests.data.fixtures import save_imagery
from tests.train.test_train import SMOKE


@pytest.fixture(scope="module")
def imagery() -> Imagery:
    return Imagery.builtin(cutouts=12)


def test_smoke_search_writes_the_result_and_resumes(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.search.update(steps=8, log_every=2, checkpoint_every=2, space=("dw_xcorr", "film", "pairwise", "add"),
                         workers=0)
    out = tmp_path / "arch.json"
    search(config, out, max_steps=4, imagery=imagery, progress=False)
    # killed while writing the checkpoint of step 4: step 4 is logged but only step 2 is saved
    shutil.rmtree(tmp_path / "arch_search" / "checkpoints" / "4")
    result = search(config, out, imagery=imagery, progress=False)
    assert result["steps"] == 8 and result["order"] == "second" and result["method"] == "bcm"
    assert result["settings"]["arch_lr"] == config.search.arch_lr and result["settings"]["batch_size"] == 8
    assert [h["step"] for h in result["history"]] == [0, 2, 4, 6, 8]
    metrics = (tmp_path / "arch_search" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in metrics] == [2, 4, 6, 8]
    for branch in ("cls", "reg"):
        kept = result[branch]["operators"]
        assert len(kept) == 2 and set(kept) <= set(result["space"])
        potentials = result[branch]["potentials"]
        assert sorted(potentials, key=lambda op: -potentials[op])[:2] == sorted(kept, key=lambda op: -potentials[op])
        assert len(result["manipulators"][branch]) == 4 and len(result["manipulators"][branch][0]) == 16
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert load_arch(out)["cls"]["operators"] == result["cls"]["operators"]


def test_ablations_scalar_and_random(tmp_path: Path, imagery: Imagery) -> None:
    config = load_config(SMOKE)
    config.search.update(steps=5, scalar=True, order="first", workers=0)
    result = search(config, tmp_path / "scalar.json", imagery=imagery, progress=False)
    assert all(len(row) == 1 for row in result["manipulators"]["cls"])
    config.search.random = True
    a = search(config, tmp_path / "random_a.json", progress=False)
    b = search(config, tmp_path / "random_b.json", progress=False)
    assert a["method"] == "random" and a["cls"] == b["cls"] and a["reg"] == b["reg"]
    assert set(a) == set(result)  # one schema for both methods
    choices = set()
    for seed in range(6):
        config.search.seed = seed
        choices.add(tuple(search(config, tmp_path / f"r{seed}.json", progress=False)["cls"]["operators"]))
    assert len(choices) > 1
    config.search.keep = 99  # called directly, the draw checks search.keep as the config check does
    with pytest.raises(AutomatchError, match="search.keep 99 exceeds the 7 operators"):
        random_architecture(config)


def test_arch_file_errors_and_train_with_arch(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AutomatchError, match="corrupt or truncated"):
        load_arch(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(AutomatchError, match="not an automatch architecture file"):
        load_arch(bad)
    arch = {"format": "automatch-arch", "version": 1, "cls": {"operators": ["film", "add"]},
            "reg": {"operators": ["dw_xcorr", "concat"]}}
    good = tmp_path / "arch.json"
    good.write_text(json.dumps(arch))
    config = apply_arch(load_config(SMOKE), load_arch(good))
    assert config.model.cls_operators == ("film", "add") and config.model.reg_operators == ("dw_xcorr", "concat")
    assert main(["train", "--config", str(SMOKE), "--arch", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "not an automatch architecture file" in capsys.readouterr().err
    assert main(["search", "--config", str(SMOKE), "--out", str(tmp_path / "x.json"), "--random", "--quiet"]) == 0
    assert "cls: keep" in capsys.readouterr().out


@pytest.mark.slow  # ~55 s in a fresh process; data-parallel steps run by default in the two-host search
# (tests/train/test_multihost.py) and the two-device training (tests/train/test_train.py)
def test_search_cli_on_two_fake_devices(tmp_path: Path, imagery: Imagery) -> None:
    cache = save_imagery(imagery, tmp_path / "imagery")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = tmp_path / "arch.json"
    cmd = [sys.executable, "-m", "automatch_jax.cli.main", "search", "--config", str(SMOKE), "--out", str(out),
           "--max-steps", "5", "--order", "first", "--imagery", str(cache), "--quiet"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["devices"] == 2 and data["steps"] == 5 and data["order"] == "first"
    assert "cls: keep" in result.stdout
