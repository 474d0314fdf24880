"""Inference settings of the online tracker, stored in every checkpoint and overridable, and the authors' named
per-benchmark presets (JudasDie/SOTS ``experiments/AutoMatch.yaml``, ``TEST.HYPERS``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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
        a target that left the view or was occluded can be found again (0 turns the rule off; the authors have none).
      search_growth, max_search_growth: see ``lost_score``.
    """

    context: float = 0.5
    penalty_k: float = 0.021
    window_influence: float = 0.321
    lr: float = 0.730
    lr_power: float = 1.0
    min_size: float = 4.0
    zoom: float = 0.0
    lost_score: float = 0.1
    search_growth: float = 1.25
    max_search_growth: float = 2.5

    def __post_init__(self) -> None:
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
}

# What the authors' AutoMatch tracker does on every benchmark (sot_tracker.py): the rate applied twice, sides of at
# least 10 pixels, the zoom refinement averaged with the pick, no lost-target rule.
AUTOMATCH_INFERENCE = {"lr_power": 2.0, "min_size": 10.0, "zoom": 0.5, "lost_score": 0.0}

# The authors' per-benchmark penalty_k / lr / window_influence (experiments/AutoMatch.yaml TEST.HYPERS, found by
# hyper-parameter search on each benchmark), with AUTOMATCH_INFERENCE. Their larger search crop for small targets
# (OTB2015 287, UAV123 271 pixels when the target covers under 0.4 % of the frame) is not part of a preset here.
PRESETS: dict[str, dict[str, float]] = {
    name: {"penalty_k": k, "lr": lr, "window_influence": w, **AUTOMATCH_INFERENCE}
    for name, (k, lr, w) in {
        "otb": (0.147, 0.699, 0.55),
        "vot": (0.143, 0.803, 0.5),
        "got10k": (0.049, 1.0, 0.34),
        "trackingnet": (0.049, 1.0, 0.34),
        "lasot": (0.049, 1.0, 0.38),
        "uav123": (0.128, 0.913, 0.41),
        "nfs": (0.015, 0.944, 0.2),
    }.items()
}


def preset_settings(settings: TrackerSettings, preset: str | None = None, **overrides: Any) -> TrackerSettings:
    """``settings`` with a named preset (:data:`PRESETS`; ``None``: none) and then ``overrides`` applied."""
    if preset is not None and preset not in PRESETS:
        raise AutomatchError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    values = {**(PRESETS[preset] if preset else {}), **overrides}
    return settings.replace(**values) if values else settings
