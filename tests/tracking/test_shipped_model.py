"""The shipped ``automatch-lite`` loads by name and tracks out of the box (the demo, and a real OTB sequence)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.metrics import box_iou
from automatch_jax.models.checkpoint import DEFAULT_MODEL, shipped_models
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.sources import read_image


def test_default_model_is_shipped_and_small() -> None:
    assert DEFAULT_MODEL in shipped_models()
    folder = shipped_models()[DEFAULT_MODEL]
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 30 * 2**20
    checkpoint = load_checkpoint(None)
    assert checkpoint.name == DEFAULT_MODEL and checkpoint.model["backbone"].startswith("efficientnet_lite0")
    assert checkpoint.info["steps"] == 1500


def _track(tracker: Tracker, frames: list, init: np.ndarray) -> np.ndarray:
    tracker.init(frames[0], init)
    return np.array([init] + [tracker.update(f)[0] for f in frames[1:]])


@pytest.mark.parametrize("name", [None, "automatch-lite-fast"])
def test_shipped_models_track_the_demo(name: str | None) -> None:
    frames, gt = demo_frames(40)
    boxes = _track(Tracker.from_pretrained(name), frames, gt[0])
    assert box_iou(boxes, gt).mean() > 0.6


def test_the_fast_model_is_the_small_trunk_at_small_crops() -> None:
    fast = load_checkpoint("automatch-lite-fast")
    assert fast.name == "automatch-lite-fast" and fast.info["steps"] == 1500
    assert fast.model["backbone"] == "efficientnet_lite0_stage4"
    assert (fast.model["search_size"], fast.model["exemplar_size"]) == (191, 95)
    assert fast.settings == load_checkpoint(None).settings


def test_shipped_model_tracks_a_real_sequence(real_sequences: Path) -> None:
    sequence = load_benchmark("otb", real_sequences)["Crossing"]
    frames = [read_image(f) for f in sequence.frames[:40]]
    boxes = _track(Tracker.from_pretrained(), frames, sequence.init_box)
    assert box_iou(boxes, sequence.gt[:40]).mean() > 0.4


def test_half_precision_follows_the_float32_reference() -> None:
    """bf16 / fp16 compute (the GPU path) against the float32 reference on the demo: the stated tolerance is a
    mean box IoU above 0.9 between the two and confidences within 0.1."""
    frames, gt = demo_frames(16)
    reference = Tracker.from_pretrained()
    boxes = _track(reference, frames, gt[0])
    scores = np.array([reference.update(f)[1] for f in frames[1:4]])
    for dtype in ("bfloat16", "float16"):
        half = Tracker.from_pretrained(dtype=dtype)
        assert half.network.module.dtype != reference.network.module.dtype
        half_boxes = _track(half, frames, gt[0])
        assert box_iou(half_boxes, boxes).mean() > 0.9
        half_scores = np.array([half.update(f)[1] for f in frames[1:4]])
        np.testing.assert_allclose(half_scores, scores, atol=0.1)
    with pytest.raises(AutomatchError, match="dtype 'int8' is not one of"):
        Tracker.from_pretrained(dtype="int8")


@pytest.mark.parametrize("name", [None, "automatch-lite-fast"])
def test_folded_batchnorm_tracks_like_the_trained_network(name: str | None) -> None:
    """The default (BatchNorm folded into the convolutions) against the network as trained, step by step on identical
    inputs (closed-loop tracks may part where two cells score alike, so they are not compared): the same exemplar
    and, for each of several search crops, the same scores to 1e-5 and boxes to 1e-3 px."""
    frames, gt = demo_frames(4)
    folded, unfolded = Tracker.from_pretrained(name), Tracker.from_pretrained(name, fold_batchnorm=False)
    assert "batch_stats" not in folded.network.params and "batch_stats" in unfolded.network.params
    folded.init(frames[0], gt[0])
    unfolded.init(frames[0], gt[0])
    for a, b in zip(jax.tree_util.tree_leaves(folded._exemplar), jax.tree_util.tree_leaves(unfolded._exemplar),
                    strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-4)
    side = folded.geometry.search_size
    rng = np.random.default_rng(0)
    track, reference = jax.jit(folded.network.track), jax.jit(unfolded.network.track)
    for _ in range(3):
        x = rng.uniform(0, 255, (1, side, side, 3)).astype(np.float32)
        scores, boxes = track(folded.network.params, folded._exemplar, x)
        expected_scores, expected_boxes = reference(unfolded.network.params, folded._exemplar, x)
        np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
    np.testing.assert_allclose(boxes, expected_boxes, atol=1e-3)
