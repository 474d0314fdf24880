"""The online tracker: Ocean's post-processing on planted score maps, the API, checkpoints and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.data.crop import CropWindow, context_side, crop, crop_jax
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.metrics import box_iou
from automatch_jax.models.checkpoint import CheckpointError
from automatch_jax.models.geometry import decode_boxes
from automatch_jax.tracking import Tracker, TrackerSettings, load_checkpoint
from automatch_jax.tracking.demo import demo_frames

FRAME = np.full((240, 320, 3), 90, np.uint8)


def test_crop_window_round_trip_and_pixels() -> None:
    ramp = np.tile(np.arange(200, dtype=np.float32)[None, :, None], (100, 1, 3))
    window = CropWindow(50.5, 40.5, 11, 11)  # centred on pixel 50, one frame pixel per crop pixel
    np.testing.assert_allclose(crop(ramp, window)[5, :, 0], np.arange(45, 56))
    big = CropWindow(100.0, 50.0, 64.0, 255)
    points = np.array([10.0, 20.0, 150.0, 90.0])
    np.testing.assert_allclose(big.to_frame(big.to_crop(points)), points)
    assert big.to_crop(np.array([100.0, 50.0])).tolist() == [127.0, 127.0]
    assert context_side(10, 30) == pytest.approx(np.sqrt(30 * 50))


@pytest.mark.parametrize("window", [CropWindow(100.3, 80.7, 150.2, 63), CropWindow(5.0, 3.0, 300.0, 31),
                                    CropWindow(318.0, 238.0, 40.0, 47), CropWindow(160.0, 120.0, 900.0, 15)],
                         ids=["inside", "over-the-corner", "small", "frame-inside-crop"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_device_crop_equals_opencv(window: CropWindow, dtype: type) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (240, 320, 3)).astype(dtype)
    fill = np.array([10.0, 200.0, 90.0])
    expected = crop(frame, window, fill)
    got = np.asarray(crop_jax(frame, np.array([window.cx, window.cy, window.side]), window.out, fill))
    assert got.shape == expected.shape == (window.out, window.out, 3)
    # OpenCV samples at 1/32 pixel and rounds uint8 results; the exact bilinear value stays within a grey level
    np.testing.assert_allclose(got, expected, atol=1.0 if dtype == np.uint8 else 0.2)
    assert np.abs(got - expected).mean() < 0.3


def _planted(tracker: Tracker, cell: tuple[int, int] | None, size: tuple[float, float], score: float = 0.9):
    """Replace the network by a score map peaked at ``cell`` whose boxes all have ``size`` (crop pixels)."""
    g = tracker.geometry
    s = g.score_size

    def fake_track(variables, exemplar, x):
        scores = np.full((s, s), 0.01)
        if cell is not None:
            scores[cell] = score
        distances = np.broadcast_to(np.array([size[0] / 2, size[1] / 2, size[0] / 2, size[1] / 2]), (s, s, 4))
        return jnp.asarray(scores), decode_boxes(g, jnp.asarray(distances))

    tracker._network = fake_track
    tracker._compile()


def test_the_box_follows_the_peak_and_its_size(smoke_checkpoint: Path) -> None:
    tracker = Tracker.from_pretrained(smoke_checkpoint, window_influence=0.0, penalty_k=0.0, lr=1.0)
    box = np.array([140.0, 100.0, 40.0, 20.0])
    tracker.init(FRAME, box)
    g = tracker.geometry
    side_x = context_side(40, 20) * g.search_size / g.exemplar_size
    scale = g.search_size / side_x
    cell = (12, 4)  # row, column of the 16x16 score map
    _planted(tracker, cell, (40 * scale * 1.2, 20 * scale * 1.2), score=1.0)
    (x, y, w, h), score = tracker.update(FRAME)
    pos = g.positions()
    expected_cx = 160 + (pos[cell[1]] - (g.search_size - 1) / 2) / scale
    expected_cy = 110 + (pos[cell[0]] - (g.search_size - 1) / 2) / scale
    assert score == pytest.approx(1.0)
    assert x + w / 2 == pytest.approx(expected_cx, abs=1e-4) and y + h / 2 == pytest.approx(
        expected_cy, abs=1e-4
    )
    assert (w, h) == (
        pytest.approx(48.0, rel=1e-5),
        pytest.approx(24.0, rel=1e-5),
    )  # lr 1 with score 1: the predicted size


def test_cosine_window_and_penalty_prefer_small_changes(smoke_checkpoint: Path) -> None:
    tracker = Tracker.from_pretrained(smoke_checkpoint, window_influence=0.9)
    tracker.init(FRAME, (140, 100, 40, 20))
    _planted(tracker, (2, 2), (30, 15), score=0.6)  # a strong peak far away in a corner
    before = tracker.box.copy()
    box, _ = tracker.update(FRAME)
    # the window dominates: the chosen cell is the centre one, whose score (0.01) counts as lost
    np.testing.assert_allclose(box, before)


def test_a_lost_target_widens_the_search_and_is_found_again(smoke_checkpoint: Path) -> None:
    settings = {"window_influence": 0.0, "penalty_k": 0.0}
    tracker = Tracker.from_pretrained(smoke_checkpoint, **settings)
    tracker.init(FRAME, (140, 100, 40, 20))
    start = tracker.box.copy()
    _planted(tracker, None, (30, 15))
    for _ in range(6):  # nothing scores: the box stays, never drifts to a corner
        box, score = tracker.update(FRAME)
        assert score < tracker.settings.lost_score
        np.testing.assert_allclose(box, start)
    assert tracker._lost == 6
    _planted(tracker, (14, 14), (30, 15), score=0.9)  # the target reappears near a corner of the wide region
    box, score = tracker.update(FRAME)
    assert score == pytest.approx(0.9) and tracker._lost == 0
    assert box[0] > start[0] + 20 and box[1] > start[1] + 20


def test_target_leaving_the_frame_is_clipped_not_crashing(smoke_checkpoint: Path) -> None:
    tracker = Tracker.from_pretrained(smoke_checkpoint, window_influence=0.0, penalty_k=0.0)
    tracker.init(FRAME, (280, 200, 39, 39))
    for _ in range(5):
        _planted(tracker, (15, 15), (40, 40))
        box, _ = tracker.update(FRAME)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        assert 0 <= cx <= 320 and 0 <= cy <= 240


def test_frames_in_any_colour_layout(smoke_checkpoint: Path) -> None:
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    a = Tracker.from_pretrained(smoke_checkpoint)
    b = Tracker.from_pretrained(smoke_checkpoint, color="rgb")
    a.init(bgr, (50, 40, 30, 30))
    b.init(bgr[..., ::-1], (50, 40, 30, 30))
    (box_a, score_a), (box_b, score_b) = a.update(bgr), b.update(bgr[..., ::-1])
    np.testing.assert_allclose(box_a, box_b)
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
        np.testing.assert_allclose(box, box_a, atol=0.05 if on_device else 1e-6)
    with pytest.raises(AutomatchError, match="unknown colour order 'hsv'"):
        Tracker.from_pretrained(smoke_checkpoint, color="hsv")


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
    ],
)
def test_bad_boxes(smoke_checkpoint: Path, box, message: str) -> None:
    tracker = Tracker.from_pretrained(smoke_checkpoint)
    with pytest.raises(AutomatchError, match=message):
        tracker.init(FRAME, box)


def test_bad_frames_and_order(smoke_checkpoint: Path) -> None:
    tracker = Tracker.from_pretrained(smoke_checkpoint)
    with pytest.raises(AutomatchError, match="before Tracker.init"):
        tracker.update(FRAME)
    with pytest.raises(AutomatchError, match="numpy array"):
        tracker.init([[1, 2]], (0, 0, 1, 1))
    with pytest.raises(AutomatchError, match="HxW"):
        tracker.init(np.zeros((4, 4, 4, 4), np.uint8), (0, 0, 1, 1))


def test_checkpoint_round_trip_and_overrides(smoke_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(smoke_checkpoint)
    assert checkpoint.name == "smoke" and checkpoint.settings == TrackerSettings()
    tracker = Tracker.from_checkpoint(checkpoint, penalty_k="0.05")
    assert tracker.settings.penalty_k == 0.05
    with pytest.raises(AutomatchError, match="unknown tracker setting.*nonsense"):
        Tracker.from_checkpoint(checkpoint, nonsense=1)
    with pytest.raises(AutomatchError, match="window_influence=2.0 is out of range"):
        Tracker.from_checkpoint(checkpoint, window_influence=2)


def test_broken_checkpoints_fail_with_one_line(smoke_checkpoint: Path, tmp_path: Path) -> None:
    def copy(name: str) -> Path:
        return Path(shutil.copytree(smoke_checkpoint, tmp_path / name))

    with pytest.raises(CheckpointError, match="no such checkpoint folder or named model"):
        load_checkpoint(tmp_path / "missing")
    stray = tmp_path / "weights.pth"
    stray.write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(stray)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with pytest.raises(CheckpointError, match="not an automatch checkpoint"):
        load_checkpoint(foreign)
    corrupt = copy("corrupt")
    (corrupt / "automatch.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt manifest"):
        load_checkpoint(corrupt)
    future = copy("future")
    manifest = json.loads((future / "automatch.json").read_text())
    (future / "automatch.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(future)
    truncated = copy("truncated")
    shutil.rmtree(truncated / "variables")
    with pytest.raises(CheckpointError, match="orbax checkpoint directory not found"):
        load_checkpoint(truncated)
    mismatched = copy("mismatched")
    manifest = json.loads((mismatched / "automatch.json").read_text())
    manifest["model"]["channels"] = 32
    (mismatched / "automatch.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="do not fit its model config"):
        Tracker.from_pretrained(mismatched)


def test_crops_cut_on_the_device_track_like_host_crops(smoke_checkpoint: Path) -> None:
    frames, gt = demo_frames(10)
    runs = []
    for on_device in (False, True):
        tracker = Tracker.from_pretrained(smoke_checkpoint, crop_on_device=on_device)
        assert tracker.crop_on_device is on_device
        tracker.init(frames[0], gt[0])
        runs.append(np.array([tracker.update(frame)[0] for frame in frames[1:]]))
    assert box_iou(runs[0], runs[1]).mean() > 0.95
