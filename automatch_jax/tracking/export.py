"""Serialised trackers: the exemplar and tracking steps as StableHLO (``jax.export``), runnable without the model code.

``export_tracker(checkpoint, out)`` writes::

    OUT/template.jax-export   exemplar step: z (B, Ez, Ez, 3) float32 RGB, z_box (B, 4) -> f_z, z_mask
    OUT/track.jax-export      tracking step: f_z, z_mask, x (B, Es, Es, 3) -> scores (B, S, S), boxes (B, S, S, 4)
    OUT/export.json           format, geometry, inference settings, shapes, platforms, the JAX version that wrote it

The weights (BatchNorm folded into the convolutions) are constants inside the serialised functions; the batch
dimension ``B`` is symbolic, so one export serves one target or many. Both functions are lowered for CPU and CUDA
together (:data:`PLATFORMS`), wherever the export is made: each holds one branch per platform, chosen when it is
compiled, with the depthwise paths fit for that platform (sums of shifted slices on CPU, XLA's grouped
convolutions on GPU, :func:`kernel_choices`) and no custom kernel (Pallas) in either.

:class:`ExportedTracker` is the OpenCV-shaped tracker over such a folder: the tracker core fed by the exported
functions (:func:`exported_network`); it needs ``jax`` and numpy but neither Flax nor the network's Python code.
``MultiTracker(exported_network(*load_export(folder)))`` tracks many targets with one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import TrackerCheckpoint
from automatch_jax.models.geometry import ScoreGeometry
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.tracking.network import Network, checkpoint_network, flax_network
from automatch_jax.tracking.tracker import Tracker

EXPORT_FORMAT = "automatch-export"
EXPORT_VERSION = 1
FILES = ("template.jax-export", "track.jax-export", "export.json")
PLATFORMS = ("cpu", "cuda")

# The switches the depthwise dispatchers read while a function is traced (ops.depthwise.depthwise_impl,
# ops.xcorr.depthwise_xcorr), per platform. The cross-correlation takes the shifted sums on both: XLA's grouped
# convolution folds the batch into its groups, which a symbolic batch cannot do, and Pallas is a custom kernel.
_SWITCHES = {
    "cpu": {"AUTOMATCH_DEPTHWISE": "shift", "AUTOMATCH_XCORR": "shift"},
    "cuda": {"AUTOMATCH_DEPTHWISE": "conv", "AUTOMATCH_XCORR": "shift"},
}


@contextlib.contextmanager
def kernel_choices(platform: str) -> Iterator[None]:
    """While tracing inside this context, the depthwise operations take ``platform``'s portable path."""
    saved = {key: os.environ.get(key) for key in _SWITCHES[platform]}
    os.environ.update(_SWITCHES[platform])
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def per_platform(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` traced once per platform of :data:`PLATFORMS` under :func:`kernel_choices`, the branch chosen by
    ``jax.lax.platform_dependent`` when the function is compiled."""

    def traced(platform: str) -> Callable[..., Any]:
        def branch(*args: Any) -> Any:
            with kernel_choices(platform):
                return fn(*args)

        return branch

    return lambda *args: jax.lax.platform_dependent(*args, cpu=traced("cpu"), default=traced("cuda"))


def export_tracker(checkpoint: TrackerCheckpoint, out: Path | str) -> Path:
    """Serialises ``checkpoint``'s exemplar and tracking steps into the folder ``out``; returns it."""
    out = Path(out)
    net = checkpoint_network(checkpoint)
    network = flax_network(net, checkpoint.variables)
    g = net.geometry

    def template(z, z_box):
        exemplar = network.template(network.params, z, z_box)
        return exemplar["f_z"], exemplar["z_mask"]

    def track(f_z, z_mask, x):
        return network.track(network.params, {"f_z": f_z, "z_mask": z_mask}, x)

    (b,) = jax.export.symbolic_shape("b")
    z = jax.ShapeDtypeStruct((b, g.exemplar_size, g.exemplar_size, 3), jnp.float32)
    z_box = jax.ShapeDtypeStruct((b, 4), jnp.float32)
    x = jax.ShapeDtypeStruct((b, g.search_size, g.search_size, 3), jnp.float32)
    with kernel_choices("cpu"):
        f_z, z_mask = jax.eval_shape(template, z, z_box)
    template_exp = jax.export.export(jax.jit(per_platform(template)), platforms=PLATFORMS)(z, z_box)
    track_exp = jax.export.export(jax.jit(per_platform(track)), platforms=PLATFORMS)(f_z, z_mask, x)
    out.mkdir(parents=True, exist_ok=True)
    (out / FILES[0]).write_bytes(template_exp.serialize())
    (out / FILES[1]).write_bytes(track_exp.serialize())
    meta = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "name": checkpoint.name,
            "geometry": dataclasses.asdict(g), "settings": checkpoint.settings.to_dict(),
            "feature_shape": list(f_z.shape[1:]), "platforms": list(PLATFORMS), "jax_version": jax.__version__,
            "model": checkpoint.model}
    (out / FILES[2]).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def _runs_here(platforms: tuple[str, ...]) -> bool:
    """Whether functions exported for ``platforms`` (``jax.export`` names) run on this process's backend."""
    backend = jax.default_backend()
    return any(name in platforms for name in {"gpu": ("cuda", "rocm")}.get(backend, (backend,)))


def load_export(folder: Path | str) -> tuple[dict, jax.export.Exported, jax.export.Exported]:
    """``(meta, template, track)`` of an export folder; one clear error for a missing, foreign or broken one, or
    one made for other platforms than this process's."""
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
    if not _runs_here(track.platforms):
        raise AutomatchError(f"{folder}: exported for {', '.join(track.platforms)} only, not for this "
                             f"{jax.default_backend()} (export it again: exports now cover {', '.join(PLATFORMS)})")
    return meta, template, track


def exported_network(meta: dict, template: jax.export.Exported, track: jax.export.Exported) -> Network:
    """The :class:`~automatch_jax.tracking.network.Network` of a loaded export (:func:`load_export`)."""
    return Network(
        geometry=ScoreGeometry(**meta["geometry"]),
        template=lambda _, z, z_box: dict(zip(("f_z", "z_mask"), template.call(z, z_box), strict=True)),
        track=lambda _, exemplar, x: tuple(track.call(exemplar["f_z"], exemplar["z_mask"], x)),
    )


class ExportedTracker(Tracker):
    """A :class:`~automatch_jax.tracking.tracker.Tracker` over an export folder (``init(frame, box)``,
    ``update(frame)``, the same frame rules and settings behaviour), without the model code: the serialised steps
    run inside the tracker's own compiled per-frame step. ``overrides`` replace the exported inference settings."""

    def __init__(self, folder: Path | str, color: str = "bgr", crop_on_device: bool | None = None, **overrides: Any):
        meta, template, track = load_export(folder)
        settings = TrackerSettings.from_dict(meta["settings"])
        super().__init__(exported_network(meta, template, track),
                         settings=settings.replace(**overrides) if overrides else settings,
                         color=color, name=meta.get("name") or "", crop_on_device=crop_on_device)
