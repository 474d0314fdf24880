"""``benchmarks/source_ablation.py`` at toy size: one run per source mix, then one table beside CSRT."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from automatch_jax.errors import AutomatchError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("source_ablation", REPO / "benchmarks" / "source_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_mix_keeps_only_its_sources_at_the_configs_weights(ablation) -> None:
    arg = str(REPO / "configs" / "automatch_lite_cpu.py") + ":400,fast-authors"
    config = ablation.mix_config(arg, ["synthetic", "real-video"], frozen=True)
    assert config.data.sources.to_dict() == {"synthetic": {"weight": 1.0}, "real-video": {"weight": 0.5}}
    assert config.train.unfreeze_step == 401  # never unfrozen
    assert ablation.mix_config(arg, ["synthetic"], frozen=False).train.unfreeze_step == 300
    with pytest.raises(AutomatchError, match="mot not in the config's data.sources"):
        ablation.mix_config(arg, ["synthetic", "mot"], frozen=True)


def test_bad_input_is_one_line_and_exit_code_2_before_any_run(ablation, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    smoke = str(REPO / "configs" / "smoke.py")
    for argv, message in [(["--mix", "synthetic,real-video"], "real-video not in the config's data.sources"),
                          (["--bench", str(tmp_path / "absent")], "absent: no such benchmark folder")]:
        with pytest.raises(SystemExit) as exit_info:
            ablation.main(["--config", smoke, "--work", str(tmp_path / "work"), "--builtin-imagery", *argv])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_each_mix_is_trained_and_tracked_beside_csrt(ablation, tmp_path: Path) -> None:
    config = tmp_path / "two_sources.py"
    config.write_text(
        "from pathlib import Path\n"
        "from automatch_jax.train.config import load_config\n\n\n"
        "def get_config():\n"
        f"    config = load_config({str(REPO / 'configs' / 'smoke.py')!r})\n"
        "    config.data.sources = {'synthetic': {'weight': 1.0}, 'synthetic-video': {'weight': 1.0}}\n"
        "    return config\n")
    summary = ablation.main(["--config", str(config), "--work", str(tmp_path / "work"), "--builtin-imagery",
                             "--max-steps", "2", "--sequences", "2", "--frames", "5", "--quiet"])
    trackers = summary["benchmarks"]["synthetic"]["trackers"]
    assert list(trackers) == ["synthetic", "synthetic+synthetic-video", "CSRT"]
    assert all(0 <= t["overall"]["success_auc"] <= 1 for t in trackers.values())
    assert (tmp_path / "work" / "runs" / "synthetic+synthetic-video" / "model").is_dir()
