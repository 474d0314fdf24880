"""The authors' larger search crop for small targets (``sot_tracker.py`` ``init``: ``big_sz`` when the target
covers under 0.4 % of the frame): chosen per target at init, the same as a network built for that crop size,
grouped by size in a MultiTracker, on in the OTB and UAV123 presets, refused for exports, validated in one line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.cli.main import build_parser
from automatch_jax.cli.track_cmd import load_tracker
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import load_checkpoint
from automatch_jax.models.config import build_network
from automatch_jax.models.geometry import decode_boxes
from automatch_jax.models.settings import PRESETS, TrackerSettings
from automatch_jax.tracking import MultiTracker, Network, Tracker
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.export import ExportedTracker, export_tracker, exported_network, load_export
from automatch_jax.tracking.network import checkpoint_network, flax_network, module_network
from tests.tracking.planted import GEOMETRY, planted_network

BIG = 159  # a larger search crop for the 127-pixel smoke networks (63-pixel exemplars)
SMALL_AREA = 0.05  # the demo's target (about 72 x 57 of 480 x 320, 2.7 %) counts as small under 5 %
NORMAL_BOX = np.array([250.0, 150.0, 150.0, 120.0])  # 11.7 % of the demo frame


def stand_in(seen: list[tuple[int, int]], size: int = GEOMETRY.search_size) -> Network:
    """A network for ``size``-pixel crops that records (crop side, score-map side) each time it is traced and
    scores one cell right of and below the crop centre; its ``resize`` gives the same at another size."""
    g = dataclasses.replace(GEOMETRY, search_size=size)

    def template(params: dict, z: jnp.ndarray, z_box: jnp.ndarray) -> dict:
        return {"z_box": z_box}

    def track(params: dict, exemplar: dict, x: jnp.ndarray) -> tuple:
        s, c = g.score_size, g.centre_cell
        seen.append((x.shape[1], s))
        scores = jnp.full((s, s), 0.01).at[c + 1, c + 1].set(0.9)
        boxes = decode_boxes(g, jnp.broadcast_to(jnp.array([15.0, 7.5, 15.0, 7.5]), (s, s, 4)))
        return jnp.broadcast_to(scores, (x.shape[0], s, s)), jnp.broadcast_to(boxes, (x.shape[0], s, s, 4)), None

    return Network(g, template, track, params={}, resize=lambda other: stand_in(seen, other))


def _run(tracker: Tracker, frames: list, box) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([tracker.update(frame)[0] for frame in frames[1:]])


@pytest.mark.parametrize("on_device", [False, True], ids=["host-crops", "device-crops"])
def test_a_small_target_is_searched_in_the_larger_crop(on_device: bool) -> None:
    frames, gt = demo_frames(3)
    seen: list[tuple[int, int]] = []
    settings = TrackerSettings(small_target_search=BIG, small_target_area=SMALL_AREA)
    tracker = Tracker(stand_in(seen), settings=settings, crop_on_device=on_device)
    _run(tracker, frames, gt[0])
    big = dataclasses.replace(GEOMETRY, search_size=BIG)
    assert tracker.search_sizes.tolist() == [BIG] and seen == [(BIG, big.score_size)]  # 20 x 20 cells, not 16
    seen.clear()
    _run(tracker, frames, NORMAL_BOX)
    assert tracker.search_sizes.tolist() == [GEOMETRY.search_size]
    assert seen == [(GEOMETRY.search_size, GEOMETRY.score_size)]


def test_the_larger_crop_tracks_as_a_network_built_for_it(smoke_automatch_checkpoint: Path) -> None:
    """A small target with ``small_target_search`` follows the same boxes as a tracker whose AutoMatch network
    (the same weights) was built for that crop size: the crop, score map, cosine window and zoom all follow."""
    frames, gt = demo_frames(5)
    checkpoint = load_checkpoint(smoke_automatch_checkpoint)
    net = checkpoint_network(checkpoint)
    settings = checkpoint.settings.replace(small_target_area=SMALL_AREA)
    larger = Tracker(flax_network(net.clone(search_size=BIG), checkpoint.variables), settings=settings)
    tracker = Tracker(net, checkpoint.variables, settings.replace(small_target_search=BIG))
    assert tracker.network.at_search_size(BIG).geometry == larger.geometry
    np.testing.assert_allclose(_run(tracker, frames, gt[0]), _run(larger, frames, gt[0]), atol=1e-4)
    assert tracker.search_sizes.tolist() == [BIG]


def test_with_the_setting_off_nothing_changes() -> None:
    """Off (the default), or on for a target that is not small: the same boxes, all in the network's own crop
    (the values are the tracker's from before the setting existed)."""
    frames, gt = demo_frames(4)
    runs = {}
    for name, extra in (("default", {}), ("not small", {"small_target_search": BIG}),
                        ("area 0", {"small_target_search": BIG, "small_target_area": 0.0})):
        network = dataclasses.replace(planted_network(cell=(9, 10), size=(40.0, 30.0)),
                                      resize=lambda size: stand_in([], size))  # never used: no target is small
        tracker = Tracker(network, settings=TrackerSettings(**extra), crop_on_device=False)
        runs[name] = _run(tracker, frames, gt[0])
        assert tracker.search_sizes.tolist() == [GEOMETRY.search_size]
    for name in ("not small", "area 0"):
        np.testing.assert_array_equal(runs[name], runs["default"])
    np.testing.assert_allclose(runs["default"][-1], PINNED_LAST_BOX, atol=1e-3)


PINNED_LAST_BOX = np.array([438.1295, 200.6922, 73.3829, 55.1369])  # host crops, the planted network


@pytest.mark.parametrize("on_device", [False, True], ids=["host-crops", "device-crops"])
def test_small_and_normal_targets_together_step_like_separate_trackers(smoke_automatch_checkpoint: Path,
                                                                      on_device: bool) -> None:
    frames, gt = demo_frames(3)
    overrides = {"small_target_search": BIG, "small_target_area": SMALL_AREA, "crop_on_device": on_device}
    boxes = np.stack([gt[0], NORMAL_BOX])  # small, normal: the groups are not in target order
    multi = MultiTracker.from_pretrained(smoke_automatch_checkpoint, **overrides)
    singles = [Tracker.from_pretrained(smoke_automatch_checkpoint, **overrides) for _ in boxes]
    multi.init(frames[0], boxes)
    for single, box in zip(singles, boxes, strict=True):
        single.init(frames[0], box)
    assert multi.search_sizes.tolist() == [BIG, 127]
    for frame in frames[1:]:
        got, scores = multi.update(frame)
        for k, single in enumerate(singles):
            box, score = single.update(frame)
            np.testing.assert_allclose(got[k], box, rtol=1e-5, atol=1e-3)
            assert abs(scores[k] - score) < 1e-4


def test_the_otb_and_uav123_presets_turn_it_on(smoke_automatch_checkpoint: Path) -> None:
    assert {name: values["small_target_search"] for name, values in PRESETS.items()} == {
        "otb": 287, "vot": 0, "got10k": 0, "trackingnet": 0, "lasot": 0, "uav123": 271, "nfs": 0}
    frames, _ = demo_frames(2)
    tracker = Tracker.from_pretrained(smoke_automatch_checkpoint, preset="otb")
    assert (tracker.settings.small_target_search, tracker.settings.small_target_area) == (287, 0.004)
    tracker.init(frames[0], (100, 100, 12, 10))  # 0.25 % of the frame
    tracker.update(frames[1])
    assert tracker.search_sizes.tolist() == [287]
    tracker.init(frames[0], (100, 100, 30, 30))  # 1.9 %
    assert tracker.search_sizes.tolist() == [127]
    args = build_parser().parse_args(["track", "video.mp4", "--model", str(smoke_automatch_checkpoint),
                                      "--preset", "uav123"])
    assert load_tracker(args).settings.small_target_search == 271


@pytest.fixture(scope="module")
def smoke_export(smoke_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tracker(load_checkpoint(smoke_checkpoint), tmp_path_factory.mktemp("export") / "smoke")


def test_an_export_refuses_the_larger_crop_in_one_line(smoke_export: Path) -> None:
    message = r"small_target_search=287 cannot be used: .*fixed.*; set small_target_search=0"
    with pytest.raises(AutomatchError, match=message) as caught:
        ExportedTracker(smoke_export, small_target_search=287)
    assert "\n" not in str(caught.value)
    with pytest.raises(AutomatchError, match=message):
        MultiTracker(exported_network(*load_export(smoke_export)), settings=TrackerSettings(small_target_search=287))
    tracker = ExportedTracker(smoke_export, small_target_search=127)  # its own size: nothing to change
    with pytest.raises(AutomatchError, match=message):
        tracker.settings = tracker.settings.replace(small_target_search=287)
    assert tracker.settings.small_target_search == 127  # the refused settings were not taken


@pytest.mark.parametrize(("setting", "message"), [
    ({"small_target_search": -1}, "small_target_search=-1 is out of range: it must be 0 .off. or a crop side in "
                                  "whole pixels"),
    ({"small_target_search": 287.5}, "small_target_search=287.5 is out of range"),
    ({"small_target_search": float("nan")}, "small_target_search=nan is out of range"),
    ({"small_target_area": 1.5}, "small_target_area=1.5 is out of range: it must be between 0 and 1"),
    ({"small_target_area": -0.1}, "small_target_area=-0.1 is out of range: it must be between 0 and 1"),
])
def test_out_of_range_settings_name_the_allowed_range(setting: dict, message: str) -> None:
    with pytest.raises(AutomatchError, match=message):
        TrackerSettings(**setting)


def test_settings_round_trip_and_sizes_the_network_cannot_take() -> None:
    settings = TrackerSettings().replace(small_target_search="287")
    assert settings.small_target_search == 287 and isinstance(settings.small_target_search, int)
    assert TrackerSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(AutomatchError, match="small_target_search=40 cannot be used: a 40-pixel search crop is "
                                             "smaller than the 63-pixel exemplar; set small_target_search=0"):
        Tracker(stand_in([]), settings=TrackerSettings(small_target_search=40))
    lite = module_network(build_network({"backbone": "efficientnet_lite0"}), {})
    with pytest.raises(AutomatchError, match="crops of 256 and 127 pixels put feature cells at different offsets"):
        lite.at_search_size(256)
    assert lite.at_search_size(287).geometry.score_size == 36 and lite.at_search_size(255) is lite
