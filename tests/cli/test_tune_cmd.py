"""``automatch tune`` end to end on a tiny synthetic benchmark: the best preset is written and ``track`` and
``run-benchmark`` apply it; a rerun with worker processes continues the study; bad arguments and bad preset files
are one line and exit code 2 before any tracking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.cli import tune_cmd
from automatch_jax.cli.main import build_parser, main
from automatch_jax.tracking import Tracker, tune
from tests.data.fixtures import write_otb_root
from tests.tracking.test_tune import synthetic_benchmark


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_benchmark(tmp_path_factory.mktemp("tune-cli") / "bench")


def test_tune_writes_a_preset_that_track_and_run_benchmark_apply(
    bench: Path, smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    study, best = tmp_path / "study.db", tmp_path / "best.json"
    argv = ["tune", "--root", str(bench), "--study", str(study), "--out", str(best), "--model",
            str(smoke_checkpoint), "--set", "lost_score=0", "--param", "penalty_k=0:0.2", "--seed", "1", "--quiet"]
    assert main([*argv, "--trials", "2"]) == 0
    assert "2 trial(s) run now, 2 in" in capsys.readouterr().out
    preset = json.loads(best.read_text())
    assert set(preset["settings"]) == set(tune.DEFAULT_SPACE)  # lost_score fixed, the others searched
    assert preset["settings"]["lost_score"] == 0.0 and 0.0 <= preset["settings"]["penalty_k"] <= 0.2
    assert preset["tune"]["trials"] == 2 and preset["tune"]["dataset"] == "otb" and preset["tune"]["sequences"] == 2
    # two worker processes continue the study up to its new budget, exactly
    assert main([*argv, "--trials", "4", "--workers", "2"]) == 0
    assert "2 trial(s) run now, 4 in" in capsys.readouterr().out
    trials = tune.open_study(tune.TuneJob(study, "otb", bench, str(smoke_checkpoint), None, {"lost_score": 0.0},
                                          tune.search_space(["penalty_k=0:0.2"], {"lost_score": 0.0}), seed=1)
                             ).get_trials(deepcopy=False)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4
    preset = json.loads(best.read_text())
    assert preset["tune"]["trials"] == 4
    assert preset["tune"]["value"] == pytest.approx(max(t.value for t in trials))

    tracker = Tracker.from_pretrained(smoke_checkpoint, preset=str(best))
    assert tracker.settings.penalty_k == preset["settings"]["penalty_k"]
    assert tracker.settings.context == preset["settings"]["context"]
    boxes = tmp_path / "boxes.txt"
    sequence = bench / "Synth-OCC-01"
    assert main(["track", str(sequence), "--model", str(smoke_checkpoint), "--preset", str(best), "--out",
                 str(boxes), "--quiet"]) == 0
    assert np.loadtxt(boxes, delimiter=",").shape == (5, 4)
    assert main(["run-benchmark", "--dataset", "otb", "--root", str(bench), "--results", str(tmp_path / "res" / "t"),
                 "--model", str(smoke_checkpoint), "--preset", str(best), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "res" / "t").glob("*.txt") if "_time" not in p.name) == [
        "Synth-OCC-01.txt", "Synth-SV-01.txt"]


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("otb100")
    write_otb_root(root, np.random.default_rng(0))
    return root


BAD_TUNE = [
    ([], "give a budget: --trials N and/or --minutes M"),
    (["--trials", "0"], "argument --trials: expected an integer >= 1, got '0'"),
    (["--minutes", "-1"], "argument --minutes: expected a number > 0, got '-1'"),
    (["--trials", "2", "--workers", "0"], "argument --workers: expected an integer >= 1"),
    (["--trials", "2", "--param", "lr=0:2"], "--param 'lr=0:2': lr must be between 0 and 1"),
    (["--trials", "2", "--param", "speed=0:1"], "unknown setting 'speed'"),
    (["--trials", "2", "--param", "lr=0.1:0.5", "--set", "lr=0.3"], "lr is both fixed (--set) and searched"),
    (["--trials", "2", "--set", "lr=fast"], "--set 'lr=fast': the value must be a number"),
    (["--trials", "2", "--set", "lr=3"], "tracker setting lr=3.0 is out of range"),
    (["--trials", "2", "--out", "{tmp}"], "is a folder; expected a file name"),
    (["--trials", "2", "--study", "{tmp}/notes.txt/s.db"], "notes.txt is a file, not a folder"),
    (["--trials", "2", "--study", "{tmp}/notes.txt"], "not an SQLite database"),
    (["--trials", "2", "--root", "{tmp}/nowhere"], "dataset folder not found"),
    (["--trials", "2", "--model", "{tmp}/no-model"], "no such checkpoint folder or named model"),
    (["--trials", "2", "--dataset", "otb100", "--root", "{otb}"], "--dataset otb100 is a test split"),
    (["--trials", "2", "--dataset", "otb", "--root", "{otb}"], "--dataset otb is a test split"),
    (["--trials", "2", "--preset", "{tmp}/missing.json"], "preset file"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_TUNE, ids=[" ".join(a) or "no budget" for a, _ in BAD_TUNE])
def test_bad_tune_arguments_are_one_line_before_any_tracking(
    extra: list[str], message: str, bench: Path, otb_root: Path, smoke_checkpoint: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def started(*args, **kwargs):
        raise AssertionError("tuning started before the bad argument was refused")

    monkeypatch.setattr(tune, "tune", started)
    (tmp_path / "notes.txt").write_text("notes\n")
    defaults = {"--root": str(bench), "--study": str(tmp_path / "s.db"), "--out": str(tmp_path / "best.json"),
                "--model": str(smoke_checkpoint)}
    extra = [a.format(tmp=tmp_path, otb=otb_root) for a in extra]
    argv = ["tune", *extra]
    for option, value in defaults.items():
        if option not in extra:
            argv += [option, value]
    capsys.readouterr()
    assert main([*argv, "--quiet"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("automatch") and message in lines[0], captured.err
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "best.json").exists()


def test_a_test_split_is_tuned_on_only_when_allowed(
    otb_root: Path, smoke_checkpoint: Path, tmp_path: Path
) -> None:
    parser_args = ["tune", "--dataset", "otb100", "--root", str(otb_root), "--study", str(tmp_path / "s.db"),
                   "--out", str(tmp_path / "b.json"), "--model", str(smoke_checkpoint), "--trials", "1",
                   "--allow-test-split"]
    job = tune_cmd.build_job(build_parser().parse_args(parser_args))
    assert job.dataset == "otb100" and job.sequences == 100 and job.trials == 1


@pytest.mark.parametrize(("text", "message"), [
    ('{"settings": {"lr": 2}}', "tracker setting lr=2.0 is out of range: it must be between 0 and 1"),
    ('{"settings": {"speed": 1}}', "unknown tracker setting(s) speed"),
    ('{"settings": {"lr": "fast"}}', "setting lr='fast' is not a finite number"),
    ('{"settings": {"context": Infinity}}', "setting context=inf is not a finite number"),
    ('{"settings": {}, "notes": 1}', "unknown key(s) notes; known: settings, tune"),
    ('{"penalty_k": 0.1}', 'expected a JSON object {"settings"'),
    ("not json", "not valid JSON"),
    (None, "not found"),
])
def test_a_bad_preset_file_is_one_line(
    text: str | None, message: str, smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    preset = tmp_path / "preset.json"
    if text is not None:
        preset.write_text(text)
    capsys.readouterr()
    code = main(["track", "frames", "--model", str(smoke_checkpoint), "--preset", str(preset), "--quiet"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1
    assert re.search(f"argument --preset: preset file {re.escape(str(preset))}: ", lines[0]) and message in lines[0]
