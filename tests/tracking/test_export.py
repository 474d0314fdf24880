"""``automatch export``: the serialised steps reload and match the original network; the exported tracker tracks
like the original one."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.errors import AutomatchError
from automatch_jax.models.config import build_network
from automatch_jax.models.geometry import decode_boxes
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking import Tracker, load_checkpoint
from automatch_jax.tracking.export import ExportedTracker, load_export


def test_export_reloads_and_matches_the_network(smoke_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert main(["export", "--model", str(smoke_checkpoint), "--out", str(out)]) == 0
    meta, template, track = load_export(out)
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


def test_exported_tracker_follows_the_original(smoke_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    main(["export", "--model", str(smoke_checkpoint), "--out", str(out)])
    original, exported = Tracker.from_pretrained(smoke_checkpoint), ExportedTracker(out)
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(4)]
    original.init(frames[0], (50, 40, 30, 25))
    exported.init(frames[0], (50, 40, 30, 25))
    for frame in frames[1:]:
        (box_a, score_a), (box_b, score_b) = original.update(frame), exported.update(frame)
        np.testing.assert_allclose(box_a, box_b, atol=1e-3)
        assert abs(score_a - score_b) < 1e-5


def test_bad_export_folders(tmp_path: Path) -> None:
    with pytest.raises(AutomatchError, match="not an automatch export"):
        load_export(tmp_path)
    for name in ("template.jax-export", "track.jax-export"):
        (tmp_path / name).write_bytes(b"\x00garbage")
    (tmp_path / "export.json").write_text('{"format": "automatch-export", "version": 1}')
    with pytest.raises(AutomatchError, match="cannot read the serialised functions"):
        load_export(tmp_path)
