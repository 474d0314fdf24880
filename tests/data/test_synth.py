"""Synthetic sequences: each attribute is produced (and measured where OTB defines a threshold), frames are a pure
function of the seed, and ``automatch synth`` writes a benchmark that the OTB reader and ``automatch eval`` read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.data.imagery import Imagery
from automatch_jax.data.otb import OTBDataset
from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.data.synth import SynthConfig, SyntheticSequence, measured_attributes, sequence_plan
from tests.data.fixtures import save_imagery

CFG = SynthConfig(width=240, height=180, frames=40)


@pytest.fixture(scope="module")
def imagery() -> Imagery:
    return Imagery.builtin(cutouts=10)


def _boxes(seq: SyntheticSequence) -> np.ndarray:
    return np.array([seq.render(t)[1] for t in range(len(seq))])


@pytest.mark.parametrize("attribute", ["SV", "FM", "LR", "OV"])
def test_thresholded_attributes_are_measurable(imagery: Imagery, attribute: str) -> None:
    for seed in range(2):
        seq = SyntheticSequence(imagery, (attribute,), seed, CFG)
        assert attribute in measured_attributes(_boxes(seq), (CFG.width, CFG.height))


def test_plain_sequences_have_no_thresholded_attribute(imagery: Imagery) -> None:
    for seed in range(3):
        gt = _boxes(SyntheticSequence(imagery, (), seed, CFG))
        assert measured_attributes(gt, (CFG.width, CFG.height)) == ()
        assert (gt[:, 2:] > 4).all() and (gt[:, :2] >= 0).all()
        assert (gt[:, 0] + gt[:, 2] <= CFG.width).all() and (gt[:, 1] + gt[:, 3] <= CFG.height).all()


def test_frames_are_a_pure_function_of_the_seed(imagery: Imagery) -> None:
    a, b = SyntheticSequence(imagery, ("IV", "BC"), 5, CFG), SyntheticSequence(imagery, ("IV", "BC"), 5, CFG)
    fa, ba = a.render(17)
    fb, bb = b.render(17)
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_array_equal(ba, bb)
    assert fa.shape == (180, 240, 3) and fa.dtype == np.uint8
    assert not np.array_equal(SyntheticSequence(imagery, ("IV", "BC"), 6, CFG).render(17)[0], fa)


def test_occlusion_covers_the_target(imagery: Imagery) -> None:
    seq = SyntheticSequence(imagery, ("OCC",), 3, CFG)
    t = round(seq.occ_when * (CFG.frames - 1))
    occluded, box = seq.render(t)
    seq.occluder = None
    clear, box_clear = seq.render(t)
    np.testing.assert_array_equal(box, box_clear)  # the box keeps the whole object
    x, y, w, h = box.astype(int)
    changed = np.abs(occluded.astype(int) - clear.astype(int)).max(axis=2)[y : y + h, x : x + w] > 30
    assert changed.mean() > 0.3


def test_illumination_rotation_and_blur(imagery: Imagery) -> None:
    lit = SyntheticSequence(imagery, ("IV",), 0, CFG)
    assert lit.light.max() / lit.light.min() > 1.5
    turning = SyntheticSequence(imagery, ("IPR",), 0, CFG)
    assert np.ptp(turning.angle) >= 90
    assert np.ptp(SyntheticSequence(imagery, (), 0, CFG).angle) < 15
    blurred = SyntheticSequence(imagery, ("MB",), 0, CFG)
    t_blur, t_sharp = int(np.argmax(blurred.blur)), int(np.argmin(blurred.blur))
    sharpness = [cv2.Laplacian(cv2.cvtColor(blurred.render(t)[0], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
                 for t in (t_blur, t_sharp)]
    assert blurred.blur[t_blur] >= 9 and sharpness[0] < 0.6 * sharpness[1]


def test_plan_groups_sequences_by_attribute() -> None:
    plan = sequence_plan(22)
    assert [name for name, _ in plan[:2]] == ["Synth-IV-01", "Synth-SV-01"]
    assert plan[11][0] == "Synth-IV-02"
    assert all(attrs == (ATTRIBUTES[i % 11],) for i, (_, attrs) in enumerate(plan))
    assert all(len(attrs) == 3 for _, attrs in sequence_plan(5, extra=2))


def test_synth_cli_writes_an_otb_benchmark_that_eval_reads(imagery: Imagery, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    cache = save_imagery(imagery, tmp_path / "imagery")
    out = tmp_path / "bench"
    args = ["synth", "--out", str(out), "--sequences", "4", "--attributes", "OCC,SV", "--frames", "6",
            "--size", "200x150", "--imagery", str(cache), "--split", "all", "--quiet"]
    assert main(args) == 0
    dataset = OTBDataset(out)
    assert dataset.sequence_names == ["Synth-OCC-01", "Synth-OCC-02", "Synth-SV-01", "Synth-SV-02"]
    sequence = dataset["Synth-OCC-01"]
    assert "OCC" in sequence.attributes and len(sequence) == 6 and len(sequence.gt) == 6
    assert cv2.imread(sequence.frames[0]).shape == (150, 200, 3)
    # results equal to the ground truth score 1
    results = tmp_path / "results" / "Perfect"
    results.mkdir(parents=True)
    for name in dataset.sequence_names:
        shutil.copy(out / name / "groundtruth_rect.txt", results / f"{name}.txt")
    assert main(["eval", "--dataset", "otb", "--root", str(out), "--results", str(results),
                 "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())["trackers"]["Perfect"]
    assert report["overall"]["success_auc"] > 0.95 and "OCC" in report["attributes"]
    # a second run keeps what is done
    mtime = (out / "Synth-SV-02" / "groundtruth_rect.txt").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "Synth-SV-02" / "groundtruth_rect.txt").stat().st_mtime_ns == mtime
    capsys.readouterr()
    assert main(["synth", "--out", str(out), "--attributes", "XX", "--imagery", str(cache)]) == 2
    assert "unknown attribute 'XX'" in capsys.readouterr().err
