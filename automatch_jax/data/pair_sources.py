"""Pair sources beyond still scenes, and their mixture: video training sets, synthetic videos.

``build_source(sources, imagery, split)`` turns a config's ``data.sources`` into one :class:`MixtureSource`::

    config.data.sources = {
        "synthetic": {"weight": 1.0},                           # still scenes from the imagery cache
        "synthetic-video": {"weight": 1.0},                     # frames of automatch_jax.data.synth sequences
        "real-video": {"weight": 1.0},                          # self-labelled real camera sequences (cache)
        "got10k-train": {"weight": 2.0, "root": "/data/GOT-10k"},
        "coco": {"weight": 0.5, "root": "/data/coco", "split": "train2017"},
    }

Each draw first picks a source with probability proportional to its weight (the mixing ratio), so a batch mixes
sources as configured. Datasets are split by track: every tenth track is held out for the validation loss.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import cv2
import numpy as np

from automatch_jax.boxes import xywh_to_xyxy
from automatch_jax.data.imagery import REAL_VIDEO, Imagery
from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.data.pairs import PairConfig, PairSource, SceneSource, imagery_digest
from automatch_jax.data.synth import SynthConfig, SyntheticSequence, TargetInvisible
from automatch_jax.data.tracks import TrackSet
from automatch_jax.data.training_sets import TRAINING_SETS, load_training_set
from automatch_jax.errors import AutomatchError, DatasetError
from automatch_jax.registry import Registry

IMAGERY_SOURCES: Registry[Callable[..., PairSource]] = Registry("imagery source")
"""The ``data.sources`` drawn from the imagery cache: name -> ``build(imagery, split, index_dir, **settings)``;
metadata ``settings``: the settings the entry takes besides its weight."""

VALIDATION_EVERY = 10


class TrackSource:
    """Pairs from a :class:`TrackSet`: two visible frames of one track at most ``cfg.frame_gap`` frames apart
    (one-frame tracks, as in DET and COCO, give two augmentations of the same image)."""

    def __init__(self, tracks: TrackSet, split: str = "train"):
        usable = tracks.usable_tracks()
        held_out = (np.arange(len(usable)) % VALIDATION_EVERY) == VALIDATION_EVERY - 1
        chosen = usable[held_out] if split == "validation" else usable[~held_out]
        self.tracks, self.indices = tracks, chosen if len(chosen) else usable
        if not len(self.indices):
            raise DatasetError(f"{tracks.root}: {tracks.name} has no track with a visible, non-empty box")

    def describe(self) -> dict:
        """The reader, the tracks drawn from and a digest of their boxes (not the root: hosts mount it anywhere)."""
        boxes = hashlib.blake2b(np.ascontiguousarray(self.tracks.boxes).data, digest_size=8).hexdigest()
        return {"kind": "tracks", "name": self.tracks.name, "tracks": len(self.indices),
                "frames": self.tracks.frame_count, "boxes": boxes}

    def _read(self, path: str, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = self.tracks.root / path
        image = cv2.imread(str(full), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{full}: missing or unreadable frame of {self.tracks.name}")
        box = np.asarray(box, np.float64)
        if self.tracks.normalized:
            h, w = image.shape[:2]
            box = box * np.array([w, h, w, h])
        return image, xywh_to_xyxy(box)

    def _frames(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paths, boxes, visible = self.tracks.track(int(self.indices[rng.integers(len(self.indices))]))
        good = np.nonzero(visible & (boxes[:, 2] > 0) & (boxes[:, 3] > 0))[0]
        return paths, boxes, good

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None:
        paths, boxes, good = self._frames(rng)
        i = good[rng.integers(len(good))]
        near = good[np.abs(good - i) <= cfg.frame_gap]
        j = near[rng.integers(len(near))]
        z, z_box = self._read(paths[i], boxes[i])
        x, x_box = (z, z_box) if j == i else self._read(paths[j], boxes[j])
        return z, z_box, x, x_box

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None:
        paths, boxes, good = self._frames(rng)
        i = good[rng.integers(len(good))]
        return self._read(paths[i], boxes[i])


class SyntheticVideoSource:
    """Pairs from two frames of a random :class:`~automatch_jax.data.synth.SyntheticSequence` with up to
    ``attributes`` random OTB attributes (the generator of ``automatch synth``)."""

    def __init__(self, imagery: Imagery, attributes: int = 2, synth: SynthConfig | None = None):
        if not imagery.cutouts:
            raise AutomatchError("the imagery holds no object cut-outs; run `automatch fetch-imagery`")
        self.imagery, self.attributes, self.synth = imagery, attributes, synth or SynthConfig(frames=60)

    def describe(self) -> dict:
        return {"kind": "synthetic-video", "attributes": self.attributes, "synth": dataclasses.asdict(self.synth),
                "imagery": imagery_digest(self.imagery)}

    def _sequence(self, rng: np.random.Generator) -> SyntheticSequence:
        count = int(rng.integers(0, self.attributes + 1))
        chosen = tuple(rng.choice(ATTRIBUTES, size=count, replace=False).tolist()) if count else ()
        return SyntheticSequence(self.imagery, chosen, int(rng.integers(2**31)), self.synth)

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None:
        """Two frames at most ``cfg.frame_gap`` apart; None (the caller redraws) when the target covers no pixel
        in one of them."""
        sequence = self._sequence(rng)
        n = len(sequence)
        i = int(rng.integers(n))
        j = int(np.clip(i + rng.integers(-cfg.frame_gap, cfg.frame_gap + 1), 0, n - 1))
        try:
            (z, z_box), (x, x_box) = sequence.render(i), sequence.render(j)
        except TargetInvisible:
            return None
        return z, xywh_to_xyxy(z_box), x, xywh_to_xyxy(x_box)

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None:
        sequence = self._sequence(rng)
        try:
            frame, box = sequence.render(int(rng.integers(len(sequence))))
        except TargetInvisible:
            return None
        return frame, xywh_to_xyxy(box)


def _real_video_tracks(imagery: Imagery, index_dir: Path | None) -> TrackSet:
    """The self-labelled real camera tracks of the imagery cache (``<cache>/real-video``, MOTChallenge layout)."""
    folder = imagery.folder / REAL_VIDEO if imagery.folder is not None else None
    if folder is None or not folder.is_dir():
        raise AutomatchError(f"source 'real-video': no {REAL_VIDEO}/ folder in the imagery cache"
                             f"{f' {imagery.folder}' if imagery.folder else ''} (run `automatch fetch-imagery`)")
    return load_training_set("mot", folder, index_dir=index_dir, progress=False)


@IMAGERY_SOURCES.register("synthetic", settings=())
def _synthetic(imagery: Imagery, split: str, index_dir: Path | None) -> PairSource:
    return SceneSource(imagery)


@IMAGERY_SOURCES.register("synthetic-video", settings=("attributes",))
def _synthetic_video(imagery: Imagery, split: str, index_dir: Path | None, attributes: int = 2) -> PairSource:
    return SyntheticVideoSource(imagery, int(attributes))


@IMAGERY_SOURCES.register("real-video", settings=())
def _real_video(imagery: Imagery, split: str, index_dir: Path | None) -> PairSource:
    return TrackSource(_real_video_tracks(imagery, index_dir), split)


class MixtureSource:
    """Draws from ``sources`` with probabilities proportional to ``weights``."""

    def __init__(self, sources: Mapping[str, PairSource], weights: Mapping[str, float]):
        if not sources:
            raise AutomatchError("no training data source configured (config.data.sources is empty)")
        self.names = list(sources)
        self.sources = [sources[n] for n in self.names]
        w = np.array([float(weights[n]) for n in self.names])
        if (w < 0).any() or w.sum() <= 0:
            raise AutomatchError(f"source weights must be >= 0 and not all 0, got {dict(weights)}")
        self.p = w / w.sum()

    def describe(self) -> dict:
        return {"kind": "mixture", "sources": {name: {"share": float(p), **source.describe()}
                                               for name, source, p in zip(self.names, self.sources, self.p,
                                                                          strict=True)}}

    def _pick(self, rng: np.random.Generator) -> PairSource:
        return self.sources[int(rng.choice(len(self.sources), p=self.p))]

    def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, ...] | None:
        return self._pick(rng).draw_pair(rng, cfg)

    def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple[np.ndarray, np.ndarray] | None:
        return self._pick(rng).draw_frame(rng, cfg)


def build_source(sources: Mapping[str, Mapping], imagery: Imagery | None, split: str = "train",
                 index_dir: Path | None = None, progress: bool = True) -> MixtureSource:
    """The mixture a config's ``data.sources`` describes (see the module doc); ``split`` is ``"train"`` or
    ``"validation"`` (the imagery is expected already split; datasets are split by track here)."""
    built: dict[str, PairSource] = {}
    weights: dict[str, float] = {}
    for name, spec in sources.items():
        spec = dict(spec)
        weight = float(spec.pop("weight", 1.0))
        if weight == 0:
            continue
        if name in IMAGERY_SOURCES:
            if imagery is None:
                raise AutomatchError(f"source {name!r} needs the imagery cache (run `automatch fetch-imagery`)")
            built[name] = IMAGERY_SOURCES.get(name)(imagery, split, index_dir, **spec)
        elif name in TRAINING_SETS:
            root = spec.pop("root", "")
            if not root:
                raise AutomatchError(f"source {name!r} needs a 'root' (the dataset folder)")
            tracks = load_training_set(name, root, index_dir=index_dir, progress=progress, **spec)
            built[name] = TrackSource(tracks, split)
        else:
            known = ", ".join([*IMAGERY_SOURCES, *TRAINING_SETS])
            raise AutomatchError(f"unknown training source {name!r}; known: {known}")
        weights[name] = weight
    return MixtureSource(built, weights)
