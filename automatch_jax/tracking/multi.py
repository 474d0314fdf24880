"""Many independent targets (in one video or in many) advanced by one compiled step: the N-target face of
:class:`~automatch_jax.tracking.core.TrackerCore`. Each target behaves exactly like its own
:class:`~automatch_jax.tracking.tracker.Tracker` (tested step by step)."""

from __future__ import annotations

from typing import Any

import numpy as np

from automatch_jax.tracking.core import TrackerCore, as_boxes


class MultiTracker(TrackerCore):
    """N targets tracked together (same constructor, :meth:`from_pretrained` and :meth:`from_checkpoint` as
    :class:`~automatch_jax.tracking.tracker.Tracker`, the same frame rules and settings behaviour).

    ``init(frames, boxes)``: ``frames`` is one frame shared by every target (N objects in one video: it goes to the
    device once) or a list of N frames (one per target; the same array given for several targets counts once);
    ``boxes`` (N, 4) ``x, y, w, h``. ``update(frames)`` takes the same kind of input and returns (N, 4) boxes and
    (N,) scores. Frames of different sizes are cropped on the host. With ``small_target_search`` on, the small
    targets and the others are stepped as two groups, each at its own crop size (one compiled step each).
    """

    def init(self, frames: Any, boxes: Any) -> None:
        """Start tracking ``boxes`` (N, 4) in ``frames`` (one frame or N)."""
        self._start(frames, as_boxes(boxes))

    def update(self, frames: Any) -> tuple[np.ndarray, np.ndarray]:
        """Track every target into ``frames``: (N, 4) boxes ``x, y, w, h`` and (N,) confidences in [0, 1]."""
        self._advance(frames)
        return self.boxes, self._scores.copy()
