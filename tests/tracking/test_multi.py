"""MultiTracker: N targets in one compiled step behave like N independent Trackers, in one video or in many."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.tracking import MultiTracker, Tracker
from automatch_jax.tracking.demo import demo_frames

BOXES = np.array([[40, 30, 60, 50], [300, 200, 80, 60], [150, 100, 70, 57]], np.float64)


def _singles(checkpoint: Path, count: int, on_device: bool) -> list[Tracker]:
    return [Tracker.from_pretrained(checkpoint, crop_on_device=on_device) for _ in range(count)]


def _per_target(frames, count: int) -> list:
    return frames if isinstance(frames, list) else [frames] * count


def _assert_steps_match(multi: MultiTracker, singles: list[Tracker], frames_of, rounds: int) -> None:
    """Round ``r``: the MultiTracker and the Trackers start from the same boxes (the Trackers') on ``frames_of(2r)``
    and take two steps, compared after each (so closed-loop rounding cannot pile up over a long run)."""
    for r in range(rounds):
        start = np.array([tracker.box for tracker in singles]) if r else multi.boxes
        multi.init(frames_of(2 * r), start)
        for tracker, frame, box in zip(singles, _per_target(frames_of(2 * r), len(singles)), start, strict=True):
            tracker.init(frame, box)
        for i in (2 * r + 1, 2 * r + 2):
            got, scores = multi.update(frames_of(i))
            for k, (tracker, frame) in enumerate(zip(singles, _per_target(frames_of(i), len(singles)), strict=True)):
                box, score = tracker.update(frame)
                np.testing.assert_allclose(got[k], box, rtol=1e-5, atol=1e-3)
                assert abs(scores[k] - score) < 1e-4
    assert got.shape == (len(singles), 4) and scores.shape == (len(singles),)


@pytest.mark.parametrize("on_device", [False, True], ids=["host-crops", "device-crops"])
def test_targets_in_one_video_step_like_independent_trackers(smoke_checkpoint: Path, on_device: bool) -> None:
    frames, gt = demo_frames(5)
    boxes = np.vstack([gt[0], BOXES[:2]])
    multi = MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device)
    multi.init(frames[0], boxes)
    _assert_steps_match(multi, _singles(smoke_checkpoint, 3, on_device), lambda i: frames[i], 2)


@pytest.mark.parametrize("on_device", [False, True], ids=["host-crops", "device-crops"])
def test_one_video_per_target_steps_like_independent_trackers(smoke_checkpoint: Path, on_device: bool) -> None:
    """Per-video mode: target k follows its own sequence (here the demo, mirrored and darkened)."""
    frames, gt = demo_frames(5)
    videos = [frames, [f[:, ::-1].copy() for f in frames], [(f // 2).astype(np.uint8) for f in frames]]
    boxes = np.vstack([gt[0], BOXES[1:]])
    multi = MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device)
    multi.init([video[0] for video in videos], boxes)
    _assert_steps_match(multi, _singles(smoke_checkpoint, 3, on_device), lambda i: [video[i] for video in videos], 2)


def test_one_array_for_every_target_is_the_shared_frame(smoke_checkpoint: Path) -> None:
    frames, _ = demo_frames(3)
    shared, listed = (MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=True) for _ in range(2))
    shared.init(frames[0], BOXES)
    listed.init([frames[0]] * 3, BOXES)
    for frame in frames[1:]:
        (a, sa), (b, sb) = shared.update(frame), listed.update([frame] * 3)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(sa, sb)


def test_frames_of_different_sizes_are_cropped_on_the_host(smoke_checkpoint: Path) -> None:
    frames, gt = demo_frames(2)
    mixed = MultiTracker.from_pretrained(smoke_checkpoint, crop_on_device=True)
    mixed.init([frames[0], frames[0][:200]], [gt[0], gt[0]])
    boxes, _ = mixed.update([frames[1], frames[1][:200]])
    single = Tracker.from_pretrained(smoke_checkpoint, crop_on_device=False)
    single.init(frames[0][:200], gt[0])
    np.testing.assert_allclose(boxes[1], single.update(frames[1][:200])[0], atol=1e-3)


def test_bad_input(smoke_checkpoint: Path) -> None:
    frames, gt = demo_frames(3)
    multi = MultiTracker.from_pretrained(smoke_checkpoint)
    with pytest.raises(AutomatchError, match=r"MultiTracker.update\(\) called before MultiTracker.init"):
        multi.update(frames[0])
    multi.init([frames[0], frames[0]], [gt[0], gt[0]])
    with pytest.raises(AutomatchError, match="1 frames for 2 targets"):
        multi.update([frames[2]])
    with pytest.raises(AutomatchError, match=r"frame size changed from 480x320 to 480x200 \(target 1\)"):
        multi.update([frames[1], frames[1][:200]])
    broken = frames[1].astype(np.float32)
    broken[0, 0, 0] = np.inf
    before = multi.boxes
    with pytest.raises(AutomatchError, match="NaN or infinite"):
        multi.update([frames[1], broken])
    np.testing.assert_array_equal(multi.boxes, before)
    with pytest.raises(AutomatchError, match="at least one box"):
        multi.init(frames[0], [])
    with pytest.raises(AutomatchError, match="zero or negative size"):
        multi.init(frames[0], [[10, 10, 0, 5]])
    with pytest.raises(AutomatchError, match="four numbers"):
        multi.init(frames[0], [[10, 10, 5]])
    with pytest.raises(AutomatchError, match="a numpy array or a list"):
        multi.init(3, [[10, 10, 5, 5]])
