"""``benchmarks/operator_study.py`` end to end at toy size: synthetic benchmark, a random-ablation architecture,
training, tracking beside OpenCV's trackers, per-attribute tables; a second run resumes without redoing work."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _study():
    spec = importlib.util.spec_from_file_location("operator_study", REPO / "benchmarks" / "operator_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(work: Path, variants: str) -> list[str]:
    return ["--variant", "smoke", "--variants", variants, "--steps", "3", "--search-steps", "2", "--sequences", "2",
            "--frames", "6", "--builtin-imagery", "--work", str(work), "--quiet"]


def test_study_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    study = _study()
    summary = study.main(_args(tmp_path, "dw_xcorr,random"))
    trackers = summary["benchmarks"]["synth"]["trackers"]
    assert set(trackers) == {"dw_xcorr", "random", "CSRT", "KCF"}
    assert summary["architectures"]["dw_xcorr"] == {"cls": ["dw_xcorr"], "reg": ["dw_xcorr"]}
    assert len(summary["architectures"]["random"]["cls"]) == 2
    table = (tmp_path / "study.md").read_text()
    assert "| tracker | cls | reg | AUC | Prec@20 | IV | SV |" in table
    assert (tmp_path / "plots" / "synth" / "success.png").is_file()
    assert json.loads((tmp_path / "study.json").read_text())["benchmarks"]["synth"]["trackers"]["KCF"]
    done = [tmp_path / "models/dw_xcorr/model/automatch.json", tmp_path / "results/synth/dw_xcorr/Synth-IV-01.txt",
            tmp_path / "arch/random.json"]
    stamps = [p.stat().st_mtime_ns for p in done]
    study.main(_args(tmp_path, "dw_xcorr,random"))
    assert [p.stat().st_mtime_ns for p in done] == stamps  # nothing retrained, re-searched or re-tracked


@pytest.mark.slow
def test_full_study_rows_at_toy_size(tmp_path: Path) -> None:
    summary = _study().main(_args(tmp_path, ",".join(_study().ALL_VARIANTS)))
    assert len(summary["benchmarks"]["synth"]["trackers"]) == 11 + 2


def test_a_recipe_gives_every_variant_its_training_section() -> None:
    study = _study()
    plain = study.base_config("lite-fast", 500, 3)
    cpu = study.base_config("lite-fast", 500, 3, str(REPO / "configs" / "automatch_lite_cpu.py"))
    assert plain.train.batch_size == 32 and (cpu.train.batch_size, cpu.train.lr) == (16, 0.01)
    assert cpu.train.steps == 500 and cpu.train.seed == 3 and cpu.train.unfreeze_step == 501
    assert cpu.search.batch_size == 16 and cpu.model.backbone == "efficientnet_lite0_stage4"
