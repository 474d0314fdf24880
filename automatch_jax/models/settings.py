"""Inference settings of the online tracker (Ocean's), stored in every checkpoint and overridable."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from automatch_jax.errors import AutomatchError


@dataclasses.dataclass(frozen=True)
class TrackerSettings:
    """Ocean's online-tracking settings.

    Attributes:
      context: context margin of the exemplar crop, ``p = context * (w + h)`` (SiamFC's 0.5).
      penalty_k: strength of the size and aspect-ratio change penalty ``exp(-k (r s - 1))``.
      window_influence: weight of the cosine window mixed into the penalised score map.
      lr: size smoothing; the new size moves towards the prediction by ``lr * penalty * score``.
      min_size: smallest box side in frame pixels.
      lost_score: below this best score the target counts as lost: position and size are kept and the search
        region grows by ``search_growth`` per lost frame, up to ``max_search_growth`` times its normal side, so
        a target that left the view or was occluded can be found again.
      search_growth, max_search_growth: see ``lost_score``.
    """

    context: float = 0.5
    penalty_k: float = 0.021
    window_influence: float = 0.321
    lr: float = 0.730
    min_size: float = 4.0
    lost_score: float = 0.1
    search_growth: float = 1.25
    max_search_growth: float = 2.5

    def __post_init__(self) -> None:
        checks = {
            "context": self.context >= 0,
            "penalty_k": self.penalty_k >= 0,
            "window_influence": 0 <= self.window_influence <= 1,
            "lr": 0 <= self.lr <= 1,
            "min_size": self.min_size > 0,
            "lost_score": 0 <= self.lost_score <= 1,
            "search_growth": self.search_growth >= 1,
            "max_search_growth": self.max_search_growth >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise AutomatchError(f"tracker setting {bad[0]}={getattr(self, bad[0])!r} is out of range")

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
