"""The authors' inference on the tracker core: the two-stage score, the zoom refinement, the size rate applied
``lr_power`` times, the per-benchmark presets, and the settings' range messages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.errors import AutomatchError
from automatch_jax.models.settings import AUTOMATCH_INFERENCE, PRESETS, TrackerSettings, preset_settings
from automatch_jax.models.targets import soft_iou
from automatch_jax.tracking import Tracker
from automatch_jax.tracking.core import place, zoom, zoom_candidates
from automatch_jax.tracking.demo import demo_frames
from tests.tracking.planted import GEOMETRY, planted_network


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_zoom_moves_a_perturbed_box_towards_the_best_rescored_candidate() -> None:
    """A planted stage 2 that scores boxes by their IoU with the truth: the zoomed box overlaps the truth more than
    the perturbed pick, by the weight's share of the way to the best candidate."""
    truth = np.array([100.0, 90.0, 160.0, 140.0])
    picked = truth + np.array([0.0, 0.0, 16.0, -12.0])  # one corner right, the other off by 16 and 12 pixels
    candidates = zoom_candidates(jnp.asarray(picked[None], jnp.float32), 255)
    assert candidates.shape == (1, 97, 4)
    np.testing.assert_allclose(candidates[0, 0], picked)
    probabilities = soft_iou(candidates, jnp.asarray(truth[None], jnp.float32))
    best = np.asarray(candidates[0, int(np.argmax(probabilities[0]))])
    for weight in (0.5, 1.0):
        moved = np.asarray(zoom(jnp.asarray(picked[None], jnp.float32), candidates, probabilities, weight))[0]
        np.testing.assert_allclose(moved, picked + weight * (best - picked), atol=1e-4)
        assert _iou(moved, truth) > _iou(picked, truth) + 0.05
    edge = np.asarray(zoom_candidates(jnp.asarray([[0.0, 2.0, 250.0, 254.0]]), 255))
    assert edge.min() >= 0 and edge.max() <= 255


def test_the_size_rate_is_applied_lr_power_times() -> None:
    state = jnp.array([100.0, 100.0, 40.0, 20.0, 0.0])
    window = jnp.array([100.0, 100.0, 255.0])  # crop scale 1
    box = jnp.array([127.0 - 40, 127.0 - 20, 127.0 + 40, 127.0 + 20])  # 80 x 40, centred
    frame = jnp.array([640.0, 480.0])
    for power, expected in ((1.0, 40 + 0.5 * 40), (2.0, 40 + 0.25 * 40)):
        s = TrackerSettings(lr_power=power, lost_score=0.0)
        new = place(box, jnp.asarray(0.5), jnp.asarray(0.9), state, window, frame, s, 255)
        assert float(new[2]) == pytest.approx(expected, rel=1e-5)
        assert float(new[0]) == pytest.approx(100.0, abs=1e-3)
    small = place(jnp.array([120.0, 120.0, 122.0, 122.0]), jnp.asarray(1.0), jnp.asarray(0.9), state, window, frame,
                  TrackerSettings(min_size=10.0, lost_score=0.0), 255)
    assert float(small[2]) == float(small[3]) == 10.0


def test_presets_load_and_change_the_tracking(smoke_automatch_checkpoint: Path) -> None:
    assert set(PRESETS) == {"otb", "vot", "got10k", "trackingnet", "lasot", "uav123", "nfs"}
    otb = preset_settings(TrackerSettings(), "otb", lr=0.5)
    assert (otb.penalty_k, otb.window_influence, otb.lr) == (0.147, 0.55, 0.5)
    assert all(getattr(otb, key) == value for key, value in AUTOMATCH_INFERENCE.items())
    with pytest.raises(AutomatchError, match="unknown preset 'otb2015'; known: otb, vot"):
        preset_settings(TrackerSettings(), "otb2015")
    frames, gt = demo_frames(6)
    runs = {}
    for preset in ("otb", "nfs"):
        tracker = Tracker.from_pretrained(smoke_automatch_checkpoint, preset=preset)
        assert tracker.settings.window_influence == PRESETS[preset]["window_influence"]
        tracker.init(frames[0], gt[0])
        runs[preset] = np.array([tracker.update(frame)[0] for frame in frames[1:]])
    assert np.abs(runs["otb"] - runs["nfs"]).max() > 1e-3


def test_the_tracker_zooms_towards_what_stage_2_prefers() -> None:
    """The planted network's boxes are 30 x 15 crop pixels at the crop centre; its planted stage 2 prefers a box 16
    pixels wider (right side): with zoom the tracked box widens, without it (or without a re-scorer) it does not."""
    base = planted_network(cell=(7, 7), size=(30.0, 15.0))
    assert GEOMETRY.score_size > 7

    def preferred(params: dict, features: None, boxes: jnp.ndarray) -> jnp.ndarray:
        picked = boxes[:, 0]  # the chosen box comes first among the candidates
        wider = picked.at[:, 2].add(16.0)
        return soft_iou(boxes, wider)

    frames, gt = demo_frames(3)
    widths = {}
    for name, network, weight in (("off", base, 0.0), ("on", dataclasses.replace(base, rescore=preferred), 0.5),
                                  ("no rescorer", base, 0.5)):
        tracker = Tracker(network, settings=TrackerSettings(zoom=weight, lr=1.0, lost_score=0.0, penalty_k=0.0))
        tracker.init(frames[0], gt[0])
        widths[name] = tracker.update(frames[1])[0][2]
    assert widths["on"] > widths["off"] + 1.0
    assert widths["no rescorer"] == pytest.approx(widths["off"])


def test_preset_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--preset", "otb2015", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'otb2015'" in capsys.readouterr().err


@pytest.mark.parametrize(("setting", "message"), [
    ({"lr": 1.5}, "lr=1.5 is out of range: it must be between 0 and 1"),
    ({"min_size": 0.0}, "min_size=0.0 is out of range: it must be above 0"),
    ({"search_growth": 0.5}, "search_growth=0.5 is out of range: it must be at least 1"),
    ({"zoom": 2.0}, "zoom=2.0 is out of range: it must be between 0 and 1"),
])
def test_out_of_range_settings_name_the_allowed_range(setting: dict, message: str) -> None:
    with pytest.raises(AutomatchError, match=message):
        TrackerSettings(**setting)
