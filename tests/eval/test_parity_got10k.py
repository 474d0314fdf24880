"""Our numbers against the got10k toolkit's own ``report`` on identical ground truth and results (to 1e-9)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data.got10k import GOT10kDataset
from automatch_jax.data.otb import OTBDataset
from automatch_jax.eval.evaluate import evaluate_tracker
from tests.data.fixtures import tracker_output, write_got10k_split, write_otb_root

experiments = pytest.importorskip("got10k.experiments")


@pytest.fixture(autouse=True)
def _headless_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_otb100_success_precision_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(7)
    root = tmp_path / "OTB"
    write_otb_root(root, rng, images=True)
    experiment = experiments.ExperimentOTB(
        str(root), version=2015, result_dir=str(tmp_path / "results"), report_dir=str(tmp_path / "reports")
    )
    tracker_dir = Path(experiment.result_dir) / "T"
    for name in experiment.dataset.seq_names:
        _, anno = experiment.dataset[name]
        boxes = tracker_output(rng, anno)
        (tracker_dir / "times").mkdir(parents=True, exist_ok=True)
        np.savetxt(tracker_dir / f"{name}.txt", boxes, fmt="%.3f", delimiter=",")
        times = rng.uniform(0.001, 0.05, len(anno))
        times[rng.random(len(anno)) < 0.1] = 0.0  # untimed frames are skipped by both
        np.savetxt(tracker_dir / "times" / f"{name}_time.txt", times, fmt="%.8f")
    theirs = experiment.report(["T"])["T"]
    capsys.readouterr()
    ours = evaluate_tracker(OTBDataset(root, "otb100"), tracker_dir)

    assert ours.overall["success_auc"] == pytest.approx(theirs["overall"]["success_score"], abs=1e-9)
    assert ours.overall["precision_20"] == pytest.approx(theirs["overall"]["precision_score"], abs=1e-9)
    assert ours.overall["fps"] == pytest.approx(theirs["overall"]["speed_fps"], rel=1e-9)
    np.testing.assert_allclose(ours.curves["success_curve"], theirs["overall"]["success_curve"], atol=1e-9)
    np.testing.assert_allclose(
        ours.curves["precision_curve"], theirs["overall"]["precision_curve"], atol=1e-9
    )
    for name, seq in theirs["seq_wise"].items():
        mine = ours.sequences[name.replace(".", "-")]
        assert mine["success_auc"] == pytest.approx(seq["success_score"], abs=1e-9), name
        assert mine["precision_20"] == pytest.approx(seq["precision_score"], abs=1e-9), name
        assert mine["fps"] == pytest.approx(seq["speed_fps"], rel=1e-9), name


def test_got10k_val_ao_sr_speed_with_repetitions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(11)
    root = tmp_path / "GOT-10k"
    write_got10k_split(root, "val", rng, n_sequences=6)
    experiment = experiments.ExperimentGOT10k(
        str(root), subset="val", result_dir=str(tmp_path / "results"), report_dir=str(tmp_path / "reports")
    )
    tracker_dir = Path(experiment.result_dir) / "T"
    for name in experiment.dataset.seq_names:
        _, anno = experiment.dataset[name]
        folder = tracker_dir / name
        folder.mkdir(parents=True)
        for repetition in range(1, 4):
            boxes = tracker_output(rng, anno, (1280, 720))
            np.savetxt(folder / f"{name}_{repetition:03d}.txt", boxes, fmt="%.3f", delimiter=",")
        np.savetxt(
            folder / f"{name}_time.txt", rng.uniform(0.001, 0.05, (len(anno), 3)), fmt="%.8f", delimiter=","
        )
    cwd = os.getcwd()
    theirs = experiment.report(["T"])["T"]
    os.chdir(cwd)
    capsys.readouterr()
    ours = evaluate_tracker(GOT10kDataset(root, "val"), tracker_dir)

    assert ours.overall["ao"] == pytest.approx(theirs["overall"]["ao"], abs=1e-9)
    assert ours.overall["sr50"] == pytest.approx(theirs["overall"]["sr"], abs=1e-9)
    assert ours.overall["fps"] == pytest.approx(theirs["overall"]["speed_fps"], rel=1e-9)
    for name, seq in theirs["seq_wise"].items():
        assert ours.sequences[name]["ao"] == pytest.approx(seq["ao"], abs=1e-9), name
        assert ours.sequences[name]["sr50"] == pytest.approx(seq["sr"], abs=1e-9), name
        assert ours.sequences[name]["fps"] == pytest.approx(seq["speed_fps"], rel=1e-9), name
