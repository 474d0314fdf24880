"""Training pairs (exemplar crop, search crop, boxes): the crop and augmentation pipeline, and still-scene pairs
synthesised from real photos and real object cut-outs (video datasets and synthetic videos are further
:class:`PairSource` s, in :mod:`automatch_jax.data.pair_sources`).

Each pair is a pure function of ``(seed, index)``, so a batch is reproducible and a resumed run draws exactly the
batches it would have drawn. A positive pair pastes one cut-out (alpha-matted) twice into the same background,
with a change of position, scale, aspect, rotation and lighting between the two "frames", plus look-alike and
unrelated distractors and sometimes an occluder; the target box is the tight box of the object's pixels. A
negative pair (``negative`` of them) takes the search crop from another scene. Crops follow SiamFC/Ocean: the
exemplar is the context window around the target resampled to 127 px; the search window is that side times
255/127, shifted and rescaled at random, so the target is not always in the centre.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import cv2
import numpy as np

from automatch_jax.data.crop import CropWindow, context_side, crop
from automatch_jax.data.imagery import Imagery

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
    ``sqrt(w h) = size``; returns the ``x0, y0, x1, y1`` box of its visible pixels (None if none)."""
    h, w = cutout.shape[:2]
    base = size / math.sqrt(w * h)
    sx, sy = base * math.sqrt(aspect), base / math.sqrt(aspect)
    linear = _rotation_scale(angle, sx, sy)
    offset = np.array(centre) - linear @ np.array([(w - 1) / 2, (h - 1) / 2])
    matrix = np.hstack([linear, offset[:, None]])
    dsize = (scene.shape[1], scene.shape[0])
    colour = cv2.warpAffine(cutout[..., :3], matrix, dsize, flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpAffine(cutout[..., 3], matrix, dsize, flags=cv2.INTER_LINEAR).astype(np.float32)[..., None] / 255
    scene *= 1 - alpha
    scene += alpha * np.clip(colour * gain, 0, 255)
    ys, xs = np.nonzero(alpha[..., 0] > 0.5)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)


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
        image = image * rng.uniform(0.8, 1.2, 3)[None, None, :] + rng.uniform(-20, 20)
    if rng.uniform() < cfg.blur:
        k = int(rng.choice([3, 5]))
        image = cv2.GaussianBlur(image, (k, k), 0)
    if rng.uniform() < cfg.grey:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(image, 0, 255).astype(np.float32)


class PairSource(Protocol):
    """Where pairs come from: two frames of one object, or one frame of any object (for negative pairs).

    Images are (H, W, 3) BGR (uint8 or float32); boxes (4,) ``x0, y0, x1, y1`` in that image's pixels.
    ``draw_pair`` may return None for a draw to be redrawn (a target that ended up invisible).
    """

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None: ...

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None: ...


class SceneSource:
    """Pairs synthesised as still scenes: one cut-out pasted twice into one background (see the module doc)."""

    def __init__(self, imagery: Imagery):
        if not imagery.cutouts:
            raise ValueError("the imagery holds no object cut-outs; run `automatch fetch-imagery`")
        self.imagery = imagery

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
    """One pair: ``z`` (127, 127, 3) and ``x`` (255, 255, 3) float32 RGB in [0, 255], ``z_box`` and ``x_box``
    (4,) ``x0, y0, x1, y1`` in crop coordinates, ``positive`` 1.0 or 0.0. ``source`` may be plain imagery
    (synthetic scenes) or any :class:`PairSource`."""
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
    drawn = source.draw_pair(rng, cfg)
    if drawn is None:
        return None
    z_scene, z_box, x_scene, x_box = drawn
    if not (_usable(z_box) and _usable(x_box)):
        return None
    positive = rng.uniform() >= cfg.negative
    if not positive:  # the search crop comes from an unrelated scene and object
        other = source.draw_frame(rng, cfg)
        if other is None or not _usable(other[1]):
            return None
        x_scene, x_box = other
    return make_pair(rng, cfg, z_scene, z_box, x_scene, x_box, positive)


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
    z = _photometric(rng, cfg, crop(z_scene.astype(np.float32, copy=False), z_window))
    x = _photometric(rng, cfg, crop(x_scene.astype(np.float32, copy=False), x_window))
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


class PairLoader:
    """Batches of pairs drawn by a pool of worker threads (OpenCV releases the GIL), prefetched in order.

    ``batch(step)`` is a pure function of ``(seed, step)``: sample ``i`` of batch ``step`` is
    ``sample_pair(seed, (step * streams + stream) * batch_size + i)``, so resuming at a step reproduces the same
    data, and each of ``streams`` hosts (``stream`` = its process index) draws its own part of the global batch.
    """

    def __init__(self, source: PairSource | Imagery, cfg: PairConfig, batch_size: int, seed: int, workers: int = 2,
                 stream: int = 0, streams: int = 1):
        self.source = SceneSource(source) if isinstance(source, Imagery) else source
        self.cfg, self.batch_size, self.seed = cfg, batch_size, seed
        self.stream, self.streams = stream, streams
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers))

    def batch(self, step: int) -> dict[str, np.ndarray]:
        first = (step * self.streams + self.stream) * self.batch_size
        indices = range(first, first + self.batch_size)
        pairs = list(self._pool.map(lambda i: sample_pair(self.seed, i, self.source, self.cfg), indices))
        return {k: np.stack([p[k] for p in pairs]) for k in pairs[0]}

    def iterate(self, start: int, stop: int | None = None, prefetch: int = 2) -> Iterator[tuple[int, dict]]:
        """``(step, batch)`` from ``start`` on, with ``prefetch`` batches drawn ahead."""
        import collections

        with ThreadPoolExecutor(max_workers=1) as ahead:
            queue: collections.deque = collections.deque()
            step = start
            while stop is None or step < stop:
                while len(queue) < prefetch and (stop is None or step + len(queue) < stop):
                    queue.append(ahead.submit(self.batch, step + len(queue)))
                yield step, queue.popleft().result()
                step += 1

    def close(self) -> None:
        self._pool.shutdown(wait=False)
