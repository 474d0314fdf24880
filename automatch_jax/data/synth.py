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

The numbers above are the defaults of :class:`AttributeParams`; each attribute is planned by one ``_plan_*``
function, called in a fixed order so that every random draw, and thus every frame, follows from the seed.
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


@dataclasses.dataclass(frozen=True)
class AttributeParams:
    """The numbers behind each attribute's effect. A pair ``(low, high)`` is the range a value is drawn from
    uniformly (for counts: ``rng.integers(low, high)``, so ``high`` is excluded). Times are fractions of the
    sequence (0 = first frame, 1 = last); "target sizes" are multiples of the target's ``sqrt(w h)`` in pixels.

    The defaults are tuned so that the thresholded attributes (SV, FM, LR, OV) occur when requested and stay
    clear of their thresholds otherwise; other values keep every sequence valid but not those guarantees.
    """

    # camera: the background photo and its slow pan
    background_cover: float = 1.15  # the photo is scaled to at least this many frame widths and frame heights
    background_min_width: float = 1.6  # ... and shrunk no smaller than this many frame widths (never enlarged)
    pan_swing: float = 0.8  # pan amplitude, fraction of the spare border (photo size - frame size) / 2
    pan_terms: int = 2  # sinusoids in each pan curve

    # size (LR) and shape
    lr_size: tuple[float, float] = (13.0, 17.5)  # LR: first-frame target size, px of sqrt(w h) (<= 17.5^2 < 400)
    size_fraction: tuple[float, float] = (0.09, 0.2)  # otherwise: first-frame size, fraction of sqrt(W H)
    min_size: float = 30.0  # otherwise: smallest first-frame size, px
    aspect_jitter: float = 0.3  # the target's log aspect ratio (w / h) is drawn from [-this, this]

    # SV: a smooth ramp of the size by a factor beyond 2
    sv_shrink_above: float = 0.16  # targets larger than this fraction of sqrt(W H) shrink (the others may grow)
    sv_shrink_probability: float = 0.4  # chance that a target that may grow shrinks instead (never with LR)
    sv_start: tuple[float, float] = (0.1, 0.3)  # when the ramp starts (time)
    sv_duration: tuple[float, float] = (0.3, 0.5)  # how long the ramp lasts (time)
    sv_factor: tuple[float, float] = (2.3, 3.0)  # final size over first size (or its inverse when shrinking)
    # without SV: the size wobbles as log(size_wobble) * size_wobble_gain * (a smooth curve in [-1, 1] minus its
    # start), clipped to size_range times the first size
    size_wobble: float = 1.2  # size ratio (dimensionless)
    size_wobble_gain: float = 0.9  # dimensionless
    size_range: tuple[float, float] = (0.82, 1.22)  # size ratio to the first frame

    # DEF: aspect-ratio breathing and a sinusoidal warp of the cut-out
    def_breath: float = 0.25  # amplitude of the log aspect ratio's oscillation
    def_breath_cycles: tuple[float, float] = (2.0, 4.0)  # oscillations of the aspect ratio over the sequence
    def_warp: tuple[float, float] = (0.08, 0.06)  # warp amplitude: fraction of the cut-out's width, height
    def_warp_cycles: float = 3.0  # periods the warp's phase runs through over the sequence

    # IPR: in-plane rotation, degrees
    angle_jitter: float = 10.0  # the first frame's angle is drawn from [-this, this]
    ipr_turn: tuple[float, float] = (100.0, 300.0)  # IPR: total turn over the sequence, either direction
    angle_wobble: float = 6.0  # otherwise: amplitude of a smooth wobble

    # OPR: turn about the vertical axis, drawn as a width of |cos(phi)|
    opr_turn: tuple[float, float] = (120.0, 200.0)  # peak turn, degrees
    opr_cycles: tuple[float, float] = (1.0, 2.0)  # turn-and-back cycles over the sequence
    opr_min_width: float = 0.25  # narrowest drawn width, fraction of the cut-out's width
    opr_back_shade: float = 0.8  # brightness gain of the mirrored back side

    target_gain: tuple[float, float] = (0.85, 1.15)  # the target's brightness gain (all sequences)

    # path: a smooth curve kept inside the frame
    path_margin: float = 0.75  # the centre keeps this many (largest) target sizes ...
    path_margin_px: float = 4.0  # ... plus this many px from the frame's edges

    # FM: bursts of fast motion
    fm_bursts: tuple[int, int] = (2, 4)  # number of bursts (high excluded)
    fm_window: tuple[float, float] = (0.1, 0.85)  # a burst starts within this time window
    fm_length: tuple[int, int] = (3, 7)  # frames per burst (high excluded)
    fm_speed: tuple[float, float] = (26.0, 34.0)  # added speed during a burst, px/frame (OTB's threshold: 20)

    # OV: the path bends out over one frame edge and back (a raised-cosine bump)
    ov_when: tuple[float, float] = (0.4, 0.7)  # time of the bump's peak
    ov_width: tuple[float, float] = (0.4, 0.6)  # the bump's full width (time)
    ov_reach: tuple[float, float] = (0.45, 0.7)  # fraction of the target's width outside the frame at the peak

    # OCC: a larger cut-out crossing in front of the target
    occ_when: tuple[float, float] = (0.3, 0.7)  # time the occluder is centred on the target
    occ_width: tuple[float, float] = (0.15, 0.3)  # time the crossing takes (progress -0.5 .. 0.5)
    occ_scale: tuple[float, float] = (1.1, 1.6)  # occluder size, target sizes
    occ_sweep: float = 2.2  # distance travelled while crossing, occluder sizes
    occ_visible: float = 0.75  # the occluder is drawn while |progress| is below this

    # BC and other distractors
    bc_count: tuple[int, int] = (2, 5)  # BC: number of look-alikes (high excluded)
    other_count: tuple[int, int] = (0, 3)  # otherwise: number of unrelated cut-outs (high excluded)
    bc_same_probability: float = 0.5  # chance that a look-alike is the target's cut-out unchanged
    bc_hue: tuple[int, int] = (15, 50)  # hue turn of the other look-alikes, OpenCV hue steps of 2 degrees
    bc_spread: float = 1.5  # look-alike offset from the target: normal std, target sizes
    bc_wander: float = 0.8  # look-alikes wander around their offset by up to this many target sizes
    other_wander: float = 40.0  # unrelated cut-outs wander around their place by up to this many px
    distractor_scale: tuple[float, float] = (0.8, 1.2)  # distractor size, target sizes
    distractor_angle: float = 20.0  # distractor angle drawn from [-this, this], degrees

    # IV: a global light gain and a moving spotlight
    iv_light_mid: float = 0.975  # IV: the gain sweeps over mid -+ swing = [0.35, 1.6]
    iv_light_swing: float = 0.625
    iv_light_pace: float = 1.5  # IV: time runs this much faster through the gain's curve
    iv_terms: int = 2  # IV: sinusoids in the gain's curve
    light_wobble: float = 0.05  # otherwise: the gain is 1 -+ this
    spot_radius: tuple[float, float] = (0.15, 0.3)  # the spotlight's radius, fraction of the frame's longer side
    spot_floor: float = 0.7  # gain far from the spotlight (times the global gain)
    spot_boost: float = 0.6  # extra gain at the spotlight's centre

    # MB: stretches of linear motion blur
    mb_stretches: tuple[int, int] = (2, 4)  # number of blurred stretches (high excluded)
    mb_centre: tuple[float, float] = (0.1, 0.9)  # time of a stretch's peak
    mb_width: tuple[float, float] = (0.1, 0.2)  # a stretch's full width (time)
    mb_length: tuple[float, float] = (9.0, 21.0)  # peak kernel length, px
    mb_min_length: float = 3.0  # frames with a shorter kernel are not blurred, px
    mb_max_angle: float = 180.0  # blur direction drawn from [0, this), degrees

    noise_sigma: float = 2.0  # sensor noise added to every frame, std in grey levels


@dataclasses.dataclass(frozen=True, eq=False)
class Distractor:
    """A cut-out pasted behind the target in every frame.

    ``offset`` (2,) is, for a look-alike that follows the target, measured in target sizes from the target's
    centre; otherwise in px from the frame's centre. ``wander_x``/``wander_y`` map time (fraction of the sequence)
    to a displacement in about [-1, 1], scaled by ``bc_wander`` target sizes or ``other_wander`` px."""

    cutout: np.ndarray  # (h, w, 4) BGRA
    offset: np.ndarray  # (2,) x, y
    follows_target: bool
    wander_x: Callable[[np.ndarray], np.ndarray]
    wander_y: Callable[[np.ndarray], np.ndarray]
    scale: float  # size, target sizes
    angle: float  # degrees


@dataclasses.dataclass(frozen=True, eq=False)
class Spotlight:
    """A light spot moving linearly: ``start`` (2,) and ``move`` (2,) are fractions of the frame's width, height
    (position at time 0 and displacement over the sequence); ``radius`` is a fraction of the frame's longer side."""

    start: np.ndarray
    move: np.ndarray
    radius: float


@dataclasses.dataclass(frozen=True, eq=False)
class Occlusion:
    """A cut-out crossing in front of the target: centred on it at time ``when``, over ``width`` (fractions of the
    sequence), moving along ``direction`` (radians); ``scale`` is its size in target sizes."""

    cutout: np.ndarray  # (h, w, 4) BGRA
    when: float
    width: float
    direction: float
    scale: float


def _plan_background(rng: np.random.Generator, imagery: Imagery, cfg: SynthConfig, u: np.ndarray,
                     p: AttributeParams) -> tuple[np.ndarray, np.ndarray]:
    """Camera: (photo (H', W', 3) BGR uint8 a little larger than the frame, pan (N, 2) x, y of the frame's
    top-left corner in it, px) for the N times ``u``."""
    w, h = cfg.width, cfg.height
    image = imagery.backgrounds[rng.integers(len(imagery.backgrounds))]
    scale = max(p.background_cover * w / image.shape[1], p.background_cover * h / image.shape[0], 1e-6)
    scale = max(scale, min(1.0, p.background_min_width * w / image.shape[1]))
    big = cv2.resize(image, (max(int(image.shape[1] * scale), w + 2), max(int(image.shape[0] * scale), h + 2)),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pan_x, pan_y = _smooth_curve(rng, p.pan_terms), _smooth_curve(rng, p.pan_terms)
    span_x, span_y = (big.shape[1] - w) / 2, (big.shape[0] - h) / 2
    pan = np.stack([span_x * (1 + p.pan_swing * pan_x(u)), span_y * (1 + p.pan_swing * pan_y(u))], axis=1)
    return big, pan


def _plan_first_size(rng: np.random.Generator, has: Callable[[str], bool], cfg: SynthConfig,
                     p: AttributeParams) -> float:
    """LR: the target's ``sqrt(w h)`` in the first frame, px."""
    if has("LR"):
        return rng.uniform(*p.lr_size)
    return max(rng.uniform(*p.size_fraction) * math.sqrt(cfg.width * cfg.height), p.min_size)


def _plan_scale(rng: np.random.Generator, has: Callable[[str], bool], size0: float, cfg: SynthConfig,
                u: np.ndarray, p: AttributeParams) -> np.ndarray:
    """SV: the target's size (N,) over the N times ``u``, px of ``sqrt(w h)``, starting from ``size0``."""
    if has("SV"):
        shrink = size0 > p.sv_shrink_above * math.sqrt(cfg.width * cfg.height) or (
            not has("LR") and rng.uniform() < p.sv_shrink_probability)
        direction = -1 if shrink else 1
        ramp = np.clip((u - rng.uniform(*p.sv_start)) / rng.uniform(*p.sv_duration), 0, 1)
        log_scale = direction * math.log(rng.uniform(*p.sv_factor)) * (3 * ramp**2 - 2 * ramp**3)
    else:
        log_scale = math.log(p.size_wobble) * p.size_wobble_gain * (_smooth_curve(rng)(u) - _smooth_curve(rng)(0.0))
        log_scale = np.clip(log_scale, math.log(p.size_range[0]), math.log(p.size_range[1]))
    return size0 * np.exp(log_scale)


def _plan_aspect(rng: np.random.Generator, has: Callable[[str], bool], u: np.ndarray,
                 p: AttributeParams) -> np.ndarray:
    """DEF (shape): the target's aspect ratio ``w / h`` (N,) over the N times ``u``."""
    base = math.exp(rng.uniform(-p.aspect_jitter, p.aspect_jitter))
    if has("DEF"):
        return base * np.exp(p.def_breath * np.sin(2 * math.pi * rng.uniform(*p.def_breath_cycles) * u))
    return base * np.ones(len(u))


def _plan_in_plane_rotation(rng: np.random.Generator, has: Callable[[str], bool], u: np.ndarray,
                            p: AttributeParams) -> np.ndarray:
    """IPR: the target's angle (N,) over the N times ``u``, degrees."""
    start = rng.uniform(-p.angle_jitter, p.angle_jitter)
    if has("IPR"):
        return start + rng.choice([-1, 1]) * rng.uniform(*p.ipr_turn) * u
    return start + p.angle_wobble * _smooth_curve(rng)(u)


def _plan_out_of_plane_rotation(rng: np.random.Generator, has: Callable[[str], bool], u: np.ndarray,
                                p: AttributeParams) -> np.ndarray:
    """OPR: the target's turn about its vertical axis (N,) over the N times ``u``, radians (0 without OPR)."""
    if not has("OPR"):
        return np.zeros(len(u))
    return np.radians(rng.uniform(*p.opr_turn)) * (0.5 - 0.5 * np.cos(2 * math.pi * u * rng.uniform(*p.opr_cycles)))


def _plan_motion(rng: np.random.Generator, has: Callable[[str], bool], size: np.ndarray, cfg: SynthConfig,
                 u: np.ndarray, p: AttributeParams) -> np.ndarray:
    """Path and FM: the target's centre (N, 2) x, y over the N times ``u``, px; a smooth curve at about
    ``cfg.speed`` px/frame, plus fast bursts with FM, reflected back into the frame."""
    w, h, n = cfg.width, cfg.height, cfg.frames
    cx, cy = _smooth_curve(rng), _smooth_curve(rng)
    margin = p.path_margin * size.max() + p.path_margin_px
    amp = np.array([max(w / 2 - margin, 1.0), max(h / 2 - margin, 1.0)])

    def curve(k: float) -> np.ndarray:
        return np.stack([amp[0] * cx(u * k), amp[1] * cy(u * k)], axis=1)

    speed = np.median(np.linalg.norm(np.diff(curve(1.0), axis=0), axis=1)) if n > 1 else 0.0
    offsets = curve(min(1.0, cfg.speed / speed) if speed > 0 else 1.0)
    if has("FM"):
        frames = np.arange(n)
        first, last = int(p.fm_window[0] * n), int(p.fm_window[1] * n)
        for _ in range(rng.integers(*p.fm_bursts)):
            start, length = rng.integers(first, max(last, first + 1)), rng.integers(*p.fm_length)
            heading = rng.uniform(0, 2 * math.pi)
            offsets = offsets + np.outer(np.clip(frames - start, 0, length),
                                         rng.uniform(*p.fm_speed) * np.array([math.cos(heading), math.sin(heading)]))
    return np.array([w / 2, h / 2]) + _fold(offsets, amp)


def _plan_out_of_view(rng: np.random.Generator, path: np.ndarray, size: np.ndarray, cfg: SynthConfig,
                      u: np.ndarray, p: AttributeParams) -> np.ndarray:
    """OV: ``path`` (N, 2) bent, in place, over one frame edge and back; returns it."""
    side = rng.integers(4)  # 0: left, 1: right, 2: top, 3: bottom
    when, width = rng.uniform(*p.ov_when), rng.uniform(*p.ov_width)
    reach = rng.uniform(*p.ov_reach)
    axis = 0 if side < 2 else 1
    edge = (cfg.width, cfg.height)[axis] if side % 2 else 0.0
    target_pos = edge + (1 if side % 2 else -1) * (reach - 0.5) * size.max()
    bump = _bump(u, when, width)
    path[:, axis] = path[:, axis] * (1 - bump) + target_pos * bump
    return path


def _plan_occlusion(rng: np.random.Generator, imagery: Imagery, p: AttributeParams) -> Occlusion:
    """OCC: a random cut-out and when, how long and which way it crosses the target."""
    cutout = imagery.cutouts[rng.integers(len(imagery.cutouts))]
    when, width = rng.uniform(*p.occ_when), rng.uniform(*p.occ_width)
    direction = rng.uniform(0, 2 * math.pi)
    return Occlusion(cutout, when, width, direction, rng.uniform(*p.occ_scale))


def _plan_distractors(rng: np.random.Generator, has: Callable[[str], bool], imagery: Imagery, target: np.ndarray,
                      cfg: SynthConfig, p: AttributeParams) -> list[Distractor]:
    """BC: look-alikes of ``target`` (BGRA) near it; otherwise a few unrelated cut-outs around the frame."""
    distractors = []
    count = rng.integers(*p.bc_count) if has("BC") else rng.integers(*p.other_count)
    for _ in range(count):
        if has("BC"):
            cut = target if rng.uniform() < p.bc_same_probability else hue_shift(target, rng, *p.bc_hue)
            offset = rng.normal(0, p.bc_spread, 2)
        else:
            cut = imagery.cutouts[rng.integers(len(imagery.cutouts))]
            offset = rng.uniform(-1, 1, 2) * np.array([cfg.width, cfg.height]) / 2
        wander_x, wander_y = _smooth_curve(rng), _smooth_curve(rng)
        scale = rng.uniform(*p.distractor_scale)
        angle = rng.uniform(-p.distractor_angle, p.distractor_angle)
        distractors.append(Distractor(cut, offset, has("BC"), wander_x, wander_y, scale, angle))
    return distractors


def _plan_illumination(rng: np.random.Generator, has: Callable[[str], bool], u: np.ndarray,
                       p: AttributeParams) -> tuple[np.ndarray, Spotlight | None]:
    """IV: (global light gain (N,) over the N times ``u``, a spotlight or None without IV)."""
    if not has("IV"):
        return 1 + p.light_wobble * _smooth_curve(rng)(u), None
    light = p.iv_light_mid + p.iv_light_swing * _smooth_curve(rng, p.iv_terms)(u * p.iv_light_pace)
    return light, Spotlight(rng.uniform(0, 1, 2), rng.uniform(-1, 1, 2), rng.uniform(*p.spot_radius))


def _plan_blur(rng: np.random.Generator, has: Callable[[str], bool], u: np.ndarray,
               p: AttributeParams) -> tuple[np.ndarray, np.ndarray]:
    """MB: (blur kernel length (N,) px, blur direction (N,) degrees) over the N times ``u`` (zeros without MB)."""
    blur, blur_angle = np.zeros(len(u)), np.zeros(len(u))
    if has("MB"):
        for _ in range(rng.integers(*p.mb_stretches)):
            bump = _bump(u, rng.uniform(*p.mb_centre), rng.uniform(*p.mb_width))
            blur = np.maximum(blur, bump * rng.uniform(*p.mb_length))
        blur_angle[:] = rng.uniform(0, p.mb_max_angle)
    return blur, blur_angle


class SyntheticSequence:
    """One synthetic video; ``render(t)`` returns the frame (H, W, 3) BGR uint8 and the box (4,) ``x, y, w, h``
    (0-based pixels, float) of the target's visible pixels.

    Args:
      imagery: backgrounds and cut-outs (:class:`automatch_jax.data.imagery.Imagery`).
      attributes: OTB attribute names to produce (any subset of ``ATTRIBUTES``).
      seed: every random choice follows from it.
      cfg: frame size, length, typical speed.
      params: the numbers behind each attribute's effect (:class:`AttributeParams`).
    """

    def __init__(self, imagery: Imagery, attributes: tuple[str, ...] | list[str], seed: int,
                 cfg: SynthConfig = SynthConfig(), params: AttributeParams = AttributeParams()):
        unknown = [a for a in attributes if a not in ATTRIBUTES]
        if unknown:
            raise AutomatchError(f"unknown attribute {unknown[0]!r}; known: {', '.join(ATTRIBUTES)}")
        if not imagery.cutouts:
            raise AutomatchError("the imagery holds no object cut-outs; run `automatch fetch-imagery`")
        self.attributes = tuple(a for a in ATTRIBUTES if a in set(attributes))
        self.cfg, self.seed, self.params = cfg, seed, params
        self.rng = rng = np.random.default_rng([seed, 0x5EED])
        has = set(self.attributes).__contains__
        p = params
        self.u = u = np.linspace(0, 1, cfg.frames)  # (N,) time of each frame, fraction of the sequence

        # The order of these calls is the order of the random draws: frames are a pure function of the seed.
        self.background, self.pan = _plan_background(rng, imagery, cfg, u, p)
        self.target = _pick_target(imagery, rng)
        self.size = _plan_scale(rng, has, _plan_first_size(rng, has, cfg, p), cfg, u, p)
        self.aspect = _plan_aspect(rng, has, u, p)
        self.angle = _plan_in_plane_rotation(rng, has, u, p)
        self.turn = _plan_out_of_plane_rotation(rng, has, u, p)
        self.deform_phase = rng.uniform(0, 2 * math.pi, 2)  # DEF: the warp's phase in x, y (radians)
        self.gain = rng.uniform(*p.target_gain)
        self.path = _plan_motion(rng, has, self.size, cfg, u, p)
        if has("OV"):
            self.path = _plan_out_of_view(rng, self.path, self.size, cfg, u, p)
        self.occluder = None
        if has("OCC"):
            occlusion = _plan_occlusion(rng, imagery, p)
            self.occluder, self.occ_when, self.occ_width = occlusion.cutout, occlusion.when, occlusion.width
            self.occ_dir, self.occ_scale = occlusion.direction, occlusion.scale
        self.distractors = _plan_distractors(rng, has, imagery, self.target, cfg, p)
        self.light, self.spot = _plan_illumination(rng, has, u, p)
        self.blur, self.blur_angle = _plan_blur(rng, has, u, p)

    def __len__(self) -> int:
        return self.cfg.frames

    def _target_image(self, t: int) -> np.ndarray:
        cut, p = self.target, self.params
        if "DEF" in self.attributes:
            h, w = cut.shape[:2]
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            phase = self.deform_phase + 2 * math.pi * p.def_warp_cycles * self.u[t]
            dx = p.def_warp[0] * w * np.sin(2 * math.pi * ys / h + phase[0])
            dy = p.def_warp[1] * h * np.sin(2 * math.pi * xs / w + phase[1])
            cut = cv2.remap(cut, xs + dx.astype(np.float32), ys + dy.astype(np.float32), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if self.turn[t] != 0:
            c = math.cos(self.turn[t])
            width = max(round(cut.shape[1] * max(abs(c), p.opr_min_width)), 2)
            cut = cv2.resize(cut, (width, cut.shape[0]), interpolation=cv2.INTER_AREA)
            if c < 0:  # the other side: mirrored and a little darker
                cut = cut[:, ::-1].copy()
                cut[..., :3] = (cut[..., :3] * p.opr_back_shade).astype(np.uint8)
        return cut

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``t`` (0-based): (H, W, 3) BGR uint8 and its box ``x, y, w, h`` (0-based, float64)."""
        cfg, p = self.cfg, self.params
        w, h = cfg.width, cfg.height
        x0, y0 = self.pan[t].astype(int)
        scene = self.background[y0 : y0 + h, x0 : x0 + w].astype(np.float32).copy()
        centre = self.path[t]
        for d in self.distractors:
            wander = np.array([d.wander_x(self.u[t])[0], d.wander_y(self.u[t])[0]])
            if d.follows_target:  # look-alikes wander around the target
                at = centre + self.size[t] * (d.offset + p.bc_wander * wander)
            else:
                at = np.array([w / 2, h / 2]) + d.offset + p.other_wander * wander
            paste(scene, d.cutout, tuple(at), self.size[t] * d.scale, 1.0, d.angle, 1.0)
        cut = self._target_image(t)
        box = paste(scene, cut, tuple(centre), self.size[t], self.aspect[t], self.angle[t], self.gain)
        if self.occluder is not None:
            progress = (self.u[t] - self.occ_when) / self.occ_width  # -0.5..0.5 while crossing
            if abs(progress) < p.occ_visible:
                direction = np.array([math.cos(self.occ_dir), math.sin(self.occ_dir)])
                at = centre + direction * progress * p.occ_sweep * self.size[t] * self.occ_scale
                paste(scene, self.occluder, tuple(at), self.size[t] * self.occ_scale, 1.0, 0.0, 1.0)
        light = self.light[t]
        if self.spot is not None:
            spot = (self.spot.start + self.spot.move * self.u[t]) * np.array([w, h])
            yy, xx = np.mgrid[0:h, 0:w]
            dist2 = ((xx - spot[0]) ** 2 + (yy - spot[1]) ** 2) / (self.spot.radius * max(w, h)) ** 2
            scene *= (light * (p.spot_floor + p.spot_boost * np.exp(-dist2)))[..., None].astype(np.float32)
        else:
            scene *= light
        if self.blur[t] >= p.mb_min_length:
            scene = _motion_blur(scene, self.blur[t], self.blur_angle[t])
        noise = np.random.default_rng([self.seed, t]).normal(0, p.noise_sigma, scene.shape).astype(np.float32)
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
