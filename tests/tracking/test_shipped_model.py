"""The shipped models load by name and track out of the box (the demo, a real OTB sequence); the inference
variants (BatchNorm folded, half precision) compute what the float32 network as trained does, on identical inputs."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.data.crop import CropWindow, context_side, crop
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.metrics import box_iou
from automatch_jax.models.checkpoint import DEFAULT_MODEL, shipped_models
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.tracking.core import search_windows
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.sources import read_image


def _size(variables: dict) -> int:
    return sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(variables["params"]))


def test_shipped_models_are_complete_and_small() -> None:
    assert DEFAULT_MODEL in shipped_models()
    folder = shipped_models()[DEFAULT_MODEL]
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 30 * 2**20
    lite, fast = load_checkpoint(None), load_checkpoint("automatch-lite-fast")
    assert lite.name == DEFAULT_MODEL and lite.model["backbone"].startswith("efficientnet_lite0")
    for checkpoint in (lite, fast):  # trained to the end of their schedule, weights that fit their configs
        assert checkpoint.info["steps"] == checkpoint.info["planned_steps"]
        Tracker.from_checkpoint(checkpoint, fold_batchnorm=False)
    # the fast model: a shorter trunk at smaller crops, hence fewer weights
    assert fast.model["search_size"] < lite.model["search_size"] and _size(fast.variables) < _size(lite.variables)
    # the default is the authors' network, and the lost-target rule (not the authors') is off by default
    assert lite.model["arch"] == "automatch" and lite.settings.lost_score == 0


def _track(tracker: Tracker, frames: list, init: np.ndarray) -> np.ndarray:
    tracker.init(frames[0], init)
    return np.array([init] + [tracker.update(f)[0] for f in frames[1:]])


@pytest.mark.parametrize("name", [None, "automatch-lite-fast"])
def test_shipped_models_track_the_demo(name: str | None) -> None:
    frames, gt = demo_frames(40)
    boxes = _track(Tracker.from_pretrained(name), frames, gt[0])
    assert box_iou(boxes, gt).mean() > 0.6


def test_shipped_model_tracks_a_real_sequence(real_sequences: Path) -> None:
    sequence = load_benchmark("otb", real_sequences)["Crossing"]
    frames = [read_image(f) for f in sequence.frames[:40]]
    boxes = _track(Tracker.from_pretrained(), frames, sequence.init_box)
    assert box_iou(boxes, sequence.gt[:40]).mean() > 0.4


def _one_steps(trackers: list[Tracker], frames: list, gt: np.ndarray, starts: range) -> list:
    """Each tracker started on ``frames[i]`` at the true box and stepped once into ``frames[i + 1]``, per start:
    [(box, score) per tracker] per start; every tracker sees identical inputs."""
    results = []
    for i in starts:
        step = []
        for tracker in trackers:
            tracker.init(frames[i], gt[i])
            step.append(tracker.update(frames[i + 1]))
        results.append(step)
    return results


def test_half_precision_follows_the_float32_reference() -> None:
    """bf16 / fp16 compute (the GPU path) against float32, one step from the same state on the demo: boxes that
    overlap by IoU > 0.9 and confidences within 0.1."""
    frames, gt = demo_frames(16)
    trackers = [Tracker.from_pretrained(dtype=dtype) for dtype in ("float32", "bfloat16", "float16")]
    assert trackers[1].network.module.dtype != trackers[0].network.module.dtype
    for (box, score), *halves in _one_steps(trackers, frames, gt, range(0, 15, 3)):
        for half_box, half_score in halves:
            assert box_iou(half_box[None], box[None])[0] > 0.9
            assert abs(half_score - score) < 0.1
    with pytest.raises(AutomatchError, match="dtype 'int8' is not one of"):
        Tracker.from_pretrained(dtype="int8")


@pytest.mark.parametrize("name", [None, "automatch-lite-fast"])
def test_folded_batchnorm_computes_what_the_trained_network_does(name: str | None) -> None:
    """The default (BatchNorm folded into the convolutions) against the network as trained, on identical inputs:
    the same exemplar features, on the same search crop the same scores to 1e-5 and boxes to 1e-3 px, and from the
    same state the same step."""
    frames, gt = demo_frames(12)
    folded, unfolded = Tracker.from_pretrained(name), Tracker.from_pretrained(name, fold_batchnorm=False)
    assert "batch_stats" not in folded.network.params and "batch_stats" in unfolded.network.params
    g = folded.geometry
    for (box_a, score_a), (box_b, score_b) in _one_steps([folded, unfolded], frames, gt, range(0, 11, 2)):
        np.testing.assert_allclose(box_a, box_b, atol=1e-2)
        assert abs(score_a - score_b) < 1e-4
    for i in range(0, 11, 5):
        (x0, y0, w, h), centre = gt[i], gt[i][:2] + gt[i][2:] / 2
        window = CropWindow(*centre, context_side(w, h, folded.settings.context), g.exemplar_size)
        z = crop(frames[i], window)[None, ..., ::-1]
        z_box = window.to_crop(np.array([x0, y0, x0 + w, y0 + h]))[None].astype(np.float32)
        exemplar = jax.jit(folded.network.template)(folded.network.params, z, z_box)
        expected = jax.jit(unfolded.network.template)(unfolded.network.params, z, z_box)
        assert sorted(exemplar) == sorted(expected)
        for key in exemplar:  # every part of the exemplar state (AutoMatch: both levels' maps and vectors, the mask)
            np.testing.assert_allclose(exemplar[key], expected[key], atol=1e-4, rtol=1e-4, err_msg=key)
        cx, cy, side = search_windows(np.r_[centre, w, h, 0.0], folded.settings, g)
        x = crop(frames[i + 1], CropWindow(cx, cy, side, g.search_size))[None, ..., ::-1]
        scores, boxes, _ = jax.jit(folded.network.track)(folded.network.params, exemplar, x)
        expected_scores, expected_boxes, _ = jax.jit(unfolded.network.track)(unfolded.network.params, exemplar, x)
        np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
        np.testing.assert_allclose(boxes, expected_boxes, atol=1e-3)
