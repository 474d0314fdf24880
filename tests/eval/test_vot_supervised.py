"""VOT's supervised experiment: the pixel overlap, the reset-based run, accuracy, robustness and EAO.

Hand-computed cases run everywhere; the parity tests run vot-toolkit 0.9.0 itself (test dependency) on the same
sequences: its ``calculate_overlap``, its ``SupervisedExperiment`` driving the same scripted tracker, and its
AR and EAO analyses on the trajectories ``automatch run-benchmark --protocol supervised`` writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.data.vot import VOTDataset, polygon_to_box
from automatch_jax.errors import AutomatchError, ResultsError
from automatch_jax.eval import supervised
from automatch_jax.eval.evaluate import evaluate_tracker
from automatch_jax.eval.vot_overlap import Regions, region_overlaps
from automatch_jax.tracking.run import run_benchmark
from tests.data.fixtures import write_vot_root


def _box_overlap(a: list[float], b: list[float], size: tuple[int, int] | None = None) -> float:
    return float(region_overlaps(Regions.from_boxes(np.array([a])), Regions.from_boxes(np.array([b])), size)[0])


def test_pixel_overlap_by_hand() -> None:
    # Integer rectangles: x..x+w-1 pixel columns, so the pixel IoU equals the continuous one.
    assert _box_overlap([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    # Coordinates are rounded (half to even) before rasterising: 4.5 -> 4, 5.5 -> 6.
    assert _box_overlap([4.5, 0, 10, 10], [4, 0, 10, 10]) == 1.0
    assert _box_overlap([5.5, 0, 10, 10], [6, 0, 10, 10]) == 1.0
    # Inside the image only: the part beyond x = 20 does not count.
    assert _box_overlap([10, 0, 20, 10], [10, 0, 10, 10], (20, 100)) == 1.0
    # Both regions outside the image: 0; no region at all (two empty ones): 1.
    assert _box_overlap([50, 50, 5, 5], [52, 50, 5, 5], (20, 20)) == 0.0
    empty = Regions.from_boxes(np.full((1, 4), np.nan))
    assert region_overlaps(empty, empty, (20, 20))[0] == 1.0
    assert region_overlaps(empty, Regions.from_boxes(np.array([[2.0, 2, 5, 5]])), (20, 20))[0] == 0.0
    # A rectangle written as a polygon covers one more row and column: 10x10 vs 11x11 pixels.
    square = Regions.from_polygons(np.array([[0.0, 0, 10, 0, 10, 10, 0, 10]]))
    assert region_overlaps(Regions.from_boxes(np.array([[0.0, 0, 10, 10]])), square, None)[0] == pytest.approx(
        100 / 121
    )


def _trajectory(codes: list[int], overlap_boxes: list[list[float] | None]) -> supervised.Trajectory:
    boxes = np.array([b if b is not None else [np.nan] * 4 for b in overlap_boxes], dtype=np.float64)
    return supervised.Trajectory.from_boxes(np.array(codes), boxes, np.full(len(codes), 0.01))


def test_accuracy_failures_and_eao_by_hand() -> None:
    # Ground truth: a 10x10 box at the origin on 8 frames. The tracker is initialised on frame 0, tracks
    # frames 1-2 exactly and frame 3 at half overlap, fails on frame 4; frames 5-6 are skipped (skip 3 here)
    # and it is re-initialised on frame 7.
    gt = Regions.from_boxes(np.tile([0.0, 0, 10, 10], (8, 1)))
    half = [5.0, 0, 10, 10]  # pixel IoU 50 / 150
    codes = [1, -1, -1, -1, 2, 0, 0, 1]
    traj = _trajectory(codes, [None, [0, 0, 10, 10], [0, 0, 10, 10], half, None, None, None, None])
    scores = supervised.score_sequence([traj], gt, (100, 100), burnin=2)
    # Burn-in 2 leaves frames 0-1 out: accuracy is the mean of frames 2 and 3.
    assert scores.accuracy == pytest.approx((1 + 1 / 3) / 2)
    assert scores.failures == 1 and scores.n_frames == 8
    (first, failed), (last, unfailed) = scores.segments
    np.testing.assert_allclose(first, [0, 1, 1, 1 / 3])  # frames 0-3 (the initialisation frame scores 0)
    assert failed and not unfailed and list(last) == [0.0]
    curve = supervised.eao_curve(scores.segments)
    # Length 0: the first frames (0, 0); length 1..3: the failed segment's running mean over its frames 1..j,
    # the unfailed one (length 1) only counting at length 0.
    np.testing.assert_allclose(curve, [0.0, 1.0, 1.0, (2 + 1 / 3) / 3])
    low, high = supervised.STACKS["vot2019"]
    long_curve = np.linspace(0, 1, 400)
    assert supervised.eao_score(long_curve, "vot2019") == pytest.approx(long_curve[low : high + 1].mean())
    with pytest.raises(AutomatchError, match="unknown VOT stack 'vot2030'"):
        supervised.eao_score(long_curve, "vot2030")


class Drift:
    """A scripted tracker: from the initialisation box it moves ``speed`` px right (a third of it down) per
    frame, so it drifts off the target and fails every so often; identical whoever drives it."""

    def __init__(self, speed: float = 0.6) -> None:
        self.box = np.zeros(4)
        self.step = np.array([speed, speed / 3, speed / 12, 0.0])

    def init(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.box = np.asarray(box, dtype=np.float64).copy()

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        self.box = self.box + self.step
        return self.box.copy(), 1.0


def _run_ours(root: Path, results: Path) -> None:
    dataset = VOTDataset(root)
    status = run_benchmark(Drift(), dataset, results, progress=False, protocol="supervised")
    assert set(status.values()) == {"done"}


def test_supervised_run_and_eval_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "vot2019"
    polygons = write_vot_root(root, np.random.default_rng(1), lengths=(60, 130))
    results = tmp_path / "results" / "Drift"
    _run_ours(root, results)
    lines = (results / "baseline" / "seq1" / "seq1_001.txt").read_text().splitlines()
    assert len(lines) == 130 and lines[0] == "1" and "2" in lines
    failure = lines.index("2")
    assert lines[failure + 1 : failure + 5] == ["0"] * 4 and lines[failure + 5] == "1"  # re-initialised 5 later
    times = (results / "baseline" / "seq1" / "seq1_001_time.value").read_text().split("\n")
    assert times[failure + 1] == "" and float(times[failure + 5]) > 0  # skipped frames are never tracked
    # The initialisation box is the polygon's area-preserving box (seq1's first frames are written x,y,w,h:
    # taken as they are); the first update moves it by one step.
    lines = (results / "baseline" / "seq0" / "seq0_001.txt").read_text().splitlines()
    first = np.array(lines[1].split(","), dtype=float)
    np.testing.assert_allclose(first, polygon_to_box(polygons["seq0"][:1], "area")[0] + Drift().step, atol=1e-3)
    # A resumed run skips what is done.
    assert set(run_benchmark(Drift(), VOTDataset(root), results, progress=False, protocol="supervised").values()) == {
        "skipped"
    }
    code = main(["eval", "--dataset", "vot", "--root", str(root), "--results", str(results), "--protocol",
                 "supervised", "--stack", "vot2019"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "VOT supervised experiment, vot2019 EAO interval" in out and "EAO" in out and "Fails" in out
    report = evaluate_tracker(VOTDataset(root), results, protocol="supervised", stack="vot2019")
    assert 0 < report.overall["accuracy"] < 1 and report.overall["failures"] >= 2
    assert 0 < report.overall["eao"] < 1 and report.overall["failure_rate"] == pytest.approx(
        100 * report.overall["failures"] / 190
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--protocol", "supervised"], "needs --stack"),
        (["--stack", "vot2019"], "--stack applies to --protocol supervised only"),
        (["--protocol", "supervised", "--stack", "vot2019", "--convention", "pysot"], "one-pass evaluation"),
    ],
)
def test_supervised_options_are_checked_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code = main(["eval", "--dataset", "vot", "--root", str(tmp_path / "missing"), "--results", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1


def test_one_pass_results_are_not_trajectories(tmp_path: Path) -> None:
    root = tmp_path / "vot"
    write_vot_root(root, np.random.default_rng(2), lengths=(12,))
    folder = tmp_path / "T" / "baseline" / "seq0"
    folder.mkdir(parents=True)
    np.savetxt(folder / "seq0_001.txt", np.tile([1.0, 2, 3, 4], (12, 1)), delimiter=",")
    with pytest.raises(ResultsError, match="line 1 is not 1 .initialisation.: not a supervised"):
        evaluate_tracker(VOTDataset(root), tmp_path / "T", protocol="supervised", stack="vot2018")
    (folder / "seq0_001.txt").write_text("1\n" * 11)
    with pytest.raises(ResultsError, match="11 lines, expected 12"):
        evaluate_tracker(VOTDataset(root), tmp_path / "T", protocol="supervised", stack="vot2018")
    (folder / "seq0_001.txt").unlink()
    with pytest.raises(ResultsError, match="missing supervised trajectory for sequence seq0"):
        evaluate_tracker(VOTDataset(root), tmp_path / "T", protocol="supervised", stack="vot2018")


# --- parity with vot-toolkit 0.9.0 ------------------------------------------------------------------------


def test_overlap_matches_vot_toolkit() -> None:
    pytest.importorskip("vot.region.raster")
    from vot.region import Special, calculate_overlap
    from vot.region.shapes import Polygon, Rectangle

    rng = np.random.default_rng(0)
    n = 400
    boxes = np.column_stack([rng.uniform(-30, 110, n), rng.uniform(-30, 90, n), rng.uniform(0, 50, (n, 2))])
    boxes[:40, 2:] = rng.integers(0, 3, (40, 2))  # empty, one-pixel and two-pixel boxes
    boxes[40:80] = np.round(boxes[40:80] * 2) / 2  # ties at .5
    polygons = np.array([row for row in _random_polygons(rng, n)])
    polygons[:50] = np.round(polygons[:50])
    boxes[-20:] = np.nan  # no region (VOT's special codes)
    size = (100, 80)

    def vot_region(box: np.ndarray):
        return Special(0) if np.isnan(box).any() else Rectangle(*box)

    ours = region_overlaps(Regions.from_boxes(boxes), Regions.from_polygons(polygons), size)
    theirs = [
        calculate_overlap(vot_region(b), Polygon(p.reshape(4, 2).tolist()), size)
        for b, p in zip(boxes, polygons, strict=True)
    ]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    other = boxes[::-1]
    ours = region_overlaps(Regions.from_boxes(boxes), Regions.from_boxes(other), None)
    theirs = [calculate_overlap(vot_region(a), vot_region(b)) for a, b in zip(boxes, other, strict=True)]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def _random_polygons(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        cx, cy, w, h, angle = *rng.uniform(-10, 100, 2), *rng.uniform(0.5, 60, 2), rng.uniform(0, np.pi)
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        out.append((corners @ rotation.T + [cx, cy]).ravel())
    return out


def _vot_toolkit_run(root: Path, workspace: Path) -> None:
    """vot-toolkit's own SupervisedExperiment (VOT2019 baseline settings) driving the Drift tracker."""
    from vot.dataset.common import read_sequence
    from vot.experiment.multirun import SupervisedExperiment
    from vot.region.shapes import Rectangle
    from vot.tracker import ObjectStatus, OnlineTrackerRuntime
    from vot.workspace.storage import LocalStorage

    class Runtime(OnlineTrackerRuntime):
        def __init__(self, tracker) -> None:
            super().__init__(tracker)
            self.drift = Drift()

        def stop(self) -> None:
            pass

        def restart(self) -> None:
            pass

        def initialize(self, frame, new=None):
            region = new.region
            if isinstance(region, Rectangle):
                box = np.array([region.x, region.y, region.width, region.height], dtype=np.float64)
            else:
                box = polygon_to_box(np.array(region.points(), dtype=np.float64).reshape(1, 8), "area")[0]
            self.drift.init(np.zeros(1), box)
            return [ObjectStatus(Rectangle(*box), {})], 0.0

        def update(self, frame, new=None):
            box, _ = self.drift.update(np.zeros(1))
            return ObjectStatus(Rectangle(*box), {}), 0.0

    class Tracker:
        reference = "Drift"
        storage = None

        def runtime(self):
            return Runtime(self)

    experiment = SupervisedExperiment("baseline", LocalStorage(str(workspace)), skip_initialize=5, repetitions=1)
    for name in (root / "list.txt").read_text().split():
        experiment.execute(Tracker(), read_sequence(str(root / name)))


def test_supervised_protocol_and_analysis_match_vot_toolkit(tmp_path: Path) -> None:
    pytest.importorskip("vot.analysis.supervised")
    from vot.analysis.supervised import AccuracyRobustness, AverageAccuracyRobustness, EAOCurve
    from vot.dataset.common import read_sequence
    from vot.experiment.multirun import SupervisedExperiment
    from vot.region import Special
    from vot.region.shapes import Rectangle
    from vot.tracker.results import Results
    from vot.tracker.results import Trajectory as VotTrajectory
    from vot.workspace.storage import LocalStorage

    root = tmp_path / "vot2019"
    write_vot_root(root, np.random.default_rng(3), lengths=(90, 48, 120))
    ours = tmp_path / "ours"
    _run_ours(root, ours / "results" / "Drift")
    theirs = tmp_path / "theirs"
    _vot_toolkit_run(root, theirs)
    names = (root / "list.txt").read_text().split()
    # The same run: the same failures, re-initialisations and boxes on every frame.
    failures = 0
    for name in names:
        toolkit = VotTrajectory.read(
            Results(LocalStorage(str(theirs / "results" / "Drift" / "baseline" / name))), f"{name}_001"
        ).regions()
        mine = supervised.read_trajectory(
            ours / "results" / "Drift" / "baseline" / name / f"{name}_001.txt", len(toolkit)
        )
        codes = [r.code if isinstance(r, Special) else supervised.REGION for r in toolkit]
        np.testing.assert_array_equal(mine.codes, codes, err_msg=name)
        boxes = np.array([[r.x, r.y, r.width, r.height] for r in toolkit if isinstance(r, Rectangle)])
        np.testing.assert_allclose(mine.regions.values[mine.codes == supervised.REGION, :4], boxes, atol=1e-3)
        failures += codes.count(supervised.FAILURE)
    assert failures >= 2  # the scripted tracker does fail and get re-initialised

    # vot-toolkit's analyses on our trajectory files, against ours.
    class Tracker:
        reference = "Drift"
        storage = None

    experiment = SupervisedExperiment("baseline", LocalStorage(str(ours)), skip_initialize=5, repetitions=1)
    sequences = [read_sequence(str(root / name)) for name in names]
    per_sequence = [AccuracyRobustness().subcompute(experiment, Tracker(), s, []) for s in sequences]
    accuracy, robustness, _, _ = AverageAccuracyRobustness().aggregate(Tracker(), sequences, per_sequence)
    (curve,) = EAOCurve().subcompute(experiment, Tracker(), sequences, [])
    report = evaluate_tracker(VOTDataset(root), ours / "results" / "Drift", protocol="supervised", stack="vot2019")
    assert report.overall["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert report.overall["robustness"] == pytest.approx(robustness, abs=1e-9)
    for name, (a, f, _, _) in zip(names, per_sequence, strict=True):
        assert report.sequences[name]["accuracy"] == pytest.approx(a, abs=1e-9)
        assert report.sequences[name]["robustness"] == pytest.approx(f, abs=1e-9)
    # vot-toolkit accumulates the EAO curve in float32.
    np.testing.assert_allclose(report.curves["eao_curve"], curve, atol=1e-6)
    low, high = supervised.STACKS["vot2019"]
    assert len(curve) > low  # the interval is reached
    assert report.overall["eao"] == pytest.approx(float(np.mean(np.asarray(curve)[low : high + 1])), abs=1e-6)
    with pytest.raises(AutomatchError, match=r"never reaches the vot2018 interval \[100, 356\]"):
        supervised.eao_score(report.curves["eao_curve"][:100], "vot2018")
