"""``automatch export``: the serialised steps reload for CPU and CUDA, match the original network and track like the
live tracker; settings behave as for every tracker; foreign or broken folders fail with one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import load_checkpoint
from automatch_jax.models.config import build_network
from automatch_jax.models.geometry import decode_boxes
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking import MultiTracker, Tracker
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.export import (
    PLATFORMS,
    ExportedTracker,
    export_tracker,
    exported_network,
    load_export,
)


def assert_steps_alike(live: Tracker, exported: ExportedTracker, frames: list, gt: np.ndarray) -> None:
    """Both trackers started on ``frames[0]`` give the same boxes (to 1e-3) and scores (to 1e-5) on the rest."""
    for tracker in (live, exported):
        tracker.init(frames[0], gt[0])
    for frame in frames[1:]:
        (box_a, score_a), (box_b, score_b) = live.update(frame), exported.update(frame)
        np.testing.assert_allclose(box_a, box_b, atol=1e-3)
        assert abs(score_a - score_b) < 1e-5


@pytest.fixture(scope="module")
def smoke_export(smoke_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "smoke"
    assert main(["export", "--model", str(smoke_checkpoint), "--out", str(out)]) == 0
    return out


def test_export_reloads_and_matches_the_network(smoke_checkpoint: Path, smoke_export: Path) -> None:
    meta, template, track, rescore = load_export(smoke_export)
    assert rescore is None and meta["exemplar_keys"] == ["f_z", "z_mask"] and meta["feature_keys"] == []
    checkpoint = load_checkpoint(smoke_checkpoint)
    net = build_network(checkpoint.model)
    g = net.geometry
    rng = np.random.default_rng(0)
    for batch in (1, 3):  # the batch dimension is symbolic
        z = jnp.asarray(rng.uniform(0, 255, (batch, g.exemplar_size, g.exemplar_size, 3)), jnp.float32)
        box = jnp.asarray(np.tile([[15.0, 18.0, 45.0, 40.0]], (batch, 1)), jnp.float32)
        x = jnp.asarray(rng.uniform(0, 255, (batch, g.search_size, g.search_size, 3)), jnp.float32)
        f_z, z_mask = template.call(z, box)
        scores, boxes = track.call(f_z, z_mask, x)
        exemplar = net.apply(checkpoint.variables, z, box, method=TrackerNet.template)
        ref = net.apply(checkpoint.variables, exemplar, x, method=TrackerNet.track)
        np.testing.assert_allclose(f_z, exemplar["f_z"], atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(scores, jax.nn.sigmoid(ref["cls"]), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(boxes, decode_boxes(g, ref["reg"]), atol=1e-4, rtol=1e-5)
    assert meta["name"] == checkpoint.name and meta["geometry"]["search_size"] == g.search_size
    assert template.platforms == track.platforms == PLATFORMS == ("cpu", "cuda")
    assert meta["platforms"] == ["cpu", "cuda"]


def test_exported_tracker_steps_like_the_live_one(smoke_checkpoint: Path, smoke_export: Path) -> None:
    frames, gt = demo_frames(5)
    live, exported = Tracker.from_pretrained(smoke_checkpoint), ExportedTracker(smoke_export)
    assert exported.name == "smoke" and exported.network.module is None
    for start in (0, 2):
        for tracker in (live, exported):
            tracker.init(frames[start], gt[start])
        for frame in frames[start + 1 : start + 3]:
            (box_a, score_a), (box_b, score_b) = live.update(frame), exported.update(frame)
            np.testing.assert_allclose(box_a, box_b, atol=1e-3)
            assert abs(score_a - score_b) < 1e-5
    multi = MultiTracker(exported_network(*load_export(smoke_export)), settings=exported.settings)
    multi.init(frames[0], np.stack([gt[0], gt[0] + [20, 10, 0, 0]]))
    boxes, _ = multi.update(frames[1])
    live.init(frames[0], gt[0])
    np.testing.assert_allclose(boxes[0], live.update(frames[1])[0], atol=1e-3)


def test_exported_settings_are_read_at_every_call(smoke_export: Path) -> None:
    frames, gt = demo_frames(3)
    tracker = ExportedTracker(smoke_export, lost_score=0.0)
    assert tracker.settings.lost_score == 0.0
    tracker.init(frames[0], gt[0])
    tracker.settings = tracker.settings.replace(lost_score=1.0)  # nothing can score above 1: lost
    box, _ = tracker.update(frames[1])
    np.testing.assert_allclose(box, gt[0], atol=1e-4)
    assert tracker.lost == 1


def test_shipped_model_exports_for_cpu_and_cuda_with_the_depthwise_path_of_each(tmp_path: Path) -> None:
    """automatch-lite-fast's depthwise convolutions: sums of shifted slices in the CPU branch, grouped convolutions in
    the CUDA branch, no custom kernel anywhere; the CUDA branch lowers (cross-lowered here) and the CPU branch tracks
    like the live tracker."""
    out = export_tracker(load_checkpoint("automatch-lite-fast"), tmp_path / "fast")
    meta, template, track, _ = load_export(out)
    assert track.platforms == ("cpu", "cuda")
    text = track.mlir_module()
    groups = {int(n) for n in re.findall(r"feature_group_count = (\d+)", text)}
    assert max(groups) > 1  # the GPU branch's depthwise convolutions
    assert set(re.findall(r"custom_call @(\w+)", text)) <= {"shape_assertion"}
    g = meta["geometry"]
    z = jax.ShapeDtypeStruct((2, g["exemplar_size"], g["exemplar_size"], 3), jnp.float32)
    exemplar = jax.eval_shape(template.call, z, jax.ShapeDtypeStruct((2, 4), jnp.float32))
    x = jax.ShapeDtypeStruct((2, g["search_size"], g["search_size"], 3), jnp.float32)
    jax.jit(track.call).trace(*exemplar, x).lower(lowering_platforms=("cuda",))
    frames, gt = demo_frames(3)
    live, exported = Tracker.from_pretrained("automatch-lite-fast"), ExportedTracker(out)
    assert_steps_alike(live, exported, frames, gt)


def test_bad_export_folders(tmp_path: Path) -> None:
    with pytest.raises(AutomatchError, match="not an automatch export"):
        load_export(tmp_path)
    for name in ("template.jax-export", "track.jax-export"):
        (tmp_path / name).write_bytes(b"\x00garbage")
    (tmp_path / "export.json").write_text('{"format": "automatch-export", "version": 2}')
    with pytest.raises(AutomatchError, match="cannot read the serialised functions"):
        load_export(tmp_path)
    foreign = jax.export.export(jax.jit(jnp.sin), platforms=("cuda",))(jax.ShapeDtypeStruct((2,), jnp.float32))
    for name in ("template.jax-export", "track.jax-export"):
        (tmp_path / name).write_bytes(foreign.serialize())
    (tmp_path / "export.json").write_text(json.dumps({"format": "automatch-export", "version": 2}))
    with pytest.raises(AutomatchError, match="exported for cuda only, not for this cpu"):
        load_export(tmp_path)


def test_automatch_export_rescores_and_tracks_like_the_live_tracker(smoke_automatch_checkpoint: Path,
                                                                   tmp_path: Path) -> None:
    """An AutoMatch network's export: exemplar and feature arrays by name, stage 2 as a third function, and the
    exported tracker (zoom refinement included) stepping like the live one."""
    out = export_tracker(load_checkpoint(smoke_automatch_checkpoint), tmp_path / "am")
    meta, _, _, rescore = load_export(out)
    assert rescore is not None and set(meta["exemplar_keys"]) == {"z_low", "z_high", "v_low", "v_high", "mask"}
    assert meta["feature_keys"] == ["cls_map", "cls_vector", "reg_map", "reg_vector"]
    frames, gt = demo_frames(4)
    live = Tracker.from_pretrained(smoke_automatch_checkpoint)
    exported = ExportedTracker(out)
    assert live.settings.zoom == exported.settings.zoom == 0.5 and exported.network.rescore is not None
    assert_steps_alike(live, exported, frames, gt)
