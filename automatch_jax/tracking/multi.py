"""Many independent targets (in one video or in many) advanced by one jitted step.

The crops are cut on the host (OpenCV, one per target); everything after them is one compiled function over all
N targets: the network on the batch of N search crops, then Ocean's selection for each target
(:func:`~automatch_jax.tracking.tracker.select`, the same as :class:`~automatch_jax.tracking.tracker.Tracker`'s),
``vmap``-ped. Each target behaves exactly like its own ``Tracker`` (tested to 1e-4 px).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.data.crop import CropWindow, context_side, crop
from automatch_jax.errors import AutomatchError
from automatch_jax.models.geometry import decode_boxes
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking.checkpoint import load_checkpoint
from automatch_jax.tracking.settings import TrackerSettings
from automatch_jax.tracking.tracker import Tracker, as_rgb, check_box, cosine_window, select


class MultiTracker:
    """N targets tracked together.

    ``init(frames, boxes)``: ``frames`` is one frame shared by every target (N objects in one video) or a list of N
    frames (one per video); ``boxes`` (N, 4) ``x, y, w, h``. ``update(frames)`` takes the same kind of input and
    returns (N, 4) boxes and (N,) scores.
    """

    def __init__(self, net: TrackerNet, variables: dict, settings: TrackerSettings | None = None,
                 color: str = "bgr", name: str = ""):
        self.net, self.settings, self.color, self.name = net, settings or TrackerSettings(), color, name or "automatch"
        self.variables = jax.tree_util.tree_map(jnp.asarray, variables)
        self.geometry = g = net.geometry
        window = jnp.asarray(cosine_window(g.score_size))
        settings = self.settings
        self._template = jax.jit(lambda v, z, b: net.apply(v, z, b, method=TrackerNet.template))

        def step(variables, exemplar, x, state, crop_windows, frame_sizes):
            out = net.apply(variables, exemplar, x, method=TrackerNet.track)
            scores, boxes = jax.nn.sigmoid(out["cls"]), decode_boxes(g, out["reg"])
            return jax.vmap(lambda *a: select(*a[:3], window, *a[3:], settings, g.search_size))(
                scores, boxes, state, crop_windows, frame_sizes)

        self._step = jax.jit(step, donate_argnums=(3,))
        self._exemplar = None

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path | None = None, color: str = "bgr", dtype: str | None = None,
                        **overrides: Any) -> MultiTracker:
        """Like :meth:`Tracker.from_pretrained` (same checks, same shipped models, same ``dtype`` choice)."""
        single = Tracker.from_checkpoint(load_checkpoint(name_or_path), color=color, dtype=dtype, **overrides)
        return cls(single.net, single.variables, single.settings, color, single.name)

    def _frames(self, frames: Any, count: int) -> list[np.ndarray]:
        if isinstance(frames, np.ndarray):
            rgb = as_rgb(frames, self.color)
            return [rgb] * count
        frames = list(frames)
        if len(frames) != count:
            raise AutomatchError(f"{len(frames)} frames for {count} targets (give one frame, or one per target)")
        return [as_rgb(f, self.color) for f in frames]

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) current ``x, y, w, h``."""
        cx, cy, w, h = (self._state[:, k] for k in range(4))
        return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)

    def init(self, frames: Any, boxes: Any) -> None:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
        if len(boxes) == 0:
            raise AutomatchError("MultiTracker.init() needs at least one box")
        rgb = self._frames(frames, len(boxes))
        g, s = self.geometry, self.settings
        self._sizes = np.array([[f.shape[1], f.shape[0]] for f in rgb], np.float64)
        self._fills = [f.reshape(-1, 3).mean(axis=0) for f in rgb]
        state, crops, crop_boxes = [], [], []
        for frame, box, fill in zip(rgb, boxes, self._fills, strict=True):
            x, y, w, h = check_box(box, frame.shape[1], frame.shape[0])
            window = CropWindow(x + w / 2, y + h / 2, context_side(w, h, s.context), g.exemplar_size)
            crops.append(crop(frame, window, fill))
            crop_boxes.append(window.to_crop(np.array([x, y, x + w, y + h])))
            state.append([x + w / 2, y + h / 2, w, h, 0.0])
        self._state = np.array(state)
        self._exemplar = self._template(self.variables, jnp.asarray(np.stack(crops)),
                                        jnp.asarray(np.stack(crop_boxes), jnp.float32))

    def update(self, frames: Any) -> tuple[np.ndarray, np.ndarray]:
        if self._exemplar is None:
            raise AutomatchError("MultiTracker.update() called before MultiTracker.init()")
        rgb = self._frames(frames, len(self._state))
        sizes = np.array([[f.shape[1], f.shape[0]] for f in rgb], np.float64)
        if not np.array_equal(sizes, self._sizes):
            raise AutomatchError("frame size changed since MultiTracker.init()")
        g, s = self.geometry, self.settings
        crops, windows = [], []
        for frame, (cx, cy, w, h, lost), fill in zip(rgb, self._state, self._fills, strict=True):
            growth = min(s.search_growth**lost, s.max_search_growth)
            side = context_side(w, h, s.context) * g.search_size / g.exemplar_size * growth
            crops.append(crop(frame, CropWindow(cx, cy, side, g.search_size), fill))
            windows.append([cx, cy, side])
        state, scores = self._step(self.variables, self._exemplar, jnp.asarray(np.stack(crops)),
                                   jnp.asarray(self._state, jnp.float32), jnp.asarray(windows, jnp.float32),
                                   jnp.asarray(sizes, jnp.float32))
        self._state = np.asarray(state, np.float64)
        return self.boxes, np.asarray(scores, np.float64)
