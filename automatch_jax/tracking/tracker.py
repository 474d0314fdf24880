"""The online tracker, shaped like OpenCV's trackers: ``init(frame, box)``, then ``update(frame)`` per frame.

Ocean's inference: the search region (the exemplar's context window scaled by search/exemplar size) is cropped
at the previous centre and size; the network gives a score and a box per score-map cell; boxes are penalised
for size and aspect-ratio change, a cosine window favours small motion, the best cell wins; the size follows it
with a learning rate proportional to the penalised score; the box is clipped to the frame. When the best score
falls below ``lost_score`` the target counts as lost: the box stays put and the search region widens frame by
frame so the target can be picked up again (see :class:`TrackerSettings`).

Per frame one compiled step takes the search crop, swaps its channels to RGB, runs the network and the selection
(:func:`select`, shared with :class:`~automatch_jax.tracking.multi.MultiTracker`); only the new state (5 numbers)
and the score come back to the host. The crop is cut inside that step from the whole frame
(:func:`~automatch_jax.data.crop.crop_jax`) on accelerators, and on the host with OpenCV on a CPU, where that is
faster (``crop_on_device`` chooses). The network runs with its BatchNorms folded into the convolutions
(:mod:`automatch_jax.models.fold`; ``fold_batchnorm=False`` keeps them as trained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.data.crop import CropWindow, context_side, crop, crop_jax
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import CheckpointError, TrackerCheckpoint, load_checkpoint
from automatch_jax.models.config import DTYPES, build_network
from automatch_jax.models.fold import apply_folded, fold_batchnorm
from automatch_jax.models.geometry import ScoreGeometry, decode_boxes
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.models.tracker_net import TrackerNet, example_inputs


def check_color(color: str) -> str:
    """``color`` if it is a known channel order (``bgr``, OpenCV's, or ``rgb``); a one-line error otherwise."""
    if color not in ("bgr", "rgb"):
        raise AutomatchError(f"unknown colour order {color!r}; use 'bgr' or 'rgb'")
    return color


def as_frame(frame: Any, color: str = "bgr") -> np.ndarray:
    """Validate a frame and return its (H, W, 3) colour channels in the frame's own order (no copy for a contiguous
    colour frame). Accepts BGR (OpenCV's order, the default) or RGB colour frames, BGRA/RGBA, and greyscale (H, W)
    or (H, W, 1)."""
    check_color(color)
    if not isinstance(frame, np.ndarray):
        raise AutomatchError(f"a frame must be a numpy array, not {type(frame).__name__}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    elif frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise AutomatchError(f"a frame must be HxW, HxWx1, HxWx3 or HxWx4, not {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise AutomatchError(f"frame of size {frame.shape[1]}x{frame.shape[0]} is too small to track in")
    return np.ascontiguousarray(frame[..., :3])


def check_box(box: Any, width: int, height: int) -> np.ndarray:
    """A validated (4,) float64 ``x, y, w, h`` box that overlaps a ``width`` x ``height`` frame."""
    try:
        values = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise AutomatchError(f"box {box!r} is not four numbers x, y, w, h") from None
    if values.size != 4 or not np.all(np.isfinite(values)):
        raise AutomatchError(f"box {box!r} is not four finite numbers x, y, w, h")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise AutomatchError(f"box {x:g},{y:g},{w:g},{h:g} has zero or negative size")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise AutomatchError(f"box {x:g},{y:g},{w:g},{h:g} lies outside the {width}x{height} frame")
    return values


def cosine_window(size: int) -> np.ndarray:
    """(size, size) float64 Hanning window over the score map (Ocean's motion prior)."""
    return np.outer(np.hanning(size), np.hanning(size)).astype(np.float64)


def inference_variables(net: TrackerNet, variables: dict, fold: bool = True) -> dict:
    """``variables`` as device arrays, with every BatchNorm folded into the convolution before it when ``fold``
    (:func:`~automatch_jax.models.fold.fold_batchnorm`; run them with
    :func:`~automatch_jax.models.fold.apply_folded`, as :func:`predict` does)."""
    if fold:
        z, z_box, x = example_inputs(net)
        variables = fold_batchnorm(lambda: net.apply(variables, z, z_box, x), variables)
    return jax.tree_util.tree_map(jnp.asarray, variables)


def predict(net: TrackerNet, variables: dict, exemplar: dict, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """(B, Es, Es, 3) RGB search crops -> (B, S, S) target probabilities and (B, S, S, 4) boxes ``x0, y0, x1, y1``
    in crop pixels (BatchNorm folded or not)."""
    out = apply_folded(net, variables, exemplar, x, method=TrackerNet.track)
    return jax.nn.sigmoid(out["cls"]), decode_boxes(net.geometry, out["reg"])


def to_rgb(crops: jnp.ndarray, color: str) -> jnp.ndarray:
    """(..., 3) crops in the frames' channel order ``color`` -> RGB, the network's order."""
    return crops[..., ::-1] if color == "bgr" else crops


def crops_on_device(choice: bool | None) -> bool:
    """Where search crops are cut: ``choice``, or by default inside the compiled step on accelerators and with
    OpenCV on the host on a CPU (faster there, BENCHMARKS.md)."""
    return jax.default_backend() != "cpu" if choice is None else choice


def search_side(w: float, h: float, lost: float, s: TrackerSettings, g: ScoreGeometry) -> float:
    """Side in frame pixels of the search crop around a ``w`` x ``h`` target lost for ``lost`` frames: the exemplar's
    context side scaled by search/exemplar size, widened by ``search_growth`` per lost frame up to its cap."""
    growth = min(s.search_growth**lost, s.max_search_growth)
    return context_side(w, h, s.context) * g.search_size / g.exemplar_size * growth


def _change(r: jnp.ndarray) -> jnp.ndarray:
    return jnp.maximum(r, 1.0 / r)


def _padded(w: jnp.ndarray, h: jnp.ndarray) -> jnp.ndarray:
    pad = (w + h) * 0.5
    return jnp.sqrt((w + pad) * (h + pad))


def select(scores: jnp.ndarray, boxes: jnp.ndarray, state: jnp.ndarray, window: jnp.ndarray,
           crop_window: jnp.ndarray, frame_size: jnp.ndarray, s: TrackerSettings, out: int) -> tuple:
    """Ocean's choice for one target, as a pure function (jitted by :class:`Tracker`, ``vmap``-ped by
    :class:`~automatch_jax.tracking.multi.MultiTracker`): size and ratio penalty, cosine window, best cell, size
    smoothing with a rate proportional to the penalised score, clipping to the frame, the lost-target rule.

    Args:
      scores: (S, S) probabilities; boxes: (S, S, 4) ``x0, y0, x1, y1`` in search-crop pixels.
      state: (5,) ``cx, cy, w, h, lost`` in frame pixels; window: (S, S) cosine window.
      crop_window: (3,) ``cx, cy, side`` of the search crop in the frame; frame_size: (2,) ``width, height``.
      s: the inference settings; out: the search crop's side in pixels.

    Returns: the new (5,) state and the best cell's score.
    """
    cx, cy, w, h, lost = state
    scale = out / crop_window[2]
    pred_w = jnp.maximum(boxes[..., 2] - boxes[..., 0], 1e-3)
    pred_h = jnp.maximum(boxes[..., 3] - boxes[..., 1], 1e-3)
    size_change = _change(_padded(pred_w, pred_h) / _padded(w * scale, h * scale))
    ratio_change = _change((w / h) / (pred_w / pred_h))
    penalty = jnp.exp(-(ratio_change * size_change - 1) * s.penalty_k)
    pscore = penalty * scores * (1 - s.window_influence) + window * s.window_influence
    best = jnp.argmax(pscore.reshape(-1))
    score = scores.reshape(-1)[best]
    box = boxes.reshape(-1, 4)[best]
    centre = ((box[:2] + box[2:]) / 2 - (out - 1) / 2) / scale + crop_window[:2]
    lr = penalty.reshape(-1)[best] * score * s.lr
    new_w = w * (1 - lr) + pred_w.reshape(-1)[best] / scale * lr
    new_h = h * (1 - lr) + pred_h.reshape(-1)[best] / scale * lr
    width, height = frame_size
    updated = jnp.stack([jnp.clip(centre[0], 0, width), jnp.clip(centre[1], 0, height),
                         jnp.clip(new_w, s.min_size, width), jnp.clip(new_h, s.min_size, height), 0.0])
    kept = jnp.stack([cx, cy, w, h, lost + 1])
    return jnp.where(score < s.lost_score, kept, updated), score


class Tracker:
    """Single-object tracker over a :class:`TrackerNet`.

    Example::

        tracker = Tracker.from_pretrained()            # the default shipped model
        tracker.init(first_frame, (x, y, w, h))        # frames: HxWx3 uint8 BGR (OpenCV's order)
        for frame in frames:
            (x, y, w, h), score = tracker.update(frame)
    """

    def __init__(
        self,
        net: TrackerNet,
        variables: dict,
        settings: TrackerSettings | None = None,
        color: str = "bgr",
        name: str = "",
        fold_batchnorm: bool = True,
        crop_on_device: bool | None = None,
    ):
        self.net = net
        self.variables = inference_variables(net, variables, fold_batchnorm)
        self.settings = settings or TrackerSettings()
        self.color = check_color(color)
        self.name = name or "automatch"
        self.geometry = net.geometry
        self._exemplar: dict | None = None
        self._frame_size: tuple[int, int] | None = None
        self.crop_on_device = crops_on_device(crop_on_device)
        self._compile()

    def _compile(self) -> None:
        """(Re)builds the jitted exemplar and per-frame steps around :meth:`_template_fn` and :meth:`_network`."""
        self._window = jnp.asarray(cosine_window(self.geometry.score_size))
        self._template = jax.jit(lambda v, z, z_box: self._template_fn(v, to_rgb(z, self.color), z_box))
        self._step = jax.jit(self._step_fn, static_argnames=("s",))
        self._frame_step = jax.jit(self._frame_step_fn, static_argnames=("s",))

    def _template_fn(self, variables: dict, z: jnp.ndarray, z_box: jnp.ndarray) -> dict:
        """Exemplar state from (1, Ez, Ez, 3) RGB crops and (1, 4) boxes."""
        return apply_folded(self.net, variables, z, z_box, method=TrackerNet.template)

    def _network(self, variables: dict, exemplar: dict, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(1, Es, Es, 3) RGB search crop -> (S, S) probabilities and (S, S, 4) boxes in crop pixels."""
        scores, boxes = predict(self.net, variables, exemplar, x)
        return scores[0], boxes[0]

    def _step_fn(self, variables: dict, exemplar: dict, x: jnp.ndarray, state: jnp.ndarray,
                 crop_window: jnp.ndarray, frame_size: jnp.ndarray, s: TrackerSettings) -> tuple:
        """One frame: network on the crop, then :func:`select` -> the new (5,) state and the score."""
        scores, boxes = self._network(variables, exemplar, to_rgb(x, self.color))
        return select(scores, boxes, state, self._window, crop_window, frame_size, s, self.geometry.search_size)

    def _frame_step_fn(self, variables: dict, exemplar: dict, frame: jnp.ndarray, fill: jnp.ndarray,
                       state: jnp.ndarray, crop_window: jnp.ndarray, s: TrackerSettings) -> tuple:
        """:meth:`_step_fn` on the whole (H, W, 3) frame: the search crop is cut here, on the device."""
        x = crop_jax(frame, crop_window, self.geometry.search_size, fill)[None]
        frame_size = jnp.array([frame.shape[1], frame.shape[0]], jnp.float32)
        return self._step_fn(variables, exemplar, x, state, crop_window, frame_size, s)

    @classmethod
    def from_checkpoint(
        cls, checkpoint: TrackerCheckpoint, color: str = "bgr", dtype: str | None = None,
        fold_batchnorm: bool = True, crop_on_device: bool | None = None, **overrides: Any
    ) -> Tracker:
        """A tracker for a loaded checkpoint; ``overrides`` replace inference settings (``penalty_k=0.05`` ...).

        ``dtype`` (``float32`` | ``bfloat16`` | ``float16``) is the network's compute precision; the default is
        the checkpoint's (float32 for the shipped models). Parameters stay float32; half precision is for GPUs and
        TPUs (on a CPU XLA emulates it and it is slower). ``fold_batchnorm``: fold BatchNorm into the convolutions
        (faster, equal up to float rounding). ``crop_on_device``: cut search crops inside the compiled step (default:
        on accelerators) rather than with OpenCV on the host (default on a CPU).
        """
        model = dict(checkpoint.model)
        if dtype is not None:
            if dtype not in DTYPES:
                raise AutomatchError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
            model["dtype"] = dtype
        try:
            net = build_network(model)
            z, z_box, x = example_inputs(net)  # also checks the crop geometry
        except (AutomatchError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {checkpoint.name}: invalid model config ({exc})") from None
        expected = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), z, z_box, x))
        got = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct(np.shape(a), jnp.float32), checkpoint.variables
        )
        same_tree = jax.tree_util.tree_structure(expected) == jax.tree_util.tree_structure(got)
        if not same_tree or any(
            a.shape != b.shape
            for a, b in zip(jax.tree_util.tree_leaves(expected), jax.tree_util.tree_leaves(got), strict=True)
        ):
            raise CheckpointError(f"checkpoint {checkpoint.name}: its weights do not fit its model config")
        settings = checkpoint.settings.replace(**overrides) if overrides else checkpoint.settings
        return cls(net, checkpoint.variables, settings, color=color, name=checkpoint.name,
                   fold_batchnorm=fold_batchnorm, crop_on_device=crop_on_device)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path | None = None, color: str = "bgr", dtype: str | None = None,
        fold_batchnorm: bool = True, crop_on_device: bool | None = None, **overrides: Any
    ) -> Tracker:
        """A tracker from a named shipped model (default ``automatch-lite``) or a checkpoint folder; ``dtype``,
        ``fold_batchnorm``, ``crop_on_device`` and ``overrides`` as in :meth:`from_checkpoint`."""
        return cls.from_checkpoint(load_checkpoint(name_or_path), color=color, dtype=dtype,
                                   fold_batchnorm=fold_batchnorm, crop_on_device=crop_on_device, **overrides)

    # ---------------------------------------------------------------------------------------------------------
    @property
    def box(self) -> np.ndarray:
        """The current (4,) ``x, y, w, h``."""
        return np.array([self._cx - self._w / 2, self._cy - self._h / 2, self._w, self._h])

    def init(self, frame: np.ndarray, box: Any) -> None:
        """Start tracking the object in ``box`` (``x, y, w, h`` pixels, top-left corner) of ``frame``."""
        image = as_frame(frame, self.color)
        height, width = image.shape[:2]
        x, y, w, h = check_box(box, width, height)
        self._frame_size = (width, height)
        self._cx, self._cy, self._w, self._h = x + w / 2, y + h / 2, w, h
        self._lost = 0
        self._fill = image.reshape(-1, 3).mean(axis=0)
        g = self.geometry
        side = context_side(w, h, self.settings.context)
        window = CropWindow(self._cx, self._cy, side, g.exemplar_size)
        z = crop(image, window, self._fill)
        z_box = window.to_crop(np.array([x, y, x + w, y + h]))
        self._exemplar = self._template(
            self.variables, jnp.asarray(z[None]), jnp.asarray(z_box[None], jnp.float32)
        )

    def update(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Track into ``frame``: returns the box ``x, y, w, h`` (float pixels) and the confidence in [0, 1]."""
        if self._exemplar is None:
            raise AutomatchError("Tracker.update() called before Tracker.init()")
        image = as_frame(frame, self.color)
        height, width = image.shape[:2]
        if (width, height) != self._frame_size:
            raise AutomatchError(
                f"frame size changed from {self._frame_size[0]}x{self._frame_size[1]} to {width}x{height}"
            )
        s, g = self.settings, self.geometry
        window = CropWindow(self._cx, self._cy, search_side(self._w, self._h, self._lost, s, g), g.search_size)
        state = np.array([self._cx, self._cy, self._w, self._h, self._lost], np.float32)
        crop_window = np.array([window.cx, window.cy, window.side], np.float32)
        if self.crop_on_device:
            state, score = self._frame_step(self.variables, self._exemplar, image, self._fill.astype(np.float32),
                                            state, crop_window, s=s)
        else:
            x_crop = crop(image, window, self._fill)[None]
            frame_size = np.array([width, height], np.float32)
            state, score = self._step(self.variables, self._exemplar, x_crop, state, crop_window, frame_size, s=s)
        cx, cy, w, h, lost = np.asarray(state, np.float64)
        self._cx, self._cy, self._w, self._h, self._lost = float(cx), float(cy), float(w), float(h), int(lost)
        return self.box, float(score)
