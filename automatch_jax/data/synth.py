"""Synthetic tracking sequences from real imagery, with controllable OTB attributes and exact boxes.

A sequence is a real object cut-out (with alpha) moving over a real photo along a smooth random path. Every
random choice is drawn once from the seed, so frame ``t`` is a pure function of ``(seed, t)``: the benchmark writer
(``automatch synth``) and the training-pair sampler render frames from the same generator.

How each of OTB's 11 attributes is produced (and, where OTB defines it by a threshold, guaranteed):

==== ======================================================================================================
IV   the light on the scene changes: a global gain sweeping over [0.35, 1.6] and a moving spotlight
SV   the target's size changes smoothly until sqrt(area) is outside [1/2, 2] times the first frame's (OTB: ts = 2)
OCC  another cut-out, larger than the target, crosses in front of it (the box keeps the whole object)
DEF  the cut-out is warped by a time-varying sinusoidal displacement field and its aspect ratio breathes
MB   stretches of frames are blurred by a linear motion kernel (9-21 px) along a random direction
FM   bursts in which the target moves more than 20 px per frame (OTB: tm = 20)
IPR  the target turns steadily in the image plane (at least 90 degrees over the sequence)
OPR  approximated: the target's width follows |cos(phi)| as it turns about its vertical axis, mirrored past 90
OV   the path carries the target partly out of the frame (up to 70 % of its width); the box is the visible part
BC   look-alike distractors (the same cut-out, some hue-shifted) move near the target
LR   the target is small: its box has fewer than 400 pixels (OTB: tr = 400)
==== ======================================================================================================

Without an attribute the corresponding effect is kept mild (e.g. speed under 8 px/frame, size within [0.8, 1.25]
of the first frame, width above 30 px) and the thresholded attributes are measured on the rendered boxes
(:func:`measured_attributes`) and added to the labels when they occur anyway, so labels never under-report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.otb import write_attributes
from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.data.pairs import hue_shift, paste
from automatch_jax.errors import AutomatchError


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Frame size, length and how strong the effects are."""

    width: int = 480
    height: int = 360
    frames: int = 100
    speed: float = 3.0  # typical target speed in px/frame
    jpeg_quality: int = 92


def _smooth_curve(rng: np.random.Generator, n_terms: int = 3) -> Callable[[np.ndarray], np.ndarray]:
    """A random smooth function of time with values in about [-1, 1] (a sum of sinusoids)."""
    freqs = rng.uniform(0.5, 2.5, n_terms) * 2 * math.pi
    phases = rng.uniform(0, 2 * math.pi, n_terms)
    weights = rng.dirichlet(np.ones(n_terms))

    def curve(u: np.ndarray) -> np.ndarray:  # u in [0, 1]: fraction of the sequence
        return np.sum(weights[:, None] * np.sin(freqs[:, None] * np.atleast_1d(u)[None] + phases[:, None]), axis=0)

    return curve


def _bump(u: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A raised-cosine window of ``width`` (fraction of the sequence) around ``centre``: 0..1."""
    d = np.clip(np.abs(np.atleast_1d(u) - centre) / (width / 2), 0, 1)
    return 0.5 * (1 + np.cos(math.pi * d))


class SyntheticSequence:
    """One synthetic video; ``render(t)`` returns the frame (H, W, 3) BGR uint8 and the box (4,) ``x, y, w, h``
    (0-based pixels, float) of the target's visible pixels.

    Args:
      imagery: backgrounds and cut-outs (:class:`automatch_jax.data.imagery.Imagery`).
      attributes: OTB attribute names to produce (any subset of ``ATTRIBUTES``).
      seed: every random choice follows from it.
      cfg: frame size, length, typical speed.
    """

    def __init__(self, imagery: Imagery, attributes: tuple[str, ...] | list[str], seed: int,
                 cfg: SynthConfig = SynthConfig()):
        unknown = [a for a in attributes if a not in ATTRIBUTES]
        if unknown:
            raise AutomatchError(f"unknown attribute {unknown[0]!r}; known: {', '.join(ATTRIBUTES)}")
        if not imagery.cutouts:
            raise AutomatchError("the imagery holds no object cut-outs; run `automatch fetch-imagery`")
        self.attributes = tuple(a for a in ATTRIBUTES if a in set(attributes))
        self.cfg, self.seed = cfg, seed
        self.rng = rng = np.random.default_rng([seed, 0x5EED])
        has = set(self.attributes).__contains__
        w, h, n = cfg.width, cfg.height, cfg.frames
        self.u = np.linspace(0, 1, n)

        # background: a region a little larger than the frame, panned slowly (camera motion)
        image = imagery.backgrounds[rng.integers(len(imagery.backgrounds))]
        scale = max(1.15 * w / image.shape[1], 1.15 * h / image.shape[0], 1e-6)
        scale = max(scale, min(1.0, 1.6 * w / image.shape[1]))
        big = cv2.resize(image, (max(int(image.shape[1] * scale), w + 2), max(int(image.shape[0] * scale), h + 2)),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        self.background = big
        pan_x, pan_y = _smooth_curve(rng, 2), _smooth_curve(rng, 2)
        span_x, span_y = (big.shape[1] - w) / 2, (big.shape[0] - h) / 2
        self.pan = np.stack([span_x * (1 + 0.8 * pan_x(self.u)), span_y * (1 + 0.8 * pan_y(self.u))], axis=1)

        # target, its size and shape over time
        self.target = _pick_target(imagery, rng)
        size0 = rng.uniform(13, 17.5) if has("LR") else max(rng.uniform(0.09, 0.2) * math.sqrt(w * h), 30.0)
        if has("SV"):
            direction = -1 if (size0 > 0.16 * math.sqrt(w * h) or (not has("LR") and rng.uniform() < 0.4)) else 1
            ramp = np.clip((self.u - rng.uniform(0.1, 0.3)) / rng.uniform(0.3, 0.5), 0, 1)
            log_scale = direction * math.log(rng.uniform(2.3, 3.0)) * (3 * ramp**2 - 2 * ramp**3)
        else:
            log_scale = math.log(1.2) * 0.9 * (_smooth_curve(rng)(self.u) - _smooth_curve(rng)(0.0))
            log_scale = np.clip(log_scale, math.log(0.82), math.log(1.22))
        self.size = size0 * np.exp(log_scale)
        self.aspect = math.exp(rng.uniform(-0.3, 0.3)) * (
            np.exp(0.25 * np.sin(2 * math.pi * rng.uniform(2, 4) * self.u)) if has("DEF") else np.ones(n))
        self.angle = (rng.uniform(-10, 10) + (rng.choice([-1, 1]) * rng.uniform(100, 300) * self.u if has("IPR")
                                              else 6 * _smooth_curve(rng)(self.u)))
        self.turn = (np.radians(rng.uniform(120, 200)) * (0.5 - 0.5 * np.cos(2 * math.pi * self.u * rng.uniform(1, 2)))
                     if has("OPR") else np.zeros(n))
        self.deform_phase = rng.uniform(0, 2 * math.pi, 2)
        self.gain = rng.uniform(0.85, 1.15)

        # path: a smooth random curve at the typical speed, with dashes of more than 20 px/frame (FM)
        cx, cy = _smooth_curve(rng), _smooth_curve(rng)
        margin = 0.75 * self.size.max() + 4
        amp = np.array([max(w / 2 - margin, 1.0), max(h / 2 - margin, 1.0)])

        def curve(k: float) -> np.ndarray:
            return np.stack([amp[0] * cx(self.u * k), amp[1] * cy(self.u * k)], axis=1)

        speed = np.median(np.linalg.norm(np.diff(curve(1.0), axis=0), axis=1)) if n > 1 else 0.0
        offsets = curve(min(1.0, cfg.speed / speed) if speed > 0 else 1.0)
        if has("FM"):
            frames = np.arange(n)
            for _ in range(rng.integers(2, 4)):
                start, length = rng.integers(int(0.1 * n), max(int(0.85 * n), int(0.1 * n) + 1)), rng.integers(3, 7)
                heading = rng.uniform(0, 2 * math.pi)
                offsets = offsets + np.outer(np.clip(frames - start, 0, length),
                                             rng.uniform(26, 34) * np.array([math.cos(heading), math.sin(heading)]))
        path = np.array([w / 2, h / 2]) + _fold(offsets, amp)
        if has("OV"):
            side = rng.integers(4)
            when, width = rng.uniform(0.4, 0.7), rng.uniform(0.4, 0.6)
            reach = rng.uniform(0.45, 0.7)  # fraction of the target's width outside the frame at the peak
            axis = 0 if side < 2 else 1
            edge = (w, h)[axis] if side % 2 else 0.0
            target_pos = edge + (1 if side % 2 else -1) * (reach - 0.5) * self.size.max()
            bump = _bump(self.u, when, width)
            path[:, axis] = path[:, axis] * (1 - bump) + target_pos * bump
        self.path = path

        # occluder crossing the target
        self.occluder = None
        if has("OCC"):
            self.occluder = imagery.cutouts[rng.integers(len(imagery.cutouts))]
            self.occ_when, self.occ_width = rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
            self.occ_dir = rng.uniform(0, 2 * math.pi)
            self.occ_scale = rng.uniform(1.1, 1.6)

        # distractors: look-alikes (BC) or a few unrelated objects
        self.distractors = []
        count = rng.integers(2, 5) if has("BC") else rng.integers(0, 3)
        for _ in range(count):
            if has("BC"):
                cut = self.target if rng.uniform() < 0.5 else hue_shift(self.target, rng, 15, 50)
                offset = rng.normal(0, 1.5, 2)
                follow = True
            else:
                cut = imagery.cutouts[rng.integers(len(imagery.cutouts))]
                offset = rng.uniform(-1, 1, 2) * np.array([w, h]) / 2
                follow = False
            px, py = _smooth_curve(rng), _smooth_curve(rng)
            self.distractors.append((cut, offset, follow, px, py, rng.uniform(0.8, 1.2), rng.uniform(-20, 20)))

        # illumination and blur
        self.light = (0.975 + 0.625 * _smooth_curve(rng, 2)(self.u * 1.5)) if has("IV") else (
            1 + 0.05 * _smooth_curve(rng)(self.u))
        self.spot = (rng.uniform(0, 1, 2), rng.uniform(-1, 1, 2), rng.uniform(0.15, 0.3)) if has("IV") else None
        self.blur = np.zeros(n)
        self.blur_angle = np.zeros(n)
        if has("MB"):
            for _ in range(rng.integers(2, 4)):
                bump = _bump(self.u, rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.2))
                self.blur = np.maximum(self.blur, bump * rng.uniform(9, 21))
            self.blur_angle[:] = rng.uniform(0, 180)

    def __len__(self) -> int:
        return self.cfg.frames

    def _target_image(self, t: int) -> np.ndarray:
        cut = self.target
        if "DEF" in self.attributes:
            h, w = cut.shape[:2]
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            phase = self.deform_phase + 2 * math.pi * 3 * self.u[t]
            dx = 0.08 * w * np.sin(2 * math.pi * ys / h + phase[0])
            dy = 0.06 * h * np.sin(2 * math.pi * xs / w + phase[1])
            cut = cv2.remap(cut, xs + dx.astype(np.float32), ys + dy.astype(np.float32), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.turn[t] != 0:
            c = math.cos(self.turn[t])
            width = max(round(cut.shape[1] * max(abs(c), 0.25)), 2)
            cut = cv2.resize(cut, (width, cut.shape[0]), interpolation=cv2.INTER_AREA)
            if c < 0:  # the other side: mirrored and a little darker
                cut = cut[:, ::-1].copy()
                cut[..., :3] = (cut[..., :3] * 0.8).astype(np.uint8)
        return cut

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``t`` (0-based): (H, W, 3) BGR uint8 and its box ``x, y, w, h`` (0-based, float64)."""
        cfg = self.cfg
        w, h = cfg.width, cfg.height
        x0, y0 = self.pan[t].astype(int)
        scene = self.background[y0 : y0 + h, x0 : x0 + w].astype(np.float32).copy()
        centre = self.path[t]
        for cut, offset, follow, px, py, scale, angle in self.distractors:
            if follow:  # look-alikes wander around the target
                at = centre + self.size[t] * (offset + 0.8 * np.array([px(self.u[t])[0], py(self.u[t])[0]]))
            else:
                at = np.array([w / 2, h / 2]) + offset + 40 * np.array([px(self.u[t])[0], py(self.u[t])[0]])
            paste(scene, cut, tuple(at), self.size[t] * scale, 1.0, angle, 1.0)
        cut = self._target_image(t)
        box = paste(scene, cut, tuple(centre), self.size[t], self.aspect[t], self.angle[t], self.gain)
        if self.occluder is not None:
            progress = (self.u[t] - self.occ_when) / self.occ_width  # -0.5..0.5 while crossing
            if abs(progress) < 0.75:
                direction = np.array([math.cos(self.occ_dir), math.sin(self.occ_dir)])
                at = centre + direction * progress * 2.2 * self.size[t] * self.occ_scale
                paste(scene, self.occluder, tuple(at), self.size[t] * self.occ_scale, 1.0, 0.0, 1.0)
        light = self.light[t]
        if self.spot is not None:
            start, move, radius = self.spot
            spot = (start + move * self.u[t]) * np.array([w, h])
            yy, xx = np.mgrid[0:h, 0:w]
            dist2 = ((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (radius * max(w, h)) ** 2
            scene *= (light * (0.7 + 0.6 * np.exp(-dist2)))[..., None].astype(np.float32)
        else:
            scene *= light
        if self.blur[t] >= 3:
            scene = _motion_blur(scene, self.blur[t], self.blur_angle[t])
        noise = np.random.default_rng([self.seed, t]).normal(0, 2.0, scene.shape).astype(np.float32)
        frame = np.clip(scene + noise, 0, 255).astype(np.uint8)
        if box is None:  # rare: the path keeps >= 30 % of the target in view, but a cut-out may paste to no pixel
            raise TargetInvisible(f"synthetic sequence {self.seed}: target invisible in frame {t}")
        return frame, np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]], np.float64)


class TargetInvisible(RuntimeError):
    """A rendered frame whose target covers no pixel (training sources redraw; a benchmark writer stops)."""


def _pick_target(imagery: Imagery, rng: np.random.Generator) -> np.ndarray:
    """A cut-out whose visible part is not a sliver (aspect within 1:3 and filling a quarter of its box), so that
    the target's size follows the requested one; any cut-out after 30 tries."""
    for _ in range(30):
        cut = imagery.cutouts[rng.integers(len(imagery.cutouts))]
        ys, xs = np.nonzero(cut[..., 3] > 127)
        if len(xs) == 0:
            continue
        bw, bh = np.ptp(xs) + 1, np.ptp(ys) + 1
        if 1 / 3 <= bw / bh <= 3 and len(xs) >= 0.25 * bw * bh:
            return cut
    return cut


def _fold(offsets: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Reflect offsets from the frame centre back into [-amp, amp] (keeps fast paths inside the frame)."""
    amp = np.maximum(amp, 1.0)
    period = 4 * amp
    shifted = np.mod(offsets + amp, period)
    return np.where(shifted > 2 * amp, period - shifted, shifted) - amp


def _motion_blur(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    k = int(length) | 1
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (k, k))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def measured_attributes(gt: np.ndarray, frame_size: tuple[int, int]) -> tuple[str, ...]:
    """The attributes OTB defines by thresholds, measured on (N, 4) ``x, y, w, h`` boxes: SV (sqrt-area ratio to the
    first frame outside [1/2, 2]), FM (centre moves more than 20 px between frames), LR (a box under 400 px), OV (a box
    touches the frame border while narrower than the target's typical size)."""
    gt = np.asarray(gt, np.float64)
    area = gt[:, 2] * gt[:, 3]
    found = set()
    ratio = np.sqrt(area / max(area[0], 1e-9))
    if (ratio > 2).any() or (ratio < 0.5).any():
        found.add("SV")
    centres = gt[:, :2] + gt[:, 2:] / 2
    if len(gt) > 1 and (np.linalg.norm(np.diff(centres, axis=0), axis=1) > 20).any():
        found.add("FM")
    if (area < 400).any():
        found.add("LR")
    width, height = frame_size
    touching = (gt[:, 0] <= 0.5) | (gt[:, 1] <= 0.5) | (gt[:, 0] + gt[:, 2] >= width - 0.5) | (
        gt[:, 1] + gt[:, 3] >= height - 0.5)
    shrunk = np.sqrt(area) < 0.8 * np.median(np.sqrt(area))
    if (touching & shrunk).any():
        found.add("OV")
    return tuple(a for a in ATTRIBUTES if a in found)


def sequence_plan(count: int, attributes: tuple[str, ...] = ATTRIBUTES, extra: int = 0,
                  seed: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, attributes)`` of ``count`` sequences: sequence ``i`` is in the group of ``attributes[i % len]``
    (named ``Synth-<ATTR>-<k>``) and gets ``extra`` further attributes drawn at random."""
    if not attributes:
        raise AutomatchError("no attributes to synthesise")
    rng = np.random.default_rng([seed, 0xA77])
    plan = []
    for i in range(count):
        primary = attributes[i % len(attributes)]
        others = [a for a in ATTRIBUTES if a != primary]
        chosen = {primary, *rng.choice(others, size=min(extra, len(others)), replace=False).tolist()}
        plan.append((f"Synth-{primary}-{i // len(attributes) + 1:02d}", tuple(a for a in ATTRIBUTES if a in chosen)))
    return plan


def write_sequence(folder: Path, sequence: SyntheticSequence) -> tuple[str, ...]:
    """Writes ``sequence`` in the OTB layout (``img/0001.jpg``..., ``groundtruth_rect.txt`` with OTB's 1-based
    pixel coordinates, ``attributes.txt``); returns the attributes written (requested plus measured)."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    boxes = []
    for t in range(len(sequence)):
        frame, box = sequence.render(t)
        quality = [cv2.IMWRITE_JPEG_QUALITY, sequence.cfg.jpeg_quality]
        cv2.imwrite(str(folder / "img" / f"{t + 1:04d}.jpg"), frame, quality)
        boxes.append(box)
    gt = np.array(boxes)
    lines = [",".join(f"{v:.2f}" for v in (b[0] + 1, b[1] + 1, b[2], b[3])) for b in gt]
    (folder / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = tuple(a for a in ATTRIBUTES if a in set(sequence.attributes) | set(
        measured_attributes(gt, (sequence.cfg.width, sequence.cfg.height))))
    write_attributes(folder / "attributes.txt", labels)
    return labels


def synthesise_benchmark(out: Path, imagery: Imagery, count: int, attributes: tuple[str, ...] = ATTRIBUTES,
                         extra: int = 0, seed: int = 0, cfg: SynthConfig = SynthConfig(),
                         progress: bool = True) -> list[str]:
    """Writes ``count`` OTB-format sequences under ``out`` (skipping complete ones, so a killed run resumes);
    returns their names. Readable by ``automatch eval --dataset otb --root OUT``."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = sequence_plan(count, attributes, extra, seed)
    for index, (name, attrs) in enumerate(tqdm(plan, desc="synth", unit="seq", disable=not progress)):
        folder = out / name
        if (folder / "attributes.txt").is_file():
            continue
        write_sequence(folder, SyntheticSequence(imagery, attrs, seed * 100003 + index, cfg))
    return [name for name, _ in plan]
