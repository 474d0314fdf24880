"""Inference settings of the online tracker, stored in every checkpoint and overridable, and the authors' named
per-benchmark presets (JudasDie/SOTS ``experiments/AutoMatch.yaml``, ``TEST.HYPERS``)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from automatch_jax.errors import AutomatchError


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """The online tracker's settings (Ocean's selection, with AutoMatch's refinements as options).

    Attributes:
      context: context margin of the exemplar crop, ``p = context * (w + h)`` (SiamFC's 0.5).
      penalty_k: strength of the size and aspect-ratio change penalty ``exp(-k (r s - 1))``.
      window_influence: weight of the cosine window mixed into the penalised score map.
      lr: size smoothing; the new size moves towards the prediction by ``rate = lr * penalty * score``.
      lr_power: the size moves by ``rate ** lr_power``: 1 is Ocean's rule, 2 the authors' AutoMatch tracker, which
        applies the rate twice (``sot_tracker.py``).
      min_size: smallest box side in frame pixels (the authors' AutoMatch tracker: 10).
      zoom: weight of the zoom refinement (AutoMatch networks only): the chosen box and 96 jittered copies are
        re-scored by stage 2 and the box moves this far towards the best (the authors: 0.5; 0 turns it off).
      lost_score: below this best score the target counts as lost: position and size are kept and the search
        region grows by ``search_growth`` per lost frame, up to ``max_search_growth`` times its normal side, so
        a target that left the view or was occluded can be found again (0, the default, turns the rule off; the
        authors have none).
      search_growth, max_search_growth: see ``lost_score``.
      small_target_search: the search crop's side in pixels for a target that covers less than
        ``small_target_area`` of its frame at ``init`` (the authors' ``big_sz``: 287 on OTB2015, 271 on UAV123);
        the exemplar crop is unchanged, so the crop sees a wider area at the same scale and the score map grows
        with it. Chosen once per target at ``init``; 0 (the default) turns it off. The network must be able to
        run at that size (a Flax network can, an export cannot:
        :meth:`~automatch_jax.tracking.network.Network.at_search_size`).
      small_target_area: the share of the frame's area (``w h / (W H)``) under which a target is small (the
        authors' 0.004).
    """

    context: float = 0.5
    penalty_k: float = 0.021
    window_influence: float = 0.321
    lr: float = 0.730
    lr_power: float = 1.0
    min_size: float = 4.0
    zoom: float = 0.0
    lost_score: float = 0.0
    search_growth: float = 1.25
    max_search_growth: float = 2.5
    small_target_search: int = 0
    small_target_area: float = 0.004

    def __post_init__(self) -> None:
        crop = self.small_target_search
        if not (math.isfinite(crop) and crop >= 0 and crop == int(crop)):
            raise AutomatchError(f"tracker setting small_target_search={crop!r} is out of range: it must be 0 (off) "
                                 "or a crop side in whole pixels")
        object.__setattr__(self, "small_target_search", int(crop))
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not (low <= value <= high) or (name == "min_size" and value == 0):
                upper = "" if high == float("inf") else f" and {high:g}"
                bound = f"between {low:g}{upper}" if upper else f"at least {low:g}"
                rule = "above 0" if name == "min_size" else bound
                raise AutomatchError(f"tracker setting {name}={value!r} is out of range: it must be {rule}")

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrackerSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise AutomatchError(
                f"unknown tracker setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(**{k: float(v) for k, v in values.items()})
        except (TypeError, ValueError) as exc:
            raise AutomatchError(f"tracker settings must be numbers ({exc})") from None

    def replace(self, **overrides: Any) -> TrackerSettings:
        return TrackerSettings.from_dict({**self.to_dict(), **overrides})


INF = float("inf")
# the allowed (inclusive) range of each setting
RANGES: dict[str, tuple[float, float]] = {
    "context": (0.0, INF),
    "penalty_k": (0.0, INF),
    "window_influence": (0.0, 1.0),
    "lr": (0.0, 1.0),
    "lr_power": (1.0, 4.0),
    "min_size": (0.0, INF),
    "zoom": (0.0, 1.0),
    "lost_score": (0.0, 1.0),
    "search_growth": (1.0, INF),
    "max_search_growth": (1.0, INF),
    "small_target_area": (0.0, 1.0),
}
# small_target_search (0 or a whole number of pixels) is checked on its own, and against the network by the tracker

# What the authors' AutoMatch tracker does on every benchmark (sot_tracker.py): the rate applied twice, sides of at
# least 10 pixels, the zoom refinement averaged with the pick, no lost-target rule.
AUTOMATCH_INFERENCE = {"lr_power": 2.0, "min_size": 10.0, "zoom": 0.5, "lost_score": 0.0}

# The authors' per-benchmark penalty_k / lr / window_influence (experiments/AutoMatch.yaml TEST.HYPERS, found by
# hyper-parameter search on each benchmark), with AUTOMATCH_INFERENCE, and their search crop for targets under 0.4 %
# of the frame (TEST.HYPERS big_sz: OTB2015 287, UAV123 271 pixels; 0 where they have none).
PRESETS: dict[str, dict[str, float]] = {
    name: {"penalty_k": k, "lr": lr, "window_influence": w, **AUTOMATCH_INFERENCE, "small_target_search": big}
    for name, (k, lr, w, big) in {
        "otb": (0.147, 0.699, 0.55, 287),
        "vot": (0.143, 0.803, 0.5, 0),
        "got10k": (0.049, 1.0, 0.34, 0),
        "trackingnet": (0.049, 1.0, 0.34, 0),
        "lasot": (0.049, 1.0, 0.38, 0),
        "uav123": (0.128, 0.913, 0.41, 271),
        "nfs": (0.015, 0.944, 0.2, 0),
    }.items()
}


PRESET_FILE_KEYS = ("settings", "tune")
"""The keys of a preset file: ``settings`` (setting name -> number, required) and ``tune`` (free-form provenance,
what ``automatch tune`` searched and found; ignored when the preset is applied)."""


def is_preset_file(preset: str | os.PathLike) -> bool:
    """True when ``preset`` names a preset file rather than one of :data:`PRESETS`: a path object, or a name that
    ends in ``.json``, holds a path separator or is an existing file."""
    if not isinstance(preset, str):
        return True
    if preset in PRESETS:
        return False
    return preset.lower().endswith(".json") or os.sep in preset or "/" in preset or Path(preset).is_file()


def read_preset_file(path: str | os.PathLike) -> dict[str, float]:
    """The settings of a preset file ``{"settings": {name: number, ...}, "tune": {...}}``, each setting checked
    against :data:`RANGES`.

    Raises:
      AutomatchError: one line naming the file: missing or unreadable, not JSON, not that layout, an unknown key
        or setting, a value that is not a number or is out of range.
    """
    path = Path(path)
    where = f"preset file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AutomatchError(f"{where}: not found") from None
    except IsADirectoryError:
        raise AutomatchError(f"{where}: is a folder; expected a .json file") from None
    except OSError as exc:
        raise AutomatchError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AutomatchError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
        raise AutomatchError(f'{where}: expected a JSON object {{"settings": {{"penalty_k": 0.1, ...}}}}')
    unknown = sorted(set(data) - set(PRESET_FILE_KEYS))
    if unknown:
        raise AutomatchError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(PRESET_FILE_KEYS)}")
    values = data["settings"]
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AutomatchError(f"{where}: setting {name}={value!r} is not a finite number")
    try:
        TrackerSettings().replace(**values)  # unknown names and out-of-range values, in the settings' own words
    except AutomatchError as exc:
        raise AutomatchError(f"{where}: {exc}") from None
    return {name: float(value) for name, value in values.items()}


def write_preset_file(path: str | os.PathLike, values: Mapping[str, float], tune: Mapping[str, Any]) -> Path:
    """Writes the preset file ``path`` (``settings`` = ``values``, checked as :func:`read_preset_file` checks them;
    ``tune`` = provenance) atomically: a reader never sees half a file. Returns the path."""
    path = Path(path)
    TrackerSettings().replace(**values)
    text = json.dumps({"settings": {k: float(v) for k, v in values.items()}, "tune": dict(tune)}, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def preset_values(preset: str | os.PathLike) -> dict[str, float]:
    """The settings a preset sets: one of :data:`PRESETS` by name, or a preset file (:func:`is_preset_file`)."""
    if isinstance(preset, str) and preset in PRESETS:
        return dict(PRESETS[preset])
    if is_preset_file(preset):
        return read_preset_file(preset)
    raise AutomatchError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}, or a preset file (.json)")


def preset_settings(
    settings: TrackerSettings, preset: str | os.PathLike | None = None, **overrides: Any
) -> TrackerSettings:
    """``settings`` with a preset (a :data:`PRESETS` name or a preset file, see :func:`preset_values`; ``None``:
    none) and then ``overrides`` applied."""
    values = {**(preset_values(preset) if preset else {}), **overrides}
    return settings.replace(**values) if values else settings
