"""Tracker checkpoints: one folder holding the network config, the weights (orbax), the inference settings
and a format version.

Layout::

    CHECKPOINT/automatch.json    {"format": "automatch-tracker", "version": 1, "name": ..., "model": {...},
                                  "settings": {...}, "info": {...}}
    CHECKPOINT/variables/        orbax PyTree checkpoint of {"params", "batch_stats"}

Named models (``automatch-lite`` ...) are such folders shipped inside the package, under
``automatch_jax/assets/models/<name>``.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint_io import restore_variables, save_variables
from automatch_jax.models.settings import TrackerSettings

FORMAT = "automatch-tracker"
VERSION = 1
MANIFEST = "automatch.json"
DEFAULT_MODEL = "automatch-lite"


class CheckpointError(AutomatchError):
    """A checkpoint folder that is missing, truncated, foreign or does not fit its own config."""


@dataclasses.dataclass
class TrackerCheckpoint:
    """What a tracker needs: the ``model`` config (TrackerNet fields), ``variables``, ``settings`` and ``info``
    (free-form provenance: training config, steps, data)."""

    name: str
    model: dict[str, Any]
    variables: dict[str, Any]
    settings: TrackerSettings
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


def shipped_models() -> dict[str, Path]:
    """Named models shipped inside the package: ``{name: folder}``."""
    root = Path(str(resources.files("automatch_jax") / "assets" / "models"))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()}


def resolve(name_or_path: str | Path | None) -> Path:
    """The folder of a named model or a checkpoint path (``None``: the default model)."""
    name_or_path = DEFAULT_MODEL if name_or_path is None else name_or_path
    path = Path(name_or_path)
    if path.exists():
        return path
    models = shipped_models()
    if str(name_or_path) in models:
        return models[str(name_or_path)]
    known = ", ".join(models) or "none installed"
    raise CheckpointError(f"{name_or_path}: no such checkpoint folder or named model (named models: {known})")


def jsonable(value: Any) -> Any:
    """``value`` as JSON writes and reads it back: tuples and lists as lists, dicts with their values so, numpy
    scalars as Python numbers (how a config's ``model`` section compares with a checkpoint manifest's)."""
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_checkpoint(path: str | Path, checkpoint: TrackerCheckpoint) -> Path:
    """Write ``checkpoint`` to the folder ``path`` (replacing a previous checkpoint there). In a multi-host job
    every process calls it (orbax saves collectively) and the first writes the manifest."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    variables = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float32), checkpoint.variables)
    save_variables(path / "variables", variables)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "name": checkpoint.name,
        "model": jsonable(dict(checkpoint.model)),
        "settings": checkpoint.settings.to_dict(),
        "info": jsonable(checkpoint.info),
    }
    if jax.process_index() == 0:
        (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def load_manifest(name_or_path: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The folder and the checked manifest (``automatch.json``) of a checkpoint folder or named model, without
    reading its weights; :class:`CheckpointError` (one line) if it is not a valid checkpoint."""
    path = resolve(name_or_path)
    if path.is_file():
        raise CheckpointError(f"{path}: a tracker checkpoint is a folder holding {MANIFEST} and variables/")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise CheckpointError(f"{path}: not an automatch checkpoint (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{manifest_path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_path}: not an automatch tracker checkpoint (format != {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise CheckpointError(
            f"{manifest_path}: checkpoint format version {manifest.get('version')!r}; this automatch reads {VERSION}"
        )
    for key in ("model", "settings"):
        if not isinstance(manifest.get(key), dict):
            raise CheckpointError(f"{manifest_path}: missing {key!r} section")
    return path, manifest


def load_checkpoint(name_or_path: str | Path | None = None) -> TrackerCheckpoint:
    """Read a checkpoint folder or named model; :class:`CheckpointError` (one line) if it is not a valid one."""
    path, manifest = load_manifest(name_or_path)
    try:
        variables = restore_variables(path / "variables")
    except AutomatchError as exc:
        raise CheckpointError(str(exc)) from None
    return TrackerCheckpoint(
        name=str(manifest.get("name", path.name)),
        model=manifest["model"],
        variables=variables,
        settings=TrackerSettings.from_dict(manifest["settings"]),
        info=manifest.get("info", {}),
    )
