"""Synthetic training pairs: exact boxes, reproducibility, negatives, the imagery split."""

from __future__ import annotations

import numpy as np
import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pairs import PairConfig, PairLoader, paste, sample_pair


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
    assert a["z"].dtype == np.float32 and a["z"].min() >= 0 and a["z"].max() <= 255
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


def test_loader_batches_are_a_function_of_the_step(imagery: Imagery) -> None:
    cfg = PairConfig(negative=0.5)
    loader = PairLoader(imagery, cfg, batch_size=4, seed=5)
    batches = dict(loader.iterate(2, 4))
    again = loader.batch(3)
    np.testing.assert_array_equal(batches[3]["x"], again["x"])
    assert batches[2]["z"].shape == (4, 127, 127, 3) and set(batches[2]) == {"z", "x", "z_box", "x_box", "positive"}
    positives = np.concatenate([loader.batch(k)["positive"] for k in range(6)])
    assert 0 < positives.mean() < 1
    host0, host1 = (PairLoader(imagery, cfg, 4, 5, stream=s, streams=2).batch(0) for s in (0, 1))
    assert not np.array_equal(host0["x"], host1["x"])
    loader.close()


def test_split_is_disjoint_and_keeps_both_parts(imagery: Imagery) -> None:
    train, val = imagery.split(0.25)
    assert len(train.cutouts) + len(val.cutouts) == len(imagery.cutouts)
    assert val.cutouts and train.cutouts
    assert not any(any(t is v for v in val.cutouts) for t in train.cutouts)
