"""Many independent targets (in one video or in many) advanced by one jitted step.

One compiled function advances all N targets: the N search crops (cut inside it from the frame(s) on accelerators,
:func:`~automatch_jax.data.crop.crop_jax` ``vmap``-ped; on the host with OpenCV on a CPU or when the N frames differ
in size), the network on the batch of crops, then Ocean's selection for each target
(:func:`~automatch_jax.tracking.tracker.select`, the same as :class:`~automatch_jax.tracking.tracker.Tracker`'s),
``vmap``-ped. Each target behaves exactly like its own ``Tracker`` (tested to 1e-4 px).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.data.crop import CropWindow, context_side, crop, crop_jax
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import load_checkpoint
from automatch_jax.models.fold import apply_folded
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking.tracker import (
    Tracker,
    as_frame,
    check_box,
    check_color,
    cosine_window,
    crops_on_device,
    inference_variables,
    predict,
    search_side,
    select,
    to_rgb,
)


class MultiTracker:
    """N targets tracked together.

    ``init(frames, boxes)``: ``frames`` is one frame shared by every target (N objects in one video) or a list of N
    frames (one per video); ``boxes`` (N, 4) ``x, y, w, h``. ``update(frames)`` takes the same kind of input and
    returns (N, 4) boxes and (N,) scores.
    """

    def __init__(self, net: TrackerNet, variables: dict, settings: TrackerSettings | None = None,
                 color: str = "bgr", name: str = "", fold_batchnorm: bool = True, crop_on_device: bool | None = None):
        self.net, self.settings, self.name = net, settings or TrackerSettings(), name or "automatch"
        self.color = check_color(color)
        self.variables = inference_variables(net, variables, fold_batchnorm)
        self.geometry = g = net.geometry
        self.crop_on_device = crops_on_device(crop_on_device)
        window = jnp.asarray(cosine_window(g.score_size))
        settings = self.settings

        def step(variables, exemplar, x, state, crop_windows, frame_sizes):
            scores, boxes = predict(net, variables, exemplar, to_rgb(x, color))
            return jax.vmap(lambda *a: select(*a[:3], window, *a[3:], settings, g.search_size))(
                scores, boxes, state, crop_windows, frame_sizes)

        def frame_step(variables, exemplar, frames, fills, state, crop_windows):
            """``frames``: one (H, W, 3) frame shared by all targets, or (N, H, W, 3)."""
            shared = frames.ndim == 3
            cut = jax.vmap(lambda f, w, c: crop_jax(f, w, g.search_size, c), in_axes=(None if shared else 0, 0, 0))
            x = cut(frames, crop_windows, fills)
            height, width = frames.shape[-3:-1]
            sizes = jnp.broadcast_to(jnp.array([width, height], jnp.float32), (len(crop_windows), 2))
            return step(variables, exemplar, x, state, crop_windows, sizes)

        self._step = jax.jit(step, donate_argnums=(3,))
        self._frame_step = jax.jit(frame_step, donate_argnums=(4,))
        self._template = jax.jit(lambda v, z, b: apply_folded(net, v, to_rgb(z, color), b, method=TrackerNet.template))
        self._exemplar = None

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path | None = None, color: str = "bgr", dtype: str | None = None,
                        fold_batchnorm: bool = True, crop_on_device: bool | None = None,
                        **overrides: Any) -> MultiTracker:
        """Like :meth:`Tracker.from_pretrained` (same checks, same shipped models, same ``dtype``, BatchNorm folding
        and crop placement choices)."""
        single = Tracker.from_checkpoint(load_checkpoint(name_or_path), color=color, dtype=dtype,
                                         fold_batchnorm=False, **overrides)  # folded once, below
        return cls(single.net, single.variables, single.settings, color, single.name, fold_batchnorm, crop_on_device)

    def _frames(self, frames: Any, count: int) -> tuple[list[np.ndarray], bool]:
        """The N targets' validated frames (channels in the frames' own order) and whether one frame is shared."""
        if isinstance(frames, np.ndarray):
            return [as_frame(frames, self.color)] * count, True
        frames = list(frames)
        if len(frames) != count:
            raise AutomatchError(f"{len(frames)} frames for {count} targets (give one frame, or one per target)")
        return [as_frame(f, self.color) for f in frames], False

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) current ``x, y, w, h``."""
        cx, cy, w, h = (self._state[:, k] for k in range(4))
        return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)

    def init(self, frames: Any, boxes: Any) -> None:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
        if len(boxes) == 0:
            raise AutomatchError("MultiTracker.init() needs at least one box")
        rgb, _ = self._frames(frames, len(boxes))
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
        rgb, shared = self._frames(frames, len(self._state))
        sizes = np.array([[f.shape[1], f.shape[0]] for f in rgb], np.float64)
        if not np.array_equal(sizes, self._sizes):
            raise AutomatchError("frame size changed since MultiTracker.init()")
        g, s = self.geometry, self.settings
        windows = []
        for cx, cy, w, h, lost in self._state:
            windows.append([cx, cy, search_side(w, h, lost, s, g)])
        crop_windows = np.asarray(windows, np.float32)
        state = jnp.asarray(self._state, jnp.float32)  # a device buffer the step may reuse (donated)
        if self.crop_on_device and (shared or len(np.unique(sizes, axis=0)) == 1):
            frames_in = rgb[0] if shared else np.stack(rgb)
            state, scores = self._frame_step(self.variables, self._exemplar, frames_in,
                                             np.asarray(self._fills, np.float32), state, crop_windows)
        else:
            crops = [crop(frame, CropWindow(*window, g.search_size), fill)
                     for frame, window, fill in zip(rgb, windows, self._fills, strict=True)]
            state, scores = self._step(self.variables, self._exemplar, np.stack(crops), state, crop_windows,
                                       sizes.astype(np.float32))
        self._state = np.asarray(state, np.float64)
        return self.boxes, np.asarray(scores, np.float64)
