"""OpenCV's classical trackers (CSRT, KCF from opencv-contrib) behind the same ``init`` / ``update`` / ``box`` API as
:class:`~automatch_jax.tracking.tracker.Tracker`, so benchmarks run them through the same code path."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.tracking.tracker import check_box

OPENCV_TRACKERS = {"CSRT": "TrackerCSRT", "KCF": "TrackerKCF"}


class OpenCVTracker:
    """``OpenCVTracker("CSRT")``: frames BGR uint8 as OpenCV takes them; ``update`` returns the box and 1.0, or the
    previous box and 0.0 when OpenCV reports a failure."""

    def __init__(self, kind: str = "CSRT"):
        if kind not in OPENCV_TRACKERS:
            raise AutomatchError(f"unknown OpenCV tracker {kind!r}; known: {', '.join(OPENCV_TRACKERS)}")
        self.kind = self.name = kind
        self._make = getattr(cv2, OPENCV_TRACKERS[kind]).create
        self._tracker = None
        self._box = np.zeros(4)

    @property
    def box(self) -> np.ndarray:
        return self._box.copy()

    def init(self, frame: np.ndarray, box: Any) -> None:
        x, y, w, h = check_box(box, frame.shape[1], frame.shape[0])
        self._tracker = self._make()
        self._box = np.array([x, y, w, h])
        self._tracker.init(frame, tuple(round(v) for v in (x, y, w, h)))

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        if self._tracker is None:
            raise AutomatchError(f"{self.kind}.update() called before init()")
        ok, box = self._tracker.update(frame)
        if ok:
            self._box = np.asarray(box, np.float64)
        return self.box, float(ok)
