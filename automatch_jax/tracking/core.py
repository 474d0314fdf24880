"""The tracker core: N targets, each followed by Ocean's inference, advanced together by one compiled step.

Ocean's inference, per target: the search region (the exemplar's context window scaled by search/exemplar size)
is cropped at the previous centre and size; the network gives a score and a box per score-map cell; boxes are
penalised for size and aspect-ratio change, a cosine window favours small motion, the best cell wins
(:func:`choose`); with a network that re-scores boxes (the AutoMatch network's stage 2) and ``zoom`` > 0, the
chosen box moves towards the best of its 96 jittered copies (the authors' zoom refinement, :func:`zoom`); the size
follows it with a rate proportional to the penalised score (raised to ``lr_power``), the box is clipped to the frame
(:func:`place`). When the best score falls below ``lost_score`` the target counts as lost: the box stays put and
the search region widens frame by frame so the target can be picked up again (see
:class:`~automatch_jax.models.settings.TrackerSettings`). A target that covers less than ``small_target_area`` of
its frame at ``init`` is searched in larger crops of ``small_target_search`` pixels for the whole sequence (the
authors' ``big_sz``): the same exemplar, a wider area at the same scale, a larger score map and cosine window.

:class:`TrackerCore` holds the (N, 5) state ``cx, cy, w, h, lost`` on the device. Per frame one compiled step
takes the frame(s) (uint8 stays uint8 until inside the step) or the search crops, computes the search windows
(:func:`search_windows`), cuts the crops (:func:`~automatch_jax.data.crop.crop_jax`, ``vmap``-ped) unless they
were cut on the host, swaps the channels to RGB, runs the network on the batch of N crops and the selection
(:func:`choose`, the zoom, :func:`place`, ``vmap``-ped); the new state stays on the device (its buffer donated to
the next step) and one (N, 6) array (state and score) comes back to the host. The network is a
:class:`~automatch_jax.tracking.network.Network`: a Flax network and its variables, an export, or a stand-in.
Targets of one search crop size form a group; when small and normal targets are tracked together, each group
takes its own compiled step (the same step compiled for its geometry) and its own read-back, and the results are
put back in target order.

Where crops are cut (``crop_on_device``): inside the step from the whole frame on accelerators (one frame upload,
shared by every target that shares the frame); on the host with OpenCV on a CPU, where that is faster
(BENCHMARKS.md), and whenever the frames of one step differ in size. Init always crops on the host.

Settings are read at every call: assigning ``tracker.settings`` takes effect at the next ``init`` (``context``,
``small_target_search``, ``small_target_area``) or ``update`` (everything else), after one recompilation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.boxes import cxcywh_to_xywh, xywh_to_cxcywh, xywh_to_xyxy
from automatch_jax.data.crop import CropWindow, context_side, crop, crop_jax
from automatch_jax.errors import AutomatchError
from automatch_jax.models.checkpoint import TrackerCheckpoint, load_checkpoint
from automatch_jax.models.geometry import ScoreGeometry
from automatch_jax.models.settings import TrackerSettings, preset_settings
from automatch_jax.models.targets import jitter_offsets
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.tracking.network import Network, checkpoint_network, flax_network

FRAME_RULES = """\
Frames are numpy arrays: (H, W, 3) colour in the tracker's channel order (BGR, OpenCV's, by default; RGB with
``color="rgb"``), (H, W, 4) with alpha (dropped), or (H, W) / (H, W, 1) greyscale. Values:
- uint8: 0..255, used as is (the fast path: frames and crops travel to the device as uint8);
- other integer types: values must lie within 0..255 (they are converted to uint8 exactly); other values, such
  as 16-bit images, are refused;
- float16/32/64: values on the 0..255 scale, or a [0, 1] image: a float frame whose values all lie within [0, 1]
  is multiplied by 255. Float frames holding NaN or infinite values, or values outside 0..255, are refused;
- anything else (bool, complex, object arrays, other containers) is refused.
A refused frame raises :class:`~automatch_jax.errors.AutomatchError` (one line naming the problem) before the
tracker's state is touched: tracking goes on from the previous state with the next good frame."""


def check_color(color: str) -> str:
    """``color`` if it is a known channel order (``bgr``, OpenCV's, or ``rgb``); a one-line error otherwise."""
    if color not in ("bgr", "rgb"):
        raise AutomatchError(f"unknown colour order {color!r}; use 'bgr' or 'rgb'")
    return color


def _values(frame: np.ndarray) -> np.ndarray:
    """``frame``'s values as uint8 or float32 on 0..255 (:data:`FRAME_RULES`), or a one-line refusal."""
    kind = frame.dtype.kind
    if frame.dtype == np.uint8:
        return frame
    if kind in "iu":
        low, high = int(frame.min()), int(frame.max())
        if low < 0 or high > 255:
            raise AutomatchError(f"{frame.dtype} frame values span {low}..{high}; integer frames must lie within "
                                 "0..255 (convert 16-bit images to uint8 first)")
        return frame.astype(np.uint8)
    if kind == "f":
        if not np.isfinite(frame).all():
            raise AutomatchError(f"{frame.dtype} frame holds NaN or infinite values")
        low, high = float(frame.min()), float(frame.max())
        if low < 0 or high > 255:
            raise AutomatchError(f"{frame.dtype} frame values span {low:g}..{high:g}; float frames must lie within "
                                 "0..255 (or 0..1)")
        frame = frame.astype(np.float32, copy=False)
        return frame * np.float32(255) if high <= 1 else frame
    raise AutomatchError(f"a frame must hold uint8, integer or float values, not {frame.dtype}")


def as_frame(frame: Any, color: str = "bgr") -> np.ndarray:
    """A validated frame as (H, W, 3) colour channels in the frame's own order, uint8 or float32 on 0..255 (no
    copy for a contiguous uint8 colour frame); :data:`FRAME_RULES` says what is accepted."""
    check_color(color)
    if not isinstance(frame, np.ndarray):
        raise AutomatchError(f"a frame must be a numpy array, not {type(frame).__name__}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        frame = frame[..., None]
    elif frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise AutomatchError(f"a frame must be HxW, HxWx1, HxWx3 or HxWx4, not {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise AutomatchError(f"frame of size {frame.shape[1]}x{frame.shape[0]} is too small to track in")
    values = _values(frame[..., :3])
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(values)


def as_boxes(boxes: Any) -> np.ndarray:
    """One box (4 numbers) or N boxes (N x 4) ``x, y, w, h`` as (N, 4) float64; checked for shape only."""
    try:
        values = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is not None and values.size == 0:
        raise AutomatchError("init() needs at least one box")
    if values is None or values.ndim not in (1, 2) or values.shape[-1] != 4:
        raise AutomatchError(f"box {boxes!r} is not four numbers x, y, w, h (or N rows of them)")
    return values.reshape(-1, 4)


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


def crops_on_device(choice: bool | None) -> bool:
    """Where search crops are cut: ``choice``, or by default inside the compiled step on accelerators and with
    OpenCV on the host on a CPU (faster there, BENCHMARKS.md)."""
    return jax.default_backend() != "cpu" if choice is None else choice


def search_windows(state: Any, s: TrackerSettings, g: ScoreGeometry, xp: Any = np) -> Any:
    """(..., 5) states ``cx, cy, w, h, lost`` -> (..., 3) search windows ``cx, cy, side`` in frame pixels: the
    exemplar's context side scaled by search/exemplar size, widened by ``search_growth`` per lost frame up to
    ``max_search_growth``. ``xp``: ``numpy`` (host crops, float64) or ``jax.numpy`` (inside the compiled step)."""
    cx, cy, w, h, lost = (state[..., k] for k in range(5))
    growth = xp.minimum(s.search_growth**lost, s.max_search_growth)
    side = context_side(w, h, s.context, xp) * g.search_size / g.exemplar_size * growth
    return xp.stack([cx, cy, side], axis=-1)


def _change(r: jnp.ndarray) -> jnp.ndarray:
    return jnp.maximum(r, 1.0 / r)


def _padded(w: jnp.ndarray, h: jnp.ndarray) -> jnp.ndarray:
    pad = (w + h) * 0.5
    return jnp.sqrt((w + pad) * (h + pad))


def choose(scores: jnp.ndarray, boxes: jnp.ndarray, state: jnp.ndarray, window: jnp.ndarray,
           crop_window: jnp.ndarray, s: TrackerSettings, out: int) -> tuple:
    """Ocean's choice of a cell for one target: size and ratio penalty, cosine window, best cell.

    Args:
      scores: (S, S) probabilities; boxes: (S, S, 4) ``x0, y0, x1, y1`` in search-crop pixels.
      state: (5,) ``cx, cy, w, h, lost`` in frame pixels; window: (S, S) cosine window.
      crop_window: (3,) ``cx, cy, side`` of the search crop in the frame; s: the inference settings; out: the
        search crop's side in pixels.

    Returns: the best cell's (4,) box in crop pixels, its size rate ``penalty * score * lr`` and its score.
    """
    _, _, w, h, _ = state
    scale = out / crop_window[2]
    pred_w = jnp.maximum(boxes[..., 2] - boxes[..., 0], 1e-3)
    pred_h = jnp.maximum(boxes[..., 3] - boxes[..., 1], 1e-3)
    size_change = _change(_padded(pred_w, pred_h) / _padded(w * scale, h * scale))
    ratio_change = _change((w / h) / (pred_w / pred_h))
    penalty = jnp.exp(-(ratio_change * size_change - 1) * s.penalty_k)
    pscore = penalty * scores * (1 - s.window_influence) + window * s.window_influence
    best = jnp.argmax(pscore.reshape(-1))
    score = scores.reshape(-1)[best]
    return boxes.reshape(-1, 4)[best], penalty.reshape(-1)[best] * score * s.lr, score


def place(box: jnp.ndarray, rate: jnp.ndarray, score: jnp.ndarray, state: jnp.ndarray, crop_window: jnp.ndarray,
          frame_size: jnp.ndarray, s: TrackerSettings, out: int) -> jnp.ndarray:
    """The new (5,) state of one target from its chosen (4,) crop-pixel ``box`` (:func:`choose`): the centre moves
    to the box's, the size towards it by ``rate ** lr_power``, both clipped to the frame (sides at least
    ``min_size``); below ``lost_score`` the lost-target rule keeps the state and counts the frame."""
    cx, cy, w, h, lost = state
    scale = out / crop_window[2]
    centre = ((box[:2] + box[2:]) / 2 - (out - 1) / 2) / scale + crop_window[:2]
    step = rate**s.lr_power
    new_w = w + (jnp.maximum(box[2] - box[0], 1e-3) / scale - w) * step
    new_h = h + (jnp.maximum(box[3] - box[1], 1e-3) / scale - h) * step
    width, height = frame_size
    updated = jnp.stack([jnp.clip(centre[0], 0, width), jnp.clip(centre[1], 0, height),
                         jnp.clip(new_w, s.min_size, width), jnp.clip(new_h, s.min_size, height), 0.0])
    kept = jnp.stack([cx, cy, w, h, lost + 1])
    return jnp.where(score < s.lost_score, kept, updated)


def select(scores: jnp.ndarray, boxes: jnp.ndarray, state: jnp.ndarray, window: jnp.ndarray,
           crop_window: jnp.ndarray, frame_size: jnp.ndarray, s: TrackerSettings, out: int) -> tuple:
    """Ocean's inference step for one target without refinement, as a pure function: :func:`choose` then
    :func:`place` (arguments as theirs; ``frame_size`` (2,) ``width, height``). Returns the new (5,) state and the
    best cell's score."""
    box, rate, score = choose(scores, boxes, state, window, crop_window, s, out)
    return place(box, rate, score, state, crop_window, frame_size, s, out), score


def zoom_candidates(boxes: jnp.ndarray, out: int) -> jnp.ndarray:
    """The authors' zoom candidates: (N, 4) chosen crop-pixel boxes -> (N, 97, 4), each box itself and its 96
    jittered copies (:func:`~automatch_jax.models.targets.jitter_offsets`), clipped to the crop."""
    jittered = boxes[:, None, :] + jnp.asarray(jitter_offsets())[None]
    return jnp.clip(jnp.concatenate([boxes[:, None, :], jittered], axis=1), 0.0, float(out))


def zoom(boxes: jnp.ndarray, candidates: jnp.ndarray, probabilities: jnp.ndarray, weight: float) -> jnp.ndarray:
    """(N, 4) boxes moved ``weight`` of the way to their best-scored (N, K, 4) candidate ((N, K) probabilities)."""
    best = jnp.take_along_axis(candidates, jnp.argmax(probabilities, axis=1)[:, None, None], axis=1)[:, 0]
    return boxes + weight * (best - boxes)


def to_rgb(crops: jnp.ndarray, color: str) -> jnp.ndarray:
    """(..., 3) crops in the frames' channel order ``color`` -> RGB, the network's order."""
    return crops[..., ::-1] if color == "bgr" else crops


@dataclasses.dataclass
class _Group:
    """The M targets that step together at one search crop side ``size``: ``index`` their (M,) indices among the
    N targets (``None``: all of them), and on the device their exemplar state, (M, 5) state, (M, 3) fill colours
    and (M, 2) frame sizes."""

    size: int
    index: np.ndarray | None
    exemplar: Any
    state: jax.Array
    fills: jax.Array
    sizes: jax.Array


class TrackerCore:
    """N targets over one :class:`~automatch_jax.tracking.network.Network` (the faces :class:`Tracker`,
    :class:`MultiTracker` and :class:`ExportedTracker` add the public ``init``/``update``).

    ``net``: a :class:`~automatch_jax.models.tracker_net.TrackerNet` with its ``variables`` (BatchNorm folded into
    the convolutions unless ``fold_batchnorm=False``), or a ready :class:`Network` (no ``variables``).
    ``crop_on_device``: cut search crops inside the compiled step (default: on accelerators). Settings with a
    ``small_target_search`` the network cannot run at (an export's fixed shapes, a size without a valid geometry)
    are refused in one line when the tracker is built or ``settings`` is assigned.
    """

    def __init__(
        self,
        net: TrackerNet | Network,
        variables: dict | None = None,
        settings: TrackerSettings | None = None,
        color: str = "bgr",
        name: str = "",
        fold_batchnorm: bool = True,
        crop_on_device: bool | None = None,
    ):
        if isinstance(net, Network):
            if variables is not None:
                raise AutomatchError("a Network carries its own weights: pass no variables with it")
            self.network = net
        else:
            self.network = flax_network(net, variables, fold_batchnorm)
        self._networks: dict[int, Network] = {}
        self.settings = settings or TrackerSettings()
        self.color = check_color(color)
        self.name = name or "automatch"
        self.crop_on_device = crops_on_device(crop_on_device)
        self._template = jax.jit(self._template_fn)
        self._host_step = jax.jit(self._host_step_fn, static_argnames=("s", "size"), donate_argnames="state")
        self._device_step = jax.jit(self._device_step_fn, static_argnames=("s", "size"), donate_argnames="state")
        self._groups: list[_Group] = []

    @classmethod
    def from_checkpoint(
        cls, checkpoint: TrackerCheckpoint, color: str = "bgr", dtype: str | None = None,
        fold_batchnorm: bool = True, crop_on_device: bool | None = None, preset: str | None = None,
        **overrides: Any
    ) -> Any:
        """A tracker for a loaded checkpoint (its weights checked against its config); ``preset`` applies one of
        the authors' per-benchmark settings (:data:`~automatch_jax.models.settings.PRESETS`: ``otb``, ``vot``,
        ``got10k``, ``trackingnet``, ``lasot``, ``uav123``, ``nfs``) and ``overrides`` then replace inference
        settings (``penalty_k=0.05`` ...).

        ``dtype`` (``float32`` | ``bfloat16`` | ``float16``) is the network's compute precision; the default is
        the checkpoint's (float32 for the shipped models). Parameters stay float32; half precision is for GPUs and
        TPUs (on a CPU XLA emulates it and it is slower). ``fold_batchnorm``: fold BatchNorm into the convolutions
        (faster, equal up to float rounding). ``crop_on_device``: cut search crops inside the compiled step (default:
        on accelerators) rather than with OpenCV on the host (default on a CPU).
        """
        net = checkpoint_network(checkpoint, dtype)
        settings = preset_settings(checkpoint.settings, preset, **overrides)
        return cls(net, checkpoint.variables, settings, color=color, name=checkpoint.name,
                   fold_batchnorm=fold_batchnorm, crop_on_device=crop_on_device)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path | None = None, color: str = "bgr", dtype: str | None = None,
        fold_batchnorm: bool = True, crop_on_device: bool | None = None, preset: str | None = None,
        **overrides: Any
    ) -> Any:
        """A tracker from a named shipped model (default ``automatch-lite``) or a checkpoint folder; ``dtype``,
        ``fold_batchnorm``, ``crop_on_device``, ``preset`` and ``overrides`` as in :meth:`from_checkpoint`."""
        return cls.from_checkpoint(load_checkpoint(name_or_path), color=color, dtype=dtype,
                                   fold_batchnorm=fold_batchnorm, crop_on_device=crop_on_device, preset=preset,
                                   **overrides)

    @property
    def geometry(self) -> ScoreGeometry:
        """Crop sizes and where the score cells lie in the search crop (for targets of the normal size)."""
        return self.network.geometry

    @property
    def settings(self) -> TrackerSettings:
        """The inference settings (read at every call); assigning ones whose ``small_target_search`` the network
        cannot run at raises one :class:`~automatch_jax.errors.AutomatchError` line and keeps the old ones."""
        return self._settings

    @settings.setter
    def settings(self, settings: TrackerSettings) -> None:
        if settings.small_target_search:
            self._network_at(settings.small_target_search)
        self._settings = settings

    def _network_at(self, size: int) -> Network:
        """The network for ``size``-pixel search crops (:meth:`Network.at_search_size`, made once per size, like
        the compiled steps; every step passes ``self.network.params``, read at every call)."""
        if size == self.geometry.search_size:
            return self.network
        if size not in self._networks:
            try:
                self._networks[size] = self.network.at_search_size(size)
            except AutomatchError as exc:
                raise AutomatchError(f"small_target_search={size} cannot be used: {exc}; set small_target_search=0 "
                                     "to search every target at the network's own size") from None
        return self._networks[size]

    # ------------------------------------------------------------------------------------------------ steps
    def _template_fn(self, params: Any, z: jnp.ndarray, z_box: jnp.ndarray) -> Any:
        """(N, Ez, Ez, 3) exemplar crops (uint8 or float, the frames' channel order) -> the exemplar state."""
        return self.network.template(params, to_rgb(z, self.color).astype(jnp.float32), z_box)

    def _track_fn(self, params: Any, exemplar: Any, state: jnp.ndarray, crops: jnp.ndarray, windows: jnp.ndarray,
                  sizes: jnp.ndarray, s: TrackerSettings, size: int) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(N, size, size, 3) search crops cut at the (N, 3) ``windows`` -> the new (N, 5) state and the (N, 6)
        readout (state and score), with the network, score map and cosine window of ``size``-pixel crops."""
        net = self._network_at(size)
        scores, boxes, features = net.track(params, exemplar, to_rgb(crops, self.color).astype(jnp.float32))
        window = jnp.asarray(cosine_window(net.geometry.score_size), jnp.float32)
        windows = windows.astype(jnp.float32)
        box, rate, score = jax.vmap(lambda *a: choose(*a, s, size), in_axes=(0, 0, 0, None, 0))(
            scores, boxes, state, window, windows)
        if net.rescore is not None and s.zoom > 0:
            candidates = zoom_candidates(box, size)
            box = zoom(box, candidates, net.rescore(params, features, candidates), s.zoom)
        state = jax.vmap(lambda *a: place(*a, s, size))(box, rate, score, state, windows, sizes)
        return state, jnp.concatenate([state, score[:, None].astype(state.dtype)], axis=1)

    def _host_step_fn(self, params: Any, exemplar: Any, state: jnp.ndarray, crops: jnp.ndarray,
                      windows: jnp.ndarray, sizes: jnp.ndarray, s: TrackerSettings, size: int) -> tuple:
        """:meth:`_track_fn` on crops cut on the host at windows computed there."""
        return self._track_fn(params, exemplar, state, crops, windows, sizes, s, size)

    def _device_step_fn(self, params: Any, exemplar: Any, state: jnp.ndarray, frames: tuple, index: Any,
                        fills: jnp.ndarray, sizes: jnp.ndarray, s: TrackerSettings, size: int) -> tuple:
        """:meth:`_track_fn` with the windows computed and the crops cut here: ``frames`` K (H, W, 3) frames of one
        size, target ``n`` in ``frames[index[n]]`` (``index`` ``None`` when K = 1)."""
        windows = search_windows(state, s, self._network_at(size).geometry, jnp)
        source = frames[0] if index is None else jnp.stack(frames)
        cut = jax.vmap(lambda w, c, k: crop_jax(source, w, size, c, k), in_axes=(0, 0, None if index is None else 0))
        return self._track_fn(params, exemplar, state, cut(windows, fills, index), windows, sizes, s, size)

    # ------------------------------------------------------------------------------------------------ targets
    def _frames(self, frames: Any, count: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """The distinct validated frames (:func:`as_frame`) and each target's frame index: one frame shared by all
        ``count`` targets, or a sequence of ``count`` frames (repeats of one array count once)."""
        if isinstance(frames, np.ndarray):
            return (as_frame(frames, self.color),), np.zeros(count, np.int32)
        try:
            frames = list(frames)
        except TypeError:
            raise AutomatchError(f"frames must be a numpy array or a list of them, not {type(frames).__name__}") \
                from None
        if len(frames) != count:
            raise AutomatchError(f"{len(frames)} frames for {count} targets (give one frame, or one per target)")
        slots: dict[int, int] = {}
        index = np.array([slots.setdefault(id(f), len(slots)) for f in frames], np.int32)
        distinct = {id(f): f for f in frames}
        return tuple(as_frame(f, self.color) for f in distinct.values()), index

    @staticmethod
    def _sizes(frames: tuple[np.ndarray, ...], index: np.ndarray) -> np.ndarray:
        """(N, 2) ``width, height`` of each target's frame."""
        return np.array([[f.shape[1], f.shape[0]] for f in frames], np.float64)[index]

    def _start(self, frames: Any, boxes: np.ndarray) -> None:
        """Start tracking the (N, 4) ``boxes`` (:func:`as_boxes`) in ``frames`` (see :meth:`_frames`); each target's
        search crop size is chosen here (``small_target_search`` below ``small_target_area`` of its frame) and the
        targets are grouped by it (the exemplar crop and state do not depend on it)."""
        unique, index = self._frames(frames, len(boxes))
        sizes = self._sizes(unique, index)
        boxes = np.stack([check_box(box, int(w), int(h)) for box, (w, h) in zip(boxes, sizes, strict=True)])
        fills = np.array([f.reshape(-1, 3).mean(axis=0) for f in unique], np.float64)[index]
        targets = np.concatenate([xywh_to_cxcywh(boxes), np.zeros((len(boxes), 1))], axis=1)
        w, h = boxes[:, 2], boxes[:, 3]
        s, g = self.settings, self.geometry
        sides = context_side(w, h, s.context)
        crops, crop_boxes = [], []
        for k, (cx, cy, *_), side, box, fill in zip(index, targets, sides, boxes, fills, strict=True):
            window = CropWindow(float(cx), float(cy), float(side), g.exemplar_size)
            crops.append(crop(unique[k], window, fill, dtype=None))
            crop_boxes.append(window.to_crop(xywh_to_xyxy(box)))
        exemplar = self._template(self.network.params, np.stack(crops), np.asarray(crop_boxes, np.float32))
        small = s.small_target_search > 0 and w * h < s.small_target_area * sizes[:, 0] * sizes[:, 1]
        search = np.where(small, s.small_target_search, g.search_size)
        parts = [(int(size), np.flatnonzero(search == size)) for size in np.unique(search)]
        if len(parts) == 1:
            parts = [(parts[0][0], None)]  # one group of all N targets: nothing to gather or scatter

        def take(a: Any, members: np.ndarray | None) -> Any:
            return a if members is None else a[members]

        self._groups = [
            _Group(size, members, jax.tree_util.tree_map(lambda a: take(a, members), exemplar),  # noqa: B023
                   *jax.device_put([take(a.astype(np.float32), members) for a in (targets, fills, sizes)]))
            for size, members in parts]
        self._frame_sizes, self._fills = sizes, fills
        self._targets, self._scores = targets, np.ones(len(targets))

    def _advance(self, frames: Any) -> None:
        """Track every target into ``frames`` (as for :meth:`_start`); the state changes only if all goes well."""
        face = type(self).__name__
        if not self._groups:
            raise AutomatchError(f"{face}.update() called before {face}.init()")
        unique, index = self._frames(frames, len(self._targets))
        sizes = self._sizes(unique, index)
        changed = np.flatnonzero(np.any(sizes != self._frame_sizes, axis=1))
        if changed.size:
            n = changed[0]
            (w0, h0), (w1, h1) = self._frame_sizes[n].astype(int), sizes[n].astype(int)
            which = f" (target {n})" if len(sizes) > 1 else ""
            raise AutomatchError(f"frame size changed from {w0}x{h0} to {w1}x{h1}{which}")
        steps = [self._step(group, unique, index) for group in self._groups]  # all dispatched, then read back
        parts = [np.asarray(readout, np.float64) for _, readout in steps]  # one read-back per group
        readout = parts[0] if len(parts) == 1 else np.empty((len(self._targets), 6))
        for group, (state, _), part in zip(self._groups, steps, parts, strict=True):
            group.state = state
            if group.index is not None:
                readout[group.index] = part
        self._targets, self._scores = readout[:, :5], readout[:, 5]

    def _step(self, group: _Group, unique: tuple[np.ndarray, ...], index: np.ndarray) -> tuple:
        """Dispatches ``group``'s compiled step on the validated frames ``unique`` (target ``n`` in
        ``unique[index[n]]``): its new (M, 5) state and (M, 6) readout, on the device."""
        s, pick = self.settings, slice(None) if group.index is None else group.index
        if self.crop_on_device and len({f.shape for f in unique}) == 1:
            return self._device_step(self.network.params, group.exemplar, group.state, unique,
                                     None if len(unique) == 1 else index[pick], group.fills, group.sizes, s=s,
                                     size=group.size)
        g = self._network_at(group.size).geometry
        windows = search_windows(self._targets[pick], s, g)
        crops = np.stack([crop(unique[k], CropWindow(*window, g.search_size), fill, dtype=None)
                          for k, window, fill in zip(index[pick], windows.tolist(), self._fills[pick], strict=True)])
        return self._host_step(self.network.params, group.exemplar, group.state, crops, windows.astype(np.float32),
                               group.sizes, s=s, size=group.size)

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) current ``x, y, w, h`` (float64 pixels)."""
        return cxcywh_to_xywh(self._targets[:, :4])

    @property
    def search_sizes(self) -> np.ndarray:
        """(N,) side in pixels of each target's search crop, chosen at ``init`` (``small_target_search`` for a
        small target, the network's own size otherwise)."""
        sizes = np.empty(len(self._targets), int)
        for group in self._groups:
            sizes[slice(None) if group.index is None else group.index] = group.size
        return sizes

    @property
    def lost(self) -> np.ndarray:
        """(N,) frames since each target was last found (0 while it is followed)."""
        return self._targets[:, 4].astype(int)
