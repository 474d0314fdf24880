"""MultiTracker: N targets in one jitted step behave like N independent Trackers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.tracking import Tracker
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.multi import MultiTracker


@pytest.mark.parametrize("on_device", [False, True], ids=["host-crops", "device-crops"])
def test_multi_tracker_matches_independent_trackers(smoke_checkpoint: Path, on_device: bool) -> None:
    frames, gt = demo_frames(8)
    boxes = np.array([gt[0], [40, 30, 60, 50], [300, 200, 80, 60]])
    multi = MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device)
    multi.init(frames[0], boxes)
    singles = [Tracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device) for _ in boxes]
    for tracker, box in zip(singles, boxes, strict=True):
        tracker.init(frames[0], box)
    for frame in frames[1:]:
        got, scores = multi.update(frame)
        for k, tracker in enumerate(singles):
            box, score = tracker.update(frame)
            np.testing.assert_allclose(got[k], box, rtol=1e-4, atol=1e-2)
            assert abs(scores[k] - score) < 1e-4
    assert got.shape == (3, 4) and scores.shape == (3,)


def test_one_frame_per_video_and_bad_input(smoke_checkpoint: Path) -> None:
    frames, gt = demo_frames(3)
    multi = MultiTracker.from_pretrained(smoke_checkpoint)
    with pytest.raises(AutomatchError, match="before"):
        multi.update(frames[0])
    multi.init([frames[0], frames[0][:, ::-1]], [gt[0], gt[0]])
    boxes, scores = multi.update([frames[1], frames[1][:, ::-1]])
    assert boxes.shape == (2, 4) and np.isfinite(boxes).all() and np.isfinite(scores).all()
    # frames of different sizes: crops on the host even where the device would cut them
    on_device = MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=True)
    on_device.init([frames[0], frames[0][:200]], [gt[0], gt[0]])
    mixed, _ = on_device.update([frames[1], frames[1][:200]])
    np.testing.assert_allclose(mixed[0], boxes[0], atol=1.0)
    with pytest.raises(AutomatchError, match="1 frames for 2 targets"):
        multi.update([frames[2]])
    with pytest.raises(AutomatchError, match="at least one box"):
        multi.init(frames[0], [])
    with pytest.raises(AutomatchError, match="zero or negative size"):
        multi.init(frames[0], [[10, 10, 0, 5]])
