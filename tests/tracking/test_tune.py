"""The settings search (``automatch_jax.tracking.tune``): search space and splits, and a study that resumes
without repeating a finished trial and runs a killed run's unfinished trial again."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.data.imagery import Imagery
from automatch_jax.data.synth import SynthConfig, synthesise_benchmark
from automatch_jax.errors import AutomatchError
from automatch_jax.models.settings import RANGES
from automatch_jax.tracking import tune
from tests.data.fixtures import write_got10k_split, write_otb_root


def synthetic_benchmark(folder: Path) -> Path:
    """Two short OTB-format sequences that ``automatch synth`` would write (120x90 pixels, 5 frames)."""
    if not folder.is_dir():
        synthesise_benchmark(folder, Imagery.builtin(cutouts=4), 2, ("OCC", "SV"), 0, 0,
                             SynthConfig(width=120, height=90, frames=5), progress=False)
    return folder


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_benchmark(tmp_path_factory.mktemp("tune") / "bench")


def job_for(bench: Path, study: Path, checkpoint: Path, trials: int, **changes) -> tune.TuneJob:
    job = tune.TuneJob(study=study, dataset="otb", root=bench, model=str(checkpoint), dtype=None,
                       fixed={"lost_score": 0.0}, space={"penalty_k": (0.0, 0.3), "lr": (0.2, 1.0)}, seed=3,
                       trials=trials, sequences=2)
    return dataclasses.replace(job, **changes)


def test_default_space_lies_inside_the_settings_ranges() -> None:
    for name, (low, high) in tune.DEFAULT_SPACE.items():
        allowed_low, allowed_high = RANGES[name]
        assert allowed_low <= low < high <= allowed_high and math.isfinite(high), name


def test_search_space_from_params_and_fixed_settings() -> None:
    space = tune.search_space(["zoom=0.1:0.9", "lr=0.5:1"], {"penalty_k": 0.1})
    assert space["zoom"] == (0.1, 0.9) and space["lr"] == (0.5, 1.0)
    assert "penalty_k" not in space and space["window_influence"] == tune.DEFAULT_SPACE["window_influence"]
    for text, message in [
        ("lr", "expected NAME=LOW:HIGH"),
        ("speed=0:1", "unknown setting 'speed'"),
        ("lr=0:1.5", "lr must be between 0 and 1"),
        ("search_growth=0.5:2", "search_growth must be at least 1"),
        ("min_size=0:4", "min_size must be above 0"),
        ("lr=0.8:0.2", "expected finite LOW < HIGH"),
        ("context=0:inf", "expected finite LOW < HIGH"),
        ("lr=a:b", "must be numbers"),
    ]:
        with pytest.raises(AutomatchError, match=message):
            tune.search_space([text])
    with pytest.raises(AutomatchError, match="both fixed"):
        tune.search_space(["lr=0:1"], {"lr": 0.5})
    with pytest.raises(AutomatchError, match="given twice"):
        tune.search_space(["lr=0:1", "lr=0.2:0.4"])


def test_test_splits_are_recognised(bench: Path, tmp_path: Path) -> None:
    otb = tmp_path / "otb"
    write_otb_root(otb, np.random.default_rng(0))
    assert tune.dataset_split("otb100", load_benchmark("otb100", otb)) == "test"
    assert tune.dataset_split("otb", load_benchmark("otb", otb)) == "test"  # OTB's own sequences
    assert tune.dataset_split("otb", load_benchmark("otb", bench)) == "validation"
    got = tmp_path / "got"
    write_got10k_split(got, "val", np.random.default_rng(1), n_sequences=2)
    assert tune.dataset_split("got10k-val", load_benchmark("got10k-val", got)) == "validation"
    write_got10k_split(got, "test", np.random.default_rng(1), n_sequences=2, first_only=True)
    dataset = load_benchmark("got10k-test", got)
    assert tune.dataset_split("got10k-test", dataset) == "test"
    with pytest.raises(AutomatchError, match="private"):
        tune.benchmark_sequences(dataset)


def _trials(job: tune.TuneJob) -> list:
    return tune.open_study(job).get_trials(deepcopy=False)


def test_a_study_resumes_without_repeating_trials(bench: Path, smoke_checkpoint: Path, tmp_path: Path) -> None:
    study = tmp_path / "study.db"
    first = tune.tune(job_for(bench, study, smoke_checkpoint, 2), progress=False)
    assert (first.finished, first.ran, first.requeued) == (2, 2, 0)
    again = tune.tune(job_for(bench, study, smoke_checkpoint, 2), progress=False)  # the budget is met already
    assert (again.finished, again.ran) == (2, 0)
    more = tune.tune(job_for(bench, study, smoke_checkpoint, 3), progress=False)
    assert (more.finished, more.ran) == (3, 1)
    trials = _trials(job_for(bench, study, smoke_checkpoint, 3))
    assert [t.number for t in trials] == [0, 1, 2] and all(t.state.name == "COMPLETE" for t in trials)
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == 3
    assert all(0.0 <= t.params["penalty_k"] <= 0.3 and 0.2 <= t.params["lr"] <= 1.0 for t in trials)
    assert all(set(t.user_attrs["sequence_auc"]) == {"Synth-OCC-01", "Synth-SV-01"} for t in trials)
    best = max(trials, key=lambda t: (t.value, -t.number))
    assert more.best_trial == best.number and more.best_value == pytest.approx(best.value)
    assert more.best_settings == {"lost_score": 0.0, **best.params}


def test_the_same_seed_gives_the_same_trials(bench: Path, smoke_checkpoint: Path, tmp_path: Path) -> None:
    tune.tune(job_for(bench, tmp_path / "a.db", smoke_checkpoint, 2), progress=False)
    tune.tune(job_for(bench, tmp_path / "b.db", smoke_checkpoint, 1), progress=False)
    tune.tune(job_for(bench, tmp_path / "b.db", smoke_checkpoint, 2), progress=False)  # interrupted and resumed
    a = [t.params for t in _trials(job_for(bench, tmp_path / "a.db", smoke_checkpoint, 2))]
    b = [t.params for t in _trials(job_for(bench, tmp_path / "b.db", smoke_checkpoint, 2))]
    assert a == b


def test_an_unfinished_trial_of_a_killed_run_runs_again(bench: Path, smoke_checkpoint: Path, tmp_path: Path) -> None:
    job = job_for(bench, tmp_path / "study.db", smoke_checkpoint, 2)
    tune.tune(dataclasses.replace(job, trials=1), progress=False)
    killed = tune.ask(tune.open_study(job), job)  # a run killed while this trial was tracking
    result = tune.tune(job, progress=False)
    assert (result.requeued, result.finished, result.ran) == (1, 2, 1)
    states = [t.state.name for t in _trials(job)]
    assert states == ["COMPLETE", "FAIL", "COMPLETE"]
    assert _trials(job)[2].params == killed.params


def test_a_spent_time_budget_still_runs_one_trial(bench: Path, smoke_checkpoint: Path, tmp_path: Path) -> None:
    job = job_for(bench, tmp_path / "study.db", smoke_checkpoint, None, deadline=time.time() - 1.0)
    first = tune.tune(job, progress=False)
    second = tune.tune(job, progress=False)  # each run, however late, adds one trial
    assert (first.ran, first.finished, second.ran, second.finished) == (1, 1, 1, 2)


def test_a_study_refuses_another_search(bench: Path, smoke_checkpoint: Path, tmp_path: Path) -> None:
    job = job_for(bench, tmp_path / "study.db", smoke_checkpoint, 1)
    tune.open_study(job, create=True)
    with pytest.raises(AutomatchError, match="searched with another space, seed;"):
        tune.open_study(dataclasses.replace(job, seed=4, space={"lr": (0.0, 1.0)}))
    (tmp_path / "other.db").write_text("not a database")
    with pytest.raises(AutomatchError, match="not an SQLite database"):
        tune.check_study_file(tmp_path / "other.db")
