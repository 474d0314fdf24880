"""Serialised trackers: the exemplar and tracking steps as StableHLO (``jax.export``), runnable without the model code.

``export_tracker(checkpoint, out)`` writes::

    OUT/template.jax-export   exemplar step: z (B, Ez, Ez, 3) float32 RGB, z_box (B, 4) -> the exemplar arrays
    OUT/track.jax-export      tracking step: the exemplar arrays, x (B, Es, Es, 3) -> scores (B, S, S),
                              boxes (B, S, S, 4), then the frame's feature arrays (none for a TrackerNet)
    OUT/rescore.jax-export    (AutoMatch networks) stage 2: the feature arrays, boxes (B, K, 4) -> (B, K)
    OUT/export.json           format, geometry, inference settings, the names of the exemplar and feature arrays
                              (in the functions' order), platforms, the JAX version that wrote it

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
EXPORT_VERSION = 2
FILES = ("template.jax-export", "track.jax-export", "export.json")
RESCORE_FILE = "rescore.jax-export"
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
    b, k = jax.export.symbolic_shape("b, k")
    z = jax.ShapeDtypeStruct((b, g.exemplar_size, g.exemplar_size, 3), jnp.float32)
    z_box = jax.ShapeDtypeStruct((b, 4), jnp.float32)
    x = jax.ShapeDtypeStruct((b, g.search_size, g.search_size, 3), jnp.float32)
    with kernel_choices("cpu"):
        exemplar = jax.eval_shape(lambda z, z_box: network.template(network.params, z, z_box), z, z_box)
        features = jax.eval_shape(lambda e, x: network.track(network.params, e, x)[2], exemplar, x)
    exemplar_keys, feature_keys = sorted(exemplar), sorted(features or {})

    def template(z, z_box):
        exemplar = network.template(network.params, z, z_box)
        return tuple(exemplar[key] for key in exemplar_keys)

    def track(*args):
        exemplar = dict(zip(exemplar_keys, args[:-1], strict=True))
        scores, boxes, features = network.track(network.params, exemplar, args[-1])
        return (scores, boxes, *(features[key] for key in feature_keys))

    def rescore(*args):
        return network.rescore(network.params, dict(zip(feature_keys, args[:-1], strict=True)), args[-1])

    exported = {
        FILES[0]: jax.export.export(jax.jit(per_platform(template)), platforms=PLATFORMS)(z, z_box),
        FILES[1]: jax.export.export(jax.jit(per_platform(track)), platforms=PLATFORMS)(
            *(exemplar[key] for key in exemplar_keys), x),
    }
    if network.rescore is not None:
        boxes = jax.ShapeDtypeStruct((b, k, 4), jnp.float32)
        exported[RESCORE_FILE] = jax.export.export(jax.jit(per_platform(rescore)), platforms=PLATFORMS)(
            *(features[key] for key in feature_keys), boxes)
    out.mkdir(parents=True, exist_ok=True)
    for name, function in exported.items():
        (out / name).write_bytes(function.serialize())
    meta = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "name": checkpoint.name,
            "geometry": dataclasses.asdict(g), "settings": checkpoint.settings.to_dict(),
            "exemplar_keys": exemplar_keys, "feature_keys": feature_keys, "rescore": network.rescore is not None,
            "platforms": list(PLATFORMS), "jax_version": jax.__version__, "model": checkpoint.model}
    (out / FILES[2]).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def _runs_here(platforms: tuple[str, ...]) -> bool:
    """Whether functions exported for ``platforms`` (``jax.export`` names) run on this process's backend."""
    backend = jax.default_backend()
    return any(name in platforms for name in {"gpu": ("cuda", "rocm")}.get(backend, (backend,)))


def _deserialize(path: Path) -> jax.export.Exported:
    try:
        return jax.export.deserialize(bytearray(path.read_bytes()))
    except Exception as exc:
        raise AutomatchError(f"{path.parent}: cannot read the serialised functions ({exc.__class__.__name__})") \
            from None


def load_export(folder: Path | str) -> tuple[dict, jax.export.Exported, jax.export.Exported,
                                             jax.export.Exported | None]:
    """``(meta, template, track, rescore)`` of an export folder (``rescore`` ``None`` when the network has none);
    one clear error for a missing, foreign or broken one, or one made for other platforms than this process's."""
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
                             f"{EXPORT_FORMAT!r} v{EXPORT_VERSION} (export the model again)")
    if meta.get("rescore") and not (folder / RESCORE_FILE).is_file():
        raise AutomatchError(f"{folder}: not a complete automatch export (missing {RESCORE_FILE})")
    template, track = _deserialize(folder / FILES[0]), _deserialize(folder / FILES[1])
    rescore = _deserialize(folder / RESCORE_FILE) if meta.get("rescore") else None
    if not _runs_here(track.platforms):
        raise AutomatchError(f"{folder}: exported for {', '.join(track.platforms)} only, not for this "
                             f"{jax.default_backend()} (export it again: exports now cover {', '.join(PLATFORMS)})")
    return meta, template, track, rescore


def exported_network(meta: dict, template: jax.export.Exported, track: jax.export.Exported,
                     rescore: jax.export.Exported | None = None) -> Network:
    """The :class:`~automatch_jax.tracking.network.Network` of a loaded export (:func:`load_export`)."""
    exemplar_keys, feature_keys = meta["exemplar_keys"], meta["feature_keys"]

    def run_track(_: Any, exemplar: dict, x: jnp.ndarray) -> tuple:
        scores, boxes, *features = track.call(*(exemplar[key] for key in exemplar_keys), x)
        return scores, boxes, dict(zip(feature_keys, features, strict=True)) if feature_keys else None

    return Network(
        geometry=ScoreGeometry(**meta["geometry"]),
        template=lambda _, z, z_box: dict(zip(exemplar_keys, template.call(z, z_box), strict=True)),
        track=run_track,
        rescore=None if rescore is None else (
            lambda _, features, boxes: rescore.call(*(features[key] for key in feature_keys), boxes)),
    )


class ExportedTracker(Tracker):
    """A :class:`~automatch_jax.tracking.tracker.Tracker` over an export folder (``init(frame, box)``,
    ``update(frame)``, the same frame rules and settings behaviour), without the model code: the serialised steps
    run inside the tracker's own compiled per-frame step. ``overrides`` replace the exported inference settings.
    The exported shapes are fixed: a ``small_target_search`` other than 0 (or the export's own search size) is
    refused in one line (``small_target_search=0`` as an override turns off one the checkpoint carried)."""

    def __init__(self, folder: Path | str, color: str = "bgr", crop_on_device: bool | None = None, **overrides: Any):
        meta, *functions = load_export(folder)
        settings = TrackerSettings.from_dict(meta["settings"])
        super().__init__(exported_network(meta, *functions),
                         settings=settings.replace(**overrides) if overrides else settings,
                         color=color, name=meta.get("name") or "", crop_on_device=crop_on_device)
