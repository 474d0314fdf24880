"""Training pairs and their loader: exact boxes, reproducibility, negatives, worker processes, shards, state,
the imagery split."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pair_sources import build_source
from automatch_jax.data.pairs import PairConfig, PairLoader, SceneSource, paste, sample_pair
from automatch_jax.errors import AutomatchError


@pytest.fixture(scope="module")
def imagery() -> Imagery:
    return Imagery.builtin(cutouts=12)


def test_paste_returns_the_box_of_the_visible_pixels() -> None:
    scene = np.zeros((100, 100, 3), np.float32)
    cutout = np.zeros((20, 40, 4), np.uint8)
    cutout[..., :3] = 200
    cutout[5:15, 10:30, 3] = 255  # only the middle is opaque
    box = paste(scene, cutout, (50.0, 50.0), size=np.sqrt(20 * 40), aspect=1.0, angle=0.0, gain=1.0)
    ys, xs = np.nonzero(scene[..., 0] > 100)
    assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert 19 <= box[2] - box[0] <= 21 and 9 <= box[3] - box[1] <= 11
    assert paste(scene, cutout, (500.0, 500.0), 20, 1.0, 0.0, 1.0) is None  # entirely outside


def test_pairs_are_reproducible_and_well_formed(imagery: Imagery) -> None:
    cfg = PairConfig(negative=0.0, flip=0.0)
    a, b = sample_pair(7, 3, imagery, cfg), sample_pair(7, 3, imagery, cfg)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["z"].shape == (127, 127, 3) and a["x"].shape == (255, 255, 3)
    assert a["z"].dtype == np.uint8 and a["x"].dtype == np.uint8
    assert not np.array_equal(sample_pair(7, 4, imagery, cfg)["x"], a["x"])
    # the exemplar's target sits at the crop centre with the context margin around it
    x0, y0, x1, y1 = a["z_box"]
    assert abs((x0 + x1) / 2 - 63) < 1 and abs((y0 + y1) / 2 - 63) < 1
    assert 30 < np.sqrt((x1 - x0) * (y1 - y0)) < 100


def test_search_targets_are_shifted_within_the_configured_range(imagery: Imagery) -> None:
    cfg = PairConfig(negative=0.0, shift=40.0, flip=0.0)
    centres = np.array([[(p["x_box"][0] + p["x_box"][2]) / 2, (p["x_box"][1] + p["x_box"][3]) / 2]
                        for p in (sample_pair(1, i, imagery, cfg) for i in range(24))])
    offsets = centres - 127
    assert np.abs(offsets).max() <= 40 + 1e-3
    assert np.abs(offsets).max() > 10  # not always centred


def test_flip_mirrors_both_boxes(imagery: Imagery) -> None:
    plain = sample_pair(3, 0, imagery, PairConfig(flip=0.0, negative=0.0, colour=0, blur=0, grey=0))
    flipped = sample_pair(3, 0, imagery, PairConfig(flip=1.0, negative=0.0, colour=0, blur=0, grey=0))
    np.testing.assert_allclose(flipped["x"], plain["x"][:, ::-1])
    np.testing.assert_allclose(flipped["x_box"][[0, 2]], 254 - plain["x_box"][[2, 0]], atol=1e-4)


TINY = PairConfig(exemplar_size=31, search_size=63, shift=8.0, negative=0.5)


def _assert_same_batches(a: dict[int, dict], b: dict[int, dict]) -> None:
    assert sorted(a) == sorted(b)
    for step in a:
        assert set(a[step]) == set(b[step])
        for key in a[step]:
            np.testing.assert_array_equal(a[step][key], b[step][key])


def test_loader_batches_are_a_function_of_the_step(imagery: Imagery) -> None:
    loader = PairLoader(imagery, TINY, batch_size=4, seed=5, workers=0)
    batches = dict(loader.iterate(2, 4))
    assert sorted(batches) == [2, 3]
    np.testing.assert_array_equal(batches[3]["x"], loader.batch(3)["x"])
    assert not np.array_equal(batches[2]["x"], batches[3]["x"])
    assert batches[2]["z"].shape == (4, 31, 31, 3) and batches[2]["x"].shape == (4, 63, 63, 3)
    assert set(batches[2]) == {"z", "x", "z_box", "x_box", "positive"}
    positives = np.concatenate([loader.batch(k)["positive"] for k in range(4)])
    assert 0 < positives.mean() < 1
    assert not np.array_equal(PairLoader(imagery, TINY, 4, seed=6, workers=0).batch(3)["x"], batches[3]["x"])
    with pytest.raises(AutomatchError, match="process_index 2 is not in"):
        PairLoader(imagery, TINY, 4, 0, process_index=2, process_count=2)


def test_processes_draw_disjoint_shares_that_make_up_the_global_batch(imagery: Imagery) -> None:
    whole = PairLoader(imagery, TINY, batch_size=6, seed=3, workers=0).batch(1)
    shares = [PairLoader(imagery, TINY, 2, 3, 0, process_index=i, process_count=3).batch(1) for i in range(3)]
    for key in whole:
        np.testing.assert_array_equal(np.concatenate([share[key] for share in shares]), whole[key])
    flat = [share["x"][i].tobytes() for share in shares for i in range(2)]
    assert len(set(flat)) == 6  # no pair is drawn by two processes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class PidSource(SceneSource):
    """Still scenes that leave a file named after the drawing process's pid in ``folder``."""

    def __init__(self, imagery: Imagery, folder: Path):
        super().__init__(imagery)
        self.folder = folder

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None:
        (self.folder / str(os.getpid())).touch()
        return super().draw_pair(rng, cfg)

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None:
        (self.folder / str(os.getpid())).touch()
        return super().draw_frame(rng, cfg)


def test_worker_processes_draw_the_same_batches_and_exit_on_close(imagery: Imagery, tmp_path: Path) -> None:
    batches, pids = {}, {}
    for workers in (0, 1, 2):
        folder = tmp_path / str(workers)
        folder.mkdir()
        loader = PairLoader(PidSource(imagery, folder), TINY, batch_size=2, seed=9, workers=workers)
        stream = loader.iterate(1, None)
        batches[workers] = dict(next(stream) for _ in range(3))  # steps 1, 2, 3 of an unbounded stream
        pids[workers] = {int(p.name) for p in folder.iterdir()}
        children = {child.pid for child in multiprocessing.active_children()}
        loader.close()  # with the stream unfinished
        if workers:
            assert len(pids[workers]) == workers and os.getpid() not in pids[workers]
            assert pids[workers] <= children
            assert not multiprocessing.active_children() and not any(_alive(pid) for pid in pids[workers])
    assert pids[0] == {os.getpid()}
    _assert_same_batches(batches[0], batches[1])
    _assert_same_batches(batches[0], batches[2])


def test_state_round_trips_and_names_what_differs(imagery: Imagery) -> None:
    loader = PairLoader(imagery, TINY, batch_size=4, seed=1, workers=0, process_index=1, process_count=2)
    state = json.loads(json.dumps(loader.state(7)))
    assert state["step"] == 7 and state["global_batch"] == 8 and state["process_index"] == 1
    # the same stream: other workers, and one process drawing the whole global batch
    assert PairLoader(imagery, TINY, batch_size=8, seed=1, workers=2).check_state(state) == 7
    mismatches = {
        "seed 1 (checkpoint) != 2 (this run)": PairLoader(imagery, TINY, 8, seed=2),
        "global_batch 8 (checkpoint) != 4 (this run)": PairLoader(imagery, TINY, 4, seed=1),
        "pairs.negative 0.5 (checkpoint) != 0.2 (this run)": PairLoader(imagery, PairConfig(
            exemplar_size=31, search_size=63, shift=8.0), 8, seed=1),
        "source.cutouts 12 (checkpoint) != 11 (this run)": PairLoader(Imagery(imagery.backgrounds,
                                                                               imagery.cutouts[:-1]), TINY, 8, 1),
    }
    for message, other in mismatches.items():
        with pytest.raises(AutomatchError, match=re.escape(message)) as error:
            other.check_state(state)
        assert "\n" not in str(error.value)
    flipped = Imagery(imagery.backgrounds, [imagery.cutouts[1], imagery.cutouts[0], *imagery.cutouts[2:]])
    with pytest.raises(AutomatchError, match="source.imagery"):
        PairLoader(flipped, TINY, 8, 1).check_state(state)
    with pytest.raises(AutomatchError, match="not a pair-stream state"):
        loader.check_state({"step": 3})


def test_mixture_states_are_json(imagery: Imagery) -> None:
    source = build_source({"synthetic": {"weight": 1.0}, "synthetic-video": {"weight": 3.0}}, imagery)
    state = PairLoader(source, TINY, 2, seed=0).state(0)
    assert json.loads(json.dumps(state)) == json.loads(json.dumps(state, sort_keys=True))
    assert state["source"]["sources"]["synthetic-video"]["share"] == 0.75


def test_split_is_disjoint_and_keeps_both_parts(imagery: Imagery) -> None:
    train, val = imagery.split(0.25)
    assert len(train.cutouts) + len(val.cutouts) == len(imagery.cutouts)
    assert val.cutouts and train.cutouts
    assert not any(any(t is v for v in val.cutouts) for t in train.cutouts)


def test_a_synthetic_video_frame_without_target_pixels_is_redrawn(imagery: Imagery,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A rendered frame whose target covers no pixel (it happens, rarely, with OV + SV) makes the source give up
    that draw, and the pair is drawn again instead of stopping the training run."""
    from automatch_jax.data import synth
    from automatch_jax.data.pair_sources import SyntheticVideoSource

    render, calls = synth.SyntheticSequence.render, []

    def first_frames_invisible(self, t: int):
        calls.append(t)
        if len(calls) <= 3:
            raise synth.TargetInvisible(f"synthetic sequence {self.seed}: target invisible in frame {t}")
        return render(self, t)

    monkeypatch.setattr(synth.SyntheticSequence, "render", first_frames_invisible)
    source = SyntheticVideoSource(imagery, synth=synth.SynthConfig(width=160, height=120, frames=8))
    rng = np.random.default_rng(0)
    assert source.draw_pair(rng, PairConfig()) is None
    assert source.draw_frame(rng, PairConfig()) is None
    pair = sample_pair(0, 0, source, PairConfig(negative=0.0))
    assert pair["positive"] == 1.0 and len(calls) > 3
