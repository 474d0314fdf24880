"""The online tracker, shaped like OpenCV's trackers: ``init(frame, box)``, then ``update(frame)`` per frame.

:class:`Tracker` is the one-target face of :class:`~automatch_jax.tracking.core.TrackerCore` (Ocean's inference,
one compiled step per frame, the state kept on the device; see :mod:`automatch_jax.tracking.core`). The network
runs with its BatchNorms folded into the convolutions (:mod:`automatch_jax.models.fold`; ``fold_batchnorm=False``
keeps them as trained).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.tracking.core import FRAME_RULES, TrackerCore, as_boxes, check_box, select

__all__ = ["Tracker", "check_box", "select"]


class Tracker(TrackerCore):
    """Single-object tracker.

    Example::

        tracker = Tracker.from_pretrained()            # the default shipped model
        tracker.init(first_frame, (x, y, w, h))        # frames: HxWx3 uint8 BGR (OpenCV's order)
        for frame in frames:
            (x, y, w, h), score = tracker.update(frame)

    ``Tracker(net, variables, settings, color, name, fold_batchnorm, crop_on_device)`` wraps a Flax
    :class:`~automatch_jax.models.tracker_net.TrackerNet` and its variables (or a ready
    :class:`~automatch_jax.tracking.network.Network`, without variables); :meth:`from_pretrained` and
    :meth:`from_checkpoint` load a model. ``settings`` are read at every call: assigning ``tracker.settings``
    takes effect at the next ``update`` (``context``, ``small_target_search`` and ``small_target_area`` at the next
    ``init``).

    """

    __doc__ += FRAME_RULES.replace("\n", "\n    ")

    @property
    def box(self) -> np.ndarray:
        """The current (4,) ``x, y, w, h``."""
        return self.boxes[0]

    def init(self, frame: np.ndarray, box: Any) -> None:
        """Start tracking the object in ``box`` (``x, y, w, h`` pixels, top-left corner) of ``frame``."""
        boxes = as_boxes(box)
        if len(boxes) != 1:
            raise AutomatchError(f"Tracker.init() takes one box, not {len(boxes)} (MultiTracker tracks many)")
        self._start((frame,), boxes)

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Track into ``frame``: returns the box ``x, y, w, h`` (float pixels) and the confidence in [0, 1]."""
        self._advance((frame,))
        return self.box, float(self._scores[0])
