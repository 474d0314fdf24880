"""Serialised trackers: the exemplar and tracking steps as StableHLO (``jax.export``), runnable without the model code.

``export_tracker(checkpoint, out)`` writes::

    OUT/template.jax-export   exemplar step: z (B, Ez, Ez, 3) float32 RGB, z_box (B, 4) -> f_z, z_mask
    OUT/track.jax-export      tracking step: f_z, z_mask, x (B, Es, Es, 3) -> scores (B, S, S), boxes (B, S, S, 4)
    OUT/export.json           format, geometry, inference settings, shapes, the JAX version that wrote it

The weights (BatchNorm folded into the convolutions) are constants inside the serialised functions; the batch
dimension ``B`` is symbolic, so one export serves one target or many. :class:`ExportedTracker` is the OpenCV-shaped
tracker over such a folder: it needs ``jax`` and numpy but neither Flax nor the network's Python code.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp

from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import TrackerCheckpoint
from automatch_jax.models.fold import apply_folded
from automatch_jax.models.geometry import ScoreGeometry
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking.tracker import Tracker, check_color, crops_on_device, inference_variables, predict

EXPORT_FORMAT = "automatch-export"
EXPORT_VERSION = 1
FILES = ("template.jax-export", "track.jax-export", "export.json")


def export_tracker(checkpoint: TrackerCheckpoint, out: Path | str) -> Path:
    """Serialises ``checkpoint``'s exemplar and tracking steps into the folder ``out``; returns it."""
    from automatch_jax.models.config import build_network

    out = Path(out)
    net = build_network(checkpoint.model)
    g = net.geometry
    variables = inference_variables(net, checkpoint.variables)

    def template(z, z_box):
        exemplar = apply_folded(net, variables, z, z_box, method=TrackerNet.template)
        return exemplar["f_z"], exemplar["z_mask"]

    def track(f_z, z_mask, x):
        return predict(net, variables, {"f_z": f_z, "z_mask": z_mask}, x)

    (b,) = jax.export.symbolic_shape("b")
    z = jax.ShapeDtypeStruct((b, g.exemplar_size, g.exemplar_size, 3), jnp.float32)
    z_box = jax.ShapeDtypeStruct((b, 4), jnp.float32)
    f_z, z_mask = jax.eval_shape(template, z, z_box)
    x = jax.ShapeDtypeStruct((b, g.search_size, g.search_size, 3), jnp.float32)
    template_exp = jax.export.export(jax.jit(template))(z, z_box)
    track_exp = jax.export.export(jax.jit(track))(f_z, z_mask, x)
    out.mkdir(parents=True, exist_ok=True)
    (out / FILES[0]).write_bytes(template_exp.serialize())
    (out / FILES[1]).write_bytes(track_exp.serialize())
    meta = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "name": checkpoint.name,
            "geometry": dataclasses.asdict(g), "settings": checkpoint.settings.to_dict(),
            "feature_shape": list(f_z.shape[1:]), "jax_version": jax.__version__, "model": checkpoint.model}
    (out / FILES[2]).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def load_export(folder: Path | str) -> tuple[dict, jax.export.Exported, jax.export.Exported]:
    """``(meta, template, track)`` of an export folder; one clear error for a missing, foreign or broken one."""
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise AutomatchError(f"{folder}: not an automatch export (missing {', '.join(missing)})")
    try:
        meta = json.loads((folder / FILES[2]).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AutomatchError(f"{folder / FILES[2]}: corrupt export description") from None
    if meta.get("format") != EXPORT_FORMAT or meta.get("version") != EXPORT_VERSION:
        raise AutomatchError(f"{folder}: export format {meta.get('format')!r} v{meta.get('version')}, expected "
                             f"{EXPORT_FORMAT!r} v{EXPORT_VERSION}")
    try:
        template = jax.export.deserialize(bytearray((folder / FILES[0]).read_bytes()))
        track = jax.export.deserialize(bytearray((folder / FILES[1]).read_bytes()))
    except Exception as exc:
        raise AutomatchError(f"{folder}: cannot read the serialised functions ({exc.__class__.__name__})") from None
    return meta, template, track


class ExportedTracker(Tracker):
    """:class:`Tracker` over an export folder (``init(frame, box)``, ``update(frame)``), without the model code; the
    serialised steps run inside the tracker's own compiled per-frame step."""

    def __init__(self, folder: Path | str, color: str = "bgr", crop_on_device: bool | None = None, **overrides):
        meta, self._exported_template, self._exported_track = load_export(folder)
        settings = TrackerSettings.from_dict(meta["settings"])
        self.net = None
        self.variables = None
        self.settings = settings.replace(**overrides) if overrides else settings
        self.color = check_color(color)
        self.name = meta.get("name") or "automatch"
        self.geometry = ScoreGeometry(**meta["geometry"])
        self._exemplar = None
        self._frame_size = None
        self.crop_on_device = crops_on_device(crop_on_device)
        self._compile()

    def _template_fn(self, variables: None, z: jnp.ndarray, z_box: jnp.ndarray) -> dict:
        return dict(zip(("f_z", "z_mask"), self._exported_template.call(z, z_box), strict=True))

    def _network(self, variables: None, exemplar: dict, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        scores, boxes = self._exported_track.call(exemplar["f_z"], exemplar["z_mask"], x)
        return scores[0], boxes[0]
