"""Training tracks: what every training-set reader produces, and the index file that caches a long scan.

A :class:`TrackSet` is a flat, array-backed list of tracks (one object followed through one video, or one object in
one still image for detection datasets). It holds, for every annotated frame, the image path (relative to the
dataset root), the box and whether the target is visible; tracks are contiguous runs given by ``starts``. This is
cheap to keep in memory for millions of frames and is saved as one compressed ``.npz`` index, so a dataset is scanned
once (with a progress bar) and opened in well under a second afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from automatch_jax.errors import DatasetError

INDEX_VERSION = 1


@dataclasses.dataclass(frozen=True)
class TrackSet:
    """Tracks of one training set.

    Attributes:
      name: the reader's name (``"got10k-train"``, ``"vid"``, ``"coco"``, ...).
      root: the dataset root the ``paths`` are relative to.
      paths: (M,) str image paths relative to ``root``, frames of all tracks back to back.
      boxes: (M, 4) float32 ``x, y, w, h`` in pixels (or in [0, 1] of the image size when ``normalized``).
      visible: (M,) bool, False where the dataset marks the target absent, occluded or out of view.
      starts: (T + 1,) int64, track ``t`` is ``paths[starts[t]:starts[t + 1]]``.
      normalized: boxes are fractions of the image size (YouTube-BB), converted once the image is read.
    """

    name: str
    root: Path
    paths: np.ndarray
    boxes: np.ndarray
    visible: np.ndarray
    starts: np.ndarray
    normalized: bool = False

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def frame_count(self) -> int:
        return len(self.paths)

    def track(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(paths, boxes, visible) of track ``t``."""
        a, b = self.starts[t], self.starts[t + 1]
        return self.paths[a:b], self.boxes[a:b], self.visible[a:b]

    def usable_tracks(self) -> np.ndarray:
        """Indices of the tracks with at least one visible frame of positive size."""
        good = self.visible & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
        counts = np.add.reduceat(good.astype(np.int64), self.starts[:-1]) if len(self.paths) else np.zeros(0)
        lengths = np.diff(self.starts)
        return np.nonzero((counts > 0) & (lengths > 0))[0]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, version=INDEX_VERSION, name=self.name, paths=self.paths.astype(str),
                            boxes=self.boxes, visible=self.visible, starts=self.starts, normalized=self.normalized)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, root: Path) -> TrackSet:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != INDEX_VERSION:
                raise DatasetError(f"{path}: index version {int(data['version'])}, expected {INDEX_VERSION}")
            return cls(str(data["name"]), root, data["paths"], data["boxes"], data["visible"], data["starts"],
                       bool(data["normalized"]))


class TrackBuilder:
    """Collects tracks one by one and freezes them into a :class:`TrackSet`."""

    def __init__(self, name: str, root: Path, normalized: bool = False):
        self.name, self.root, self.normalized = name, root, normalized
        self.paths: list[str] = []
        self.boxes: list[np.ndarray] = []
        self.visible: list[np.ndarray] = []
        self.starts = [0]

    def add(self, paths: Iterable[str], boxes: np.ndarray, visible: np.ndarray | None = None) -> None:
        paths = list(paths)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(paths) != len(boxes):
            raise ValueError(f"{len(paths)} frames for {len(boxes)} boxes")
        if not paths:
            return
        vis = np.ones(len(paths), bool) if visible is None else np.asarray(visible, bool)
        vis = vis & np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        self.paths.extend(paths)
        self.boxes.append(boxes)
        self.visible.append(vis)
        self.starts.append(self.starts[-1] + len(paths))

    def build(self) -> TrackSet:
        if len(self.starts) == 1:
            raise DatasetError(f"{self.root}: no annotated object found for {self.name}")
        return TrackSet(self.name, self.root, np.array(self.paths, dtype=str), np.concatenate(self.boxes),
                        np.concatenate(self.visible), np.array(self.starts, np.int64), self.normalized)


def default_index_dir() -> Path:
    """``$AUTOMATCH_INDEX`` or ``~/.cache/automatch/index``."""
    env = os.environ.get("AUTOMATCH_INDEX")
    return Path(env) if env else Path.home() / ".cache" / "automatch" / "index"


def cached_scan(name: str, root: Path, key: str, scan: Callable[[], TrackSet], index_dir: Path | None = None,
                refresh: bool = False) -> TrackSet:
    """The :class:`TrackSet` of ``scan()``, read from the index file when one exists for (name, root, key).

    The index lives in ``index_dir`` (default :func:`default_index_dir`), named after the reader and a hash of the
    dataset's absolute path and ``key`` (the reader's options), so the dataset folder itself may be read-only.
    """
    root = Path(root)
    digest = hashlib.sha1(f"{root.resolve()}|{key}".encode()).hexdigest()[:12]
    path = Path(index_dir or default_index_dir()) / f"{name}-{digest}.npz"
    if path.is_file() and not refresh:
        try:
            return TrackSet.load(path, root)
        except (OSError, ValueError, KeyError, DatasetError):
            pass  # a stale or broken index is rebuilt
    tracks = scan()
    tracks.save(path)
    return tracks
