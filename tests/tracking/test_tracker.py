"""The online tracker: Ocean's post-processing on planted score maps, settings, frames of every kind, the API,
checkpoints and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data.crop import context_side
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import CheckpointError
from automatch_jax.tracking import MultiTracker, Tracker, TrackerSettings, load_checkpoint
from automatch_jax.tracking.demo import demo_frames
from tests.tracking.planted import GEOMETRY, plant, planted_network

FRAME = np.full((240, 320, 3), 90, np.uint8)


def _planted_tracker(cls=Tracker, **settings) -> Tracker:
    return cls(planted_network(), settings=TrackerSettings(**settings))


def test_the_box_follows_the_peak_and_its_size() -> None:
    tracker = _planted_tracker(window_influence=0.0, penalty_k=0.0, lr=1.0)
    box = np.array([140.0, 100.0, 40.0, 20.0])
    tracker.init(FRAME, box)
    g = tracker.geometry
    side_x = context_side(40, 20) * g.search_size / g.exemplar_size
    scale = g.search_size / side_x
    cell = (12, 4)  # row, column of the 16x16 score map
    plant(tracker, cell, (40 * scale * 1.2, 20 * scale * 1.2), score=1.0)
    (x, y, w, h), score = tracker.update(FRAME)
    pos = g.positions()
    expected_cx = 160 + (pos[cell[1]] - (g.search_size - 1) / 2) / scale
    expected_cy = 110 + (pos[cell[0]] - (g.search_size - 1) / 2) / scale
    assert score == pytest.approx(1.0)
    assert x + w / 2 == pytest.approx(expected_cx, abs=1e-4) and y + h / 2 == pytest.approx(expected_cy, abs=1e-4)
    assert (w, h) == (pytest.approx(48.0, rel=1e-5), pytest.approx(24.0, rel=1e-5))  # lr 1, score 1: the prediction


def test_cosine_window_and_penalty_prefer_small_changes() -> None:
    tracker = _planted_tracker(window_influence=0.9, lost_score=0.1)
    tracker.init(FRAME, (140, 100, 40, 20))
    plant(tracker, (2, 2), (30, 15), score=0.6)  # a strong peak far away in a corner
    before = tracker.box.copy()
    box, _ = tracker.update(FRAME)
    # the window dominates: the chosen cell is the centre one, whose score (0.01) counts as lost
    np.testing.assert_allclose(box, before, atol=1e-4)
    assert tracker.lost == 1


def test_a_lost_target_widens_the_search_and_is_found_again() -> None:
    tracker = _planted_tracker(window_influence=0.0, penalty_k=0.0, lost_score=0.1)
    tracker.init(FRAME, (140, 100, 40, 20))
    start = tracker.box.copy()
    plant(tracker, None, (30, 15))
    for _ in range(6):  # nothing scores: the box stays, never drifts to a corner
        box, score = tracker.update(FRAME)
        assert score < tracker.settings.lost_score
        np.testing.assert_allclose(box, start, atol=1e-4)
    assert tracker.lost == 6
    plant(tracker, (14, 14), (30, 15), score=0.9)  # the target reappears near a corner of the wide region
    box, score = tracker.update(FRAME)
    assert score == pytest.approx(0.9) and tracker.lost == 0
    assert box[0] > start[0] + 20 and box[1] > start[1] + 20


def test_target_leaving_the_frame_is_clipped_not_crashing() -> None:
    tracker = _planted_tracker(window_influence=0.0, penalty_k=0.0)
    tracker.init(FRAME, (280, 200, 39, 39))
    plant(tracker, (15, 15), (40, 40))
    for _ in range(5):
        box, _ = tracker.update(FRAME)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        assert 0 <= cx <= 320 and 0 <= cy <= 240


@pytest.mark.parametrize("cls", [Tracker, MultiTracker])
def test_settings_are_read_at_every_call(cls: type) -> None:
    """Assigning ``settings`` after ``init`` changes the next ``update``, for every face."""
    tracker = _planted_tracker(cls, window_influence=0.0, penalty_k=0.0)
    box = (140, 100, 40, 20)
    tracker.init(FRAME, box if cls is Tracker else [box, box])
    plant(tracker, (12, 4), (30, 15), score=0.9)
    tracker.settings = tracker.settings.replace(lost_score=0.95)  # the peak now counts as lost
    tracker.update(FRAME)
    np.testing.assert_allclose(tracker.boxes, [box] * len(tracker.boxes), atol=1e-4)
    assert (tracker.lost == 1).all()
    tracker.settings = tracker.settings.replace(lost_score=0.1)
    tracker.update(FRAME)
    assert (tracker.lost == 0).all() and (tracker.boxes[:, 0] < 130).all()


def test_frames_in_any_colour_layout(smoke_checkpoint: Path) -> None:
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    a = Tracker.from_pretrained(smoke_checkpoint)
    b = Tracker.from_pretrained(smoke_checkpoint, color="rgb")
    a.init(bgr, (50, 40, 30, 30))
    b.init(bgr[..., ::-1], (50, 40, 30, 30))
    (box_a, score_a), (box_b, score_b) = a.update(bgr), b.update(bgr[..., ::-1])
    np.testing.assert_allclose(box_a, box_b, atol=1e-4)
    assert score_a == pytest.approx(score_b, rel=1e-5)
    grey = Tracker.from_pretrained(smoke_checkpoint)
    grey.init(bgr[..., 0], (50, 40, 30, 30))
    grey.update(bgr[..., :1])
    with pytest.raises(AutomatchError, match="frame size changed from 160x120 to 80x60"):
        grey.update(bgr[:60, :80, 0])
    for on_device in (False, True):  # BGRA, and the channel swap inside the compiled step either way
        bgra = Tracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device)
        bgra.init(np.dstack([bgr, bgr[..., :1]]), (50, 40, 30, 30))
        box, _ = bgra.update(np.dstack([bgr, bgr[..., :1]]))
        np.testing.assert_allclose(box, box_a, atol=0.05 if on_device else 1e-4)
    with pytest.raises(AutomatchError, match="unknown colour order 'hsv'"):
        Tracker.from_pretrained(smoke_checkpoint, color="hsv")


def test_frame_types_and_ranges(smoke_checkpoint: Path) -> None:
    """uint8 as is; other integers in 0..255 exactly like uint8; floats on 0..255 or 0..1 like the uint8 frame
    they came from (float crops are not rounded to grey levels, hence the small tolerance)."""
    frames, gt = demo_frames(2)
    reference = Tracker.from_pretrained(smoke_checkpoint)
    reference.init(frames[0], gt[0])
    expected, score = reference.update(frames[1])
    variants = {"int64": (lambda f: f.astype(np.int64), 0.0), "uint16": (lambda f: f.astype(np.uint16), 0.0),
                "float32 0..255": (lambda f: f.astype(np.float32), 0.05),
                "float64 0..1": (lambda f: f / 255.0, 0.05),
                "float16 0..1": (lambda f: (f / 255).astype(np.float16), 0.5)}
    for name, (convert, tolerance) in variants.items():
        tracker = Tracker.from_pretrained(smoke_checkpoint)
        tracker.init(convert(frames[0]), gt[0])
        box, got = tracker.update(convert(frames[1]))
        np.testing.assert_allclose(box, expected, atol=tolerance, err_msg=name)
        assert got == pytest.approx(score, abs=max(tolerance, 1e-6)), name


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.full((60, 80, 3), np.nan, np.float32), "NaN or infinite"),
        (np.full((60, 80, 3), np.inf), "NaN or infinite"),
        (np.full((60, 80, 3), 300.0, np.float32), r"values span 300\.\.300; float frames must lie within 0\.\.255"),
        (np.full((60, 80, 3), -1.0), "values span -1..-1"),
        (np.full((60, 80, 3), 4096, np.uint16), "uint16 frame values span 4096..4096"),
        (np.full((60, 80, 3), -3, np.int64), "int64 frame values span -3..-3"),
        (np.zeros((60, 80, 3), bool), "not bool"),
        (np.zeros((60, 80, 3), complex), "not complex128"),
        ([[1, 2]], "numpy array"),
        (np.zeros((4, 4, 4, 4), np.uint8), "HxW"),
        (np.zeros((1, 80, 3), np.uint8), "too small"),
    ],
    ids=["nan", "inf", "over-255", "negative", "16-bit", "int64-negative", "bool", "complex", "list", "4d", "1-row"],
)
def test_bad_frames_are_refused_and_do_not_touch_the_state(frame, message: str) -> None:
    tracker = _planted_tracker()
    with pytest.raises(AutomatchError, match=message):
        tracker.init(frame, (10, 10, 20, 20))
    good = np.full((60, 80, 3), 90, np.uint8)
    tracker.init(good, (10, 10, 20, 20))
    before = tracker.box.copy()
    with pytest.raises(AutomatchError, match=message):
        tracker.update(frame)
    np.testing.assert_array_equal(tracker.box, before)
    assert tracker.lost == 0


def test_one_bad_frame_does_not_poison_later_frames(smoke_checkpoint: Path) -> None:
    frames, gt = demo_frames(4)
    clean, hit = Tracker.from_pretrained(smoke_checkpoint), Tracker.from_pretrained(smoke_checkpoint)
    for tracker in (clean, hit):
        tracker.init(frames[0], gt[0])
        tracker.update(frames[1])
    broken = frames[2].astype(np.float32)
    broken[5, 5, 1] = np.nan
    with pytest.raises(AutomatchError, match="NaN"):
        hit.update(broken)
    for frame in frames[2:]:
        (box_a, score_a), (box_b, score_b) = clean.update(frame), hit.update(frame)
        np.testing.assert_array_equal(box_a, box_b)
        assert score_a == score_b and np.isfinite(box_b).all()


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ((10, 10, 0, 5), "zero or negative size"),
        ((10, 10, 5, -1), "zero or negative size"),
        ((400, 10, 5, 5), "outside the 320x240 frame"),
        ((-50, 10, 20, 5), "outside the 320x240 frame"),
        ((1, 2, 3), "four"),
        ((1, 2, float("nan"), 4), "four finite numbers"),
        ("a,b", "four"),
        ([(1, 2, 3, 4), (5, 6, 7, 8)], "takes one box, not 2"),
        ([], "at least one box"),
    ],
)
def test_bad_boxes(box, message: str) -> None:
    with pytest.raises(AutomatchError, match=message):
        _planted_tracker().init(FRAME, box)


def test_order_and_construction_errors(smoke_checkpoint: Path) -> None:
    with pytest.raises(AutomatchError, match=r"Tracker.update\(\) called before Tracker.init"):
        _planted_tracker().update(FRAME)
    with pytest.raises(AutomatchError, match="pass no variables"):
        Tracker(planted_network(), {"params": {}})
    assert _planted_tracker().geometry == GEOMETRY


def test_checkpoint_round_trip_and_overrides(smoke_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(smoke_checkpoint)
    assert checkpoint.name == "smoke" and checkpoint.settings == TrackerSettings()
    tracker = Tracker.from_checkpoint(checkpoint, penalty_k="0.05")
    assert tracker.settings.penalty_k == 0.05 and tracker.name == "smoke"
    assert tracker.network.module is not None and tracker.geometry == tracker.network.module.geometry
    with pytest.raises(AutomatchError, match="unknown tracker setting.*nonsense"):
        Tracker.from_checkpoint(checkpoint, nonsense=1)
    with pytest.raises(AutomatchError, match="window_influence=2.0 is out of range"):
        Tracker.from_checkpoint(checkpoint, window_influence=2)


@pytest.mark.parametrize("cls", [Tracker, MultiTracker])
def test_broken_checkpoints_fail_with_one_line(smoke_checkpoint: Path, tmp_path: Path, cls: type) -> None:
    def copy(name: str) -> Path:
        return Path(shutil.copytree(smoke_checkpoint, tmp_path / name))

    with pytest.raises(CheckpointError, match="no such checkpoint folder or named model"):
        cls.from_pretrained(tmp_path / "missing")
    stray = tmp_path / "weights.pth"
    stray.write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match="is a folder"):
        cls.from_pretrained(stray)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(CheckpointError, match="not an automatch checkpoint"):
        cls.from_pretrained(foreign)
    corrupt = copy("corrupt")
    (corrupt / "automatch.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt manifest"):
        cls.from_pretrained(corrupt)
    future = copy("future")
    manifest = json.loads((future / "automatch.json").read_text())
    (future / "automatch.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(CheckpointError, match="format version 99"):
        cls.from_pretrained(future)
    truncated = copy("truncated")
    shutil.rmtree(truncated / "variables")
    with pytest.raises(CheckpointError, match="orbax checkpoint directory not found"):
        cls.from_pretrained(truncated)
    mismatched = copy("mismatched")
    manifest = json.loads((mismatched / "automatch.json").read_text())
    manifest["model"]["channels"] = 32
    (mismatched / "automatch.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="do not fit its model config"):
        cls.from_pretrained(mismatched)
    manifest["model"]["backbone"] = "nonsense"
    (mismatched / "automatch.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="invalid model config"):
        cls.from_pretrained(mismatched)


def test_crops_cut_on_the_device_step_like_host_crops(smoke_checkpoint: Path) -> None:
    """From the same state, one step with the crop cut on the device and one with OpenCV's crop agree (the crops
    differ by OpenCV's 1/32-pixel rounding only)."""
    frames, gt = demo_frames(8)
    host = Tracker.from_pretrained(smoke_checkpoint, crop_on_device=False)
    device = Tracker.from_pretrained(smoke_checkpoint, crop_on_device=True)
    assert (host.crop_on_device, device.crop_on_device) == (False, True)
    for i in range(0, 7, 2):
        results = []
        for tracker in (host, device):
            tracker.init(frames[i], gt[i])
            results.append(tracker.update(frames[i + 1]))
        (box_a, score_a), (box_b, score_b) = results
        np.testing.assert_allclose(box_a, box_b, atol=0.5)
        assert abs(score_a - score_b) < 0.02
