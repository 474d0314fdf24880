"""Training pairs (exemplar crop, search crop, boxes): the crop and augmentation pipeline, still-scene pairs
synthesised from real photos and real object cut-outs (video datasets and synthetic videos are further
:class:`PairSource` s, in :mod:`automatch_jax.data.pair_sources`), and :class:`PairLoader`, the grain pipeline that
draws them in worker processes.

Each pair is a pure function of ``(seed, index)``, so a batch is reproducible and a resumed run draws exactly the
batches it would have drawn. A positive pair pastes one cut-out (alpha-matted) twice into the same background,
with a change of position, scale, aspect, rotation and lighting between the two "frames", plus look-alike and
unrelated distractors and sometimes an occluder; the target box is the tight box of the object's pixels. A
negative pair (a share ``negative`` of them) takes its exemplar and search crops from two unrelated single frames
(``draw_frame``: other scenes, other objects). Crops follow SiamFC/Ocean: the
exemplar is the context window around the target resampled to 127 px; the search window is that side times
255/127, shifted and rescaled at random, so the target is not always in the centre.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import math
from collections.abc import Iterator
from typing import Any, Protocol

import cv2
import numpy as np

from automatch_jax.data.crop import CropWindow, context_side, crop
from automatch_jax.data.imagery import Imagery
from automatch_jax.errors import AutomatchError

SCENE = 480  # side of a synthetic scene in pixels


@dataclasses.dataclass(frozen=True)
class PairConfig:
    """How pairs are drawn. Sizes in pixels; jitters are log-uniform ranges or probabilities."""

    exemplar_size: int = 127
    search_size: int = 255
    context: float = 0.5
    target_min: float = 36.0  # sqrt(w * h) of the target in the scene
    target_max: float = 130.0
    motion: float = 0.25  # largest move of the target between frames, in target sizes... times 4
    scale_change: float = 0.25
    aspect_change: float = 0.15
    rotation: float = 12.0  # degrees between frames
    shift: float = 64.0  # largest offset of the target from the search-crop centre, in crop pixels
    scale_jitter: float = 0.18  # search-crop side jitter
    negative: float = 0.2
    frame_gap: int = 100  # largest distance in frames between exemplar and search frame (video sources)
    distractors: int = 3
    lookalike: float = 0.3
    occlusion: float = 0.2
    colour: float = 0.3
    blur: float = 0.15
    grey: float = 0.05
    flip: float = 0.5


def _rotation_scale(angle: float, sx: float, sy: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return np.array([[c * sx, -s * sy], [s * sx, c * sy]])


def paste(scene: np.ndarray, cutout: np.ndarray, centre: tuple[float, float], size: float, aspect: float,
          angle: float, gain: float) -> np.ndarray | None:
    """Alpha-composite ``cutout`` (BGRA) into ``scene`` (float32 BGR, in place) centred at ``centre`` with
    ``sqrt(w h) = size``; returns the ``x0, y0, x1, y1`` box of its visible pixels (None if none).

    Only the scene region the warped cut-out can reach is warped and blended (the image of the cut-out's rectangle,
    one pixel wider for the bilinear taps), not the whole scene."""
    h, w = cutout.shape[:2]
    base = size / math.sqrt(w * h)
    sx, sy = base * math.sqrt(aspect), base / math.sqrt(aspect)
    linear = _rotation_scale(angle, sx, sy)
    offset = np.array(centre) - linear @ np.array([(w - 1) / 2, (h - 1) / 2])
    corners = np.array([[-1, -1], [w, -1], [-1, h], [w, h]], np.float64) @ linear.T + offset
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, (scene.shape[1], scene.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return None
    matrix = np.hstack([linear, (offset - (x0, y0))[:, None]])
    warped = cv2.warpAffine(cutout, matrix, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR)
    alpha = warped[..., 3:].astype(np.float32) / 255
    colour = np.minimum(warped[..., :3].astype(np.float32) * np.float32(gain), 255)
    region = scene[y0:y1, x0:x1]
    region += alpha * (colour - region)
    ys, xs = np.nonzero(warped[..., 3] > 127)  # alpha > 0.5
    if len(xs) == 0:
        return None
    return np.array([xs.min() + x0, ys.min() + y0, xs.max() + x0 + 1, ys.max() + y0 + 1], np.float64)


def _scene_background(rng: np.random.Generator, imagery: Imagery) -> np.ndarray:
    image = imagery.backgrounds[rng.integers(len(imagery.backgrounds))]
    h, w = image.shape[:2]
    side = int(min(h, w) * rng.uniform(0.4, 1.0))
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    region = image[y : y + side, x : x + side]
    return cv2.resize(region, (SCENE, SCENE), interpolation=cv2.INTER_AREA).astype(np.float32)


def hue_shift(cutout: np.ndarray, rng: np.random.Generator, low: int = 20, high: int = 160) -> np.ndarray:
    """``cutout`` (BGRA) with its hue turned by a random amount in [low, high) of OpenCV's 180 hue steps."""
    hsv = cv2.cvtColor(np.ascontiguousarray(cutout[..., :3]), cv2.COLOR_BGR2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + rng.integers(low, high)) % 180
    return np.dstack([cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), cutout[..., 3]])


def _frame(rng: np.random.Generator, cfg: PairConfig, imagery: Imagery, background: np.ndarray, target: np.ndarray,
           centre: tuple[float, float], size: float, aspect: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    scene = background.copy()
    for _ in range(rng.integers(0, cfg.distractors + 1)):
        other = target if rng.uniform() < cfg.lookalike else imagery.cutouts[rng.integers(len(imagery.cutouts))]
        if other is target:
            other = hue_shift(target, rng) if rng.uniform() < 0.5 else target
        paste(scene, other, tuple(rng.uniform(0, SCENE, 2)), size * rng.uniform(0.6, 1.4), rng.uniform(0.7, 1.4),
              rng.uniform(-30, 30), rng.uniform(0.7, 1.3))
    box = paste(scene, target, centre, size, aspect, angle, rng.uniform(0.75, 1.25))
    if box is not None and rng.uniform() < cfg.occlusion:
        occluder = imagery.cutouts[rng.integers(len(imagery.cutouts))]
        w, h = box[2] - box[0], box[3] - box[1]
        spot = (rng.uniform(box[0], box[2]) + rng.normal(0, w / 3), rng.uniform(box[1], box[3]) + rng.normal(0, h / 3))
        paste(scene, occluder, spot, size * rng.uniform(0.4, 0.8), 1.0, rng.uniform(-45, 45), 1.0)
    return scene, box


def _photometric(rng: np.random.Generator, cfg: PairConfig, image: np.ndarray) -> np.ndarray:
    if rng.uniform() < cfg.colour:
        image = image * rng.uniform(0.8, 1.2, 3).astype(np.float32) + np.float32(rng.uniform(-20, 20))
    if rng.uniform() < cfg.blur:
        k = int(rng.choice([3, 5]))
        image = cv2.GaussianBlur(image, (k, k), 0)
    if rng.uniform() < cfg.grey:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)  # uint8 crops: a quarter of float32's host->device bytes


class PairSource(Protocol):
    """Where pairs come from: two frames of one object, or one frame of any object (for negative pairs).

    Images are (H, W, 3) BGR (uint8 or float32); boxes (4,) ``x0, y0, x1, y1`` in that image's pixels.
    ``draw_pair`` may return None for a draw to be redrawn (a target that ended up invisible). ``describe`` is a
    JSON-able summary of what the source draws from (kind, settings, a digest of its data), so that a resumed run
    can tell whether its data are those of the checkpoint (:meth:`PairLoader.check_state`).
    """

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None: ...

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None: ...

    def describe(self) -> dict[str, Any]: ...


def imagery_digest(imagery: Imagery) -> str:
    """A short hash of every background and cut-out (its shape and every 31st byte: ~0.05 s for the 180 MB of
    the full cache), for :meth:`PairSource.describe`."""
    digest = hashlib.blake2b(digest_size=8)
    for group in (imagery.backgrounds, imagery.cutouts):
        digest.update(str(len(group)).encode())
        for image in group:
            digest.update(str(image.shape).encode())
            digest.update(np.ascontiguousarray(image.reshape(-1)[::31]).data)
    return digest.hexdigest()


class SceneSource:
    """Pairs synthesised as still scenes: one cut-out pasted twice into one background (see the module doc)."""

    def __init__(self, imagery: Imagery):
        if not imagery.cutouts:
            raise ValueError("the imagery holds no object cut-outs; run `automatch fetch-imagery`")
        self.imagery = imagery

    def describe(self) -> dict[str, Any]:
        return {"kind": "synthetic", "backgrounds": len(self.imagery.backgrounds),
                "cutouts": len(self.imagery.cutouts), "imagery": imagery_digest(self.imagery)}

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None:
        imagery = self.imagery
        background = _scene_background(rng, imagery)
        target = imagery.cutouts[rng.integers(len(imagery.cutouts))]
        size = math.exp(rng.uniform(math.log(cfg.target_min), math.log(cfg.target_max)))
        aspect = math.exp(rng.uniform(-0.4, 0.4))
        angle = rng.uniform(-20, 20)
        margin = size
        c1 = tuple(rng.uniform(margin, SCENE - margin, 2))
        z_scene, z_box = _frame(rng, cfg, imagery, background, target, c1, size, aspect, angle)
        move = rng.normal(0, cfg.motion * size, 2)
        c2 = tuple(np.clip(np.array(c1) + move, margin / 2, SCENE - margin / 2))
        size2 = size * math.exp(rng.uniform(-cfg.scale_change, cfg.scale_change))
        aspect2 = aspect * math.exp(rng.uniform(-cfg.aspect_change, cfg.aspect_change))
        shifted = np.roll(background, tuple(rng.integers(-8, 9, 2)), axis=(0, 1))  # a little camera motion
        x_scene, x_box = _frame(rng, cfg, imagery, shifted, target, c2, size2, aspect2,
                                angle + rng.uniform(-cfg.rotation, cfg.rotation))
        if z_box is None or x_box is None:
            return None
        return z_scene, z_box, x_scene, x_box

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None:
        imagery = self.imagery
        other = imagery.cutouts[rng.integers(len(imagery.cutouts))]
        size = math.exp(rng.uniform(math.log(cfg.target_min), math.log(cfg.target_max)))
        centre = tuple(rng.uniform(size, SCENE - size, 2))
        scene, box = _frame(rng, cfg, imagery, _scene_background(rng, imagery), other, centre, size,
                            math.exp(rng.uniform(-0.4, 0.4)), 0.0)
        return None if box is None else (scene, box)


def sample_pair(seed: int, index: int, source: PairSource | Imagery, cfg: PairConfig) -> dict[str, np.ndarray]:
    """One pair: ``z`` (127, 127, 3) and ``x`` (255, 255, 3) uint8 RGB, ``z_box`` and ``x_box`` (4,) ``x0, y0, x1,
    y1`` in crop coordinates, ``positive`` 1.0 or 0.0. ``source`` may be plain imagery (synthetic scenes) or any
    :class:`PairSource`."""
    if isinstance(source, Imagery):
        source = SceneSource(source)
    rng = np.random.default_rng([seed, index])
    for _ in range(20):  # redraw the rare pair whose target ends up invisible
        pair = _draw(rng, source, cfg)
        if pair is not None:
            return pair
    raise RuntimeError("could not draw a visible target in 20 tries; check the imagery")


def _usable(box: np.ndarray | None) -> bool:
    return box is not None and bool(np.all(np.isfinite(box))) and min(box[2:] - box[:2]) >= 4


def _draw(rng: np.random.Generator, source: PairSource, cfg: PairConfig) -> dict[str, np.ndarray] | None:
    positive = rng.uniform() >= cfg.negative
    if positive:
        drawn = source.draw_pair(rng, cfg)
    else:  # exemplar and search crop from two unrelated draws (scene and object)
        z, x = source.draw_frame(rng, cfg), source.draw_frame(rng, cfg)
        drawn = None if z is None or x is None else (*z, *x)
    if drawn is None:
        return None
    z_scene, z_box, x_scene, x_box = drawn
    if not (_usable(z_box) and _usable(x_box)):
        return None
    return make_pair(rng, cfg, z_scene, z_box, x_scene, x_box, positive)


def _crop(frame: np.ndarray, window: CropWindow) -> np.ndarray:
    """:func:`~automatch_jax.data.crop.crop` (float32, padded with the frame's mean colour) that converts only the
    part of ``frame`` (H, W, 3) the window samples, not the whole frame."""
    m = window.affine()  # crop pixel centres sample frame pixel-centre coordinates m[:, 2] .. + m[0, 0] (out - 1)
    reach = m[0, 0] * (window.out - 1)
    x0, y0 = (max(math.floor(m[i, 2]) - 1, 0) for i in (0, 1))
    x1 = min(math.floor(m[0, 2] + reach) + 3, frame.shape[1])
    y1 = min(math.floor(m[1, 2] + reach) + 3, frame.shape[0])
    fill = np.array(cv2.mean(frame)[:3])
    if x1 <= x0 or y1 <= y0:  # the window lies outside the frame
        return np.broadcast_to(fill.astype(np.float32), (window.out, window.out, 3)).copy()
    region = frame[y0:y1, x0:x1].astype(np.float32)
    return crop(region, dataclasses.replace(window, cx=window.cx - x0, cy=window.cy - y0), fill)


def make_pair(rng: np.random.Generator, cfg: PairConfig, z_scene: np.ndarray, z_box: np.ndarray,
              x_scene: np.ndarray, x_box: np.ndarray, positive: bool) -> dict[str, np.ndarray]:
    """Exemplar and search crops of two BGR frames around their boxes (``x0, y0, x1, y1``), augmented."""
    zw, zh = z_box[2] - z_box[0], z_box[3] - z_box[1]
    z_window = CropWindow((z_box[0] + z_box[2]) / 2, (z_box[1] + z_box[3]) / 2, context_side(zw, zh, cfg.context),
                          cfg.exemplar_size)
    xw, xh = x_box[2] - x_box[0], x_box[3] - x_box[1]
    side = context_side(xw, xh, cfg.context) * cfg.search_size / cfg.exemplar_size
    side *= math.exp(rng.uniform(-cfg.scale_jitter, cfg.scale_jitter))
    shift = rng.uniform(-cfg.shift, cfg.shift, 2) * side / cfg.search_size
    x_window = CropWindow((x_box[0] + x_box[2]) / 2 + shift[0], (x_box[1] + x_box[3]) / 2 + shift[1], side,
                          cfg.search_size)
    z = _photometric(rng, cfg, _crop(z_scene, z_window))
    x = _photometric(rng, cfg, _crop(x_scene, x_window))
    z_crop_box, x_crop_box = z_window.to_crop(z_box), x_window.to_crop(x_box)
    if rng.uniform() < cfg.flip:  # the same flip for both crops keeps the pair consistent
        z, x = z[:, ::-1], x[:, ::-1]
        z_crop_box = np.array([cfg.exemplar_size - 1 - z_crop_box[2], z_crop_box[1],
                               cfg.exemplar_size - 1 - z_crop_box[0], z_crop_box[3]])
        x_crop_box = np.array([cfg.search_size - 1 - x_crop_box[2], x_crop_box[1],
                               cfg.search_size - 1 - x_crop_box[0], x_crop_box[3]])
    return {
        "z": np.ascontiguousarray(z[..., ::-1]),  # BGR scenes -> RGB crops
        "x": np.ascontiguousarray(x[..., ::-1]),
        "z_box": z_crop_box.astype(np.float32),
        "x_box": x_crop_box.astype(np.float32),
        "positive": np.float32(positive),
    }


STATE_FORMAT = "automatch-pair-stream"
STATE_VERSION = 1
UNBOUNDED = 2**40  # the last step of ``iterate(start, None)``


class DrawPair:
    """The grain map transform of :class:`PairLoader`: global pair index -> :func:`sample_pair` ``(seed, index)``."""

    def __init__(self, source: PairSource, cfg: PairConfig, seed: int):
        self.source, self.cfg, self.seed = source, cfg, seed

    def __call__(self, index: int) -> dict[str, np.ndarray]:
        return sample_pair(self.seed, int(index), self.source, self.cfg)


def _init_worker(worker: int, workers: int) -> None:
    """In each worker process: one OpenCV thread (the workers are the parallelism) and no accelerator for JAX."""
    import jax

    cv2.setNumThreads(1)
    jax.config.update("jax_platforms", "cpu")


def _mark_flags_parsed() -> None:
    """grain 0.2.18's ``mp_prefetch`` reads one of its absl flags, which fails outside ``absl.app`` unless absl's
    flags count as parsed (google/grain#1355); mark them so, keeping every default (argparse parses ours)."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


class PairLoader:
    """Batches of pairs drawn by a grain pipeline in ``workers`` processes, prefetched in order.

    Global batch ``step`` holds pairs ``sample_pair(seed, step * G + i)``, ``i < G = batch_size * process_count``;
    process ``process_index`` draws its share ``i`` in ``[process_index * batch_size, (process_index + 1) *
    batch_size)``. So a batch is a pure function of ``(seed, step)``: the same whatever the number of workers
    (0 draws in this process) and, for one global batch size, whatever the number of processes; a resumed run
    draws exactly the batches it would have drawn.

    The pipeline is grain's: ``MapDataset.range`` of global pair indices, :class:`DrawPair` as a map transform,
    ``batch(batch_size)``, this process's slice ``[process_index::process_count]``, and ``mp_prefetch`` over
    ``workers`` spawned processes (each holds its own copy of ``source``). Grain's own iterator state records
    per-worker positions; since the step alone positions the stream, :meth:`state` is ``(seed, step, shard,
    batch, fingerprint)`` instead, which stays valid when a resumed run changes its workers or processes.
    """

    def __init__(self, source: PairSource | Imagery, cfg: PairConfig, batch_size: int, seed: int, workers: int = 2,
                 process_index: int = 0, process_count: int = 1, prefetch: int = 2):
        if batch_size < 1 or workers < 0 or prefetch < 1:
            raise AutomatchError(f"pair loader: batch_size {batch_size} must be >= 1, workers {workers} >= 0 and "
                                 f"prefetch {prefetch} >= 1")
        if not 0 <= process_index < process_count:
            raise AutomatchError(f"pair loader: process_index {process_index} is not in [0, {process_count})")
        self.source = SceneSource(source) if isinstance(source, Imagery) else source
        self.cfg, self.batch_size, self.seed, self.workers, self.prefetch = cfg, batch_size, seed, workers, prefetch
        self.process_index, self.process_count = process_index, process_count
        self._open: list = []  # grain iterators of unfinished ``iterate`` calls, closed by ``close``
        self._settings: dict[str, Any] | None = None

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.process_count

    def dataset(self, start: int, stop: int):
        """The grain ``MapDataset`` of this process's batches ``start .. stop - 1`` (lazy: nothing is drawn)."""
        import grain

        pairs = grain.MapDataset.range(start * self.global_batch, stop * self.global_batch)
        batches = pairs.map(DrawPair(self.source, self.cfg, self.seed)).batch(self.batch_size)
        return batches[self.process_index :: self.process_count]

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """This process's part of global batch ``step``, drawn here: ``z`` (B, E, E, 3), ``x`` (B, S, S, 3) uint8
        RGB, ``z_box``, ``x_box`` (B, 4) crop ``x0, y0, x1, y1``, ``positive`` (B,) 1.0 or 0.0."""
        return self.dataset(step, step + 1)[0]

    def iterate(self, start: int, stop: int | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """``(step, batch)`` for ``start <= step < stop`` (no end when None), each :meth:`batch` ``(step)``, drawn
        ahead by the worker processes (``prefetch`` batches each)."""
        import grain

        stop = UNBOUNDED if stop is None else stop
        if stop <= start:
            return
        stream = self.dataset(start, stop).to_iter_dataset(grain.ReadOptions(num_threads=0))
        if self.workers:
            _mark_flags_parsed()
            stream = stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=self.workers,
                                                                     per_worker_buffer_size=self.prefetch),
                                        worker_init_fn=_init_worker)
        iterator = iter(stream)
        self._open.append(iterator)
        try:
            for step, batch in zip(range(start, stop), iterator, strict=True):
                # out of grain's shared memory into ordinary arrays (~3 ms for 31 MB), so that no shared-memory
                # block outlives its step (and none is left for the resource tracker at exit)
                yield step, {key: np.array(value) for key, value in batch.items()} if self.workers else batch
        finally:
            if iterator in self._open:  # not yet closed by ``close``
                self._open.remove(iterator)
                iterator.close()
            del iterator
            gc.collect()  # grain's iterators hold their last shared-memory blocks in reference cycles

    def close(self) -> None:
        """Stops the worker processes of every unfinished :meth:`iterate` (and waits for them to exit)."""
        while self._open:
            self._open.pop().close()
        gc.collect()

    def settings(self) -> dict[str, Any]:
        """What the stream depends on besides the step: seed, global batch, pair settings, the source's summary."""
        if self._settings is None:
            self._settings = {"seed": self.seed, "global_batch": self.global_batch,
                              "pairs": dataclasses.asdict(self.cfg), "source": self.source.describe()}
        return self._settings

    def state(self, step: int) -> dict[str, Any]:
        """JSON-able state of the stream after ``step`` batches (the next batch drawn is batch ``step``), to save
        beside the model and pass to :meth:`check_state` on restore."""
        settings = self.settings()
        fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        return {"format": STATE_FORMAT, "version": STATE_VERSION, "step": int(step),
                "process_index": self.process_index, "process_count": self.process_count,
                "local_batch": self.batch_size, **settings, "fingerprint": fingerprint}

    def check_state(self, state: dict[str, Any]) -> int:
        """Raises :class:`AutomatchError` (one line naming the first difference) unless ``state`` (from
        :meth:`state`) describes this loader's stream; returns its step. Workers and the number of processes may
        differ: they do not change the batches."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise AutomatchError("the checkpoint's data state is not a pair-stream state; train into a new --out")
        if state.get("version") != STATE_VERSION:
            raise AutomatchError(f"the checkpoint's data state has version {state.get('version')}, this version "
                                 f"reads {STATE_VERSION}; train into a new --out")
        difference = _first_difference(state, self.state(int(state.get("step", 0))), skip={"step", "process_index",
                                                                                            "process_count",
                                                                                            "local_batch"})
        if difference:
            raise AutomatchError(f"the resumed run's data differ from the checkpoint's: {difference}; resume with the "
                                 "checkpoint's data settings or train into a new --out")
        return int(state["step"])


def _first_difference(saved: Any, now: Any, path: str = "", skip: frozenset | set = frozenset()) -> str | None:
    """``"key: saved (checkpoint) != now (this run)"`` for the first differing entry of two JSON-like values."""
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in sorted(set(saved) | set(now), key=str):
            if key in skip or key == "fingerprint":
                continue
            found = _first_difference(saved.get(key), now.get(key), f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(saved, list | tuple) and isinstance(now, list | tuple) and len(saved) == len(now):
        for i, (a, b) in enumerate(zip(saved, now, strict=True)):
            found = _first_difference(a, b, f"{path}{i}.")
            if found:
                return found
        return None
    return None if saved == now else f"{path.rstrip('.')} {saved!r} (checkpoint) != {now!r} (this run)"
