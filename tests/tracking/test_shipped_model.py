"""The shipped ``automatch-lite`` loads by name and tracks out of the box (the demo, and a real OTB sequence)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.eval.metrics import box_iou
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.tracking.checkpoint import DEFAULT_MODEL, shipped_models
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.sources import read_image


def test_default_model_is_shipped_and_small() -> None:
    assert DEFAULT_MODEL in shipped_models()
    folder = shipped_models()[DEFAULT_MODEL]
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 30 * 2**20
    checkpoint = load_checkpoint(None)
    assert checkpoint.name == DEFAULT_MODEL and checkpoint.model["backbone"] == "efficientnet_lite0"
    assert checkpoint.info["steps"] == 1500


def _track(tracker: Tracker, frames: list, init: np.ndarray) -> np.ndarray:
    tracker.init(frames[0], init)
    return np.array([init] + [tracker.update(f)[0] for f in frames[1:]])


def test_shipped_model_tracks_the_demo() -> None:
    frames, gt = demo_frames(40)
    boxes = _track(Tracker.from_pretrained(), frames, gt[0])
    assert box_iou(boxes, gt).mean() > 0.6


def test_shipped_model_tracks_a_real_sequence(real_sequences: Path) -> None:
    sequence = load_benchmark("otb", real_sequences)["Crossing"]
    frames = [read_image(f) for f in sequence.frames[:40]]
    boxes = _track(Tracker.from_pretrained(), frames, sequence.init_box)
    assert box_iou(boxes, sequence.gt[:40]).mean() > 0.4
