"""The in-memory form of one annotated video, shared by every dataset reader.

Coordinates are kept exactly as the dataset's annotation file writes them (OTB's are 1-based pixels, the
others 0-based): every metric is invariant to a common shift, and result files written by a tracker that was
initialised from the same annotation live in the same frame of reference.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Sequence as SequenceOf
from typing import Protocol, overload

import numpy as np

from automatch_jax.errors import DatasetError


class FramePaths(SequenceOf[str]):
    """The N frame paths of a sequence, made only when asked for (evaluation never asks).

    Either numbered files ``folder/pattern.format(start + i)`` for i = 0..N-1, or the first N names a
    ``lister`` returns (called once, on first access; it may raise DatasetError, e.g. for too few images).
    Indexing gives a ``str``, slicing a tuple of ``str``.

    Args:
      folder: the folder holding the frames.
      count: N, the number of frames (known from the annotation without listing anything).
      pattern: ``str.format`` pattern of a numbered file name, e.g. ``"{:08d}.jpg"``.
      start: the number of the first frame.
      lister: instead of a pattern, a function returning at least N file names (relative to ``folder``).
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        count: int,
        pattern: str = "{:08d}.jpg",
        start: int = 1,
        lister: Callable[[], SequenceOf[str]] | None = None,
    ):
        self._folder = os.fspath(folder)
        self._count = int(count)
        self._pattern = pattern
        self._start = int(start)
        self._lister = lister
        self._names: SequenceOf[str] | None = None

    def __len__(self) -> int:
        return self._count

    def _name(self, index: int) -> str:
        if self._lister is None:
            return self._pattern.format(self._start + index)
        if self._names is None:
            names = list(self._lister())
            if len(names) < self._count:
                raise DatasetError(f"{self._folder}: {len(names)} images for {self._count} annotated frames")
            self._names = names
        return self._names[index]

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._count)))
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"frame {index} of {self._count}")
        return os.path.join(self._folder, self._name(index))

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(self._count))

    def __repr__(self) -> str:
        return f"FramePaths({self._folder!r}, {self._count})"


@dataclasses.dataclass(frozen=True, eq=False)
class Sequence:
    """One annotated video.

    Attributes:
      name: the sequence name used for result files (``RESULTS/<tracker>/<name>.txt``).
      frames: paths of the frames, in order; ``len(frames) == N``. Readers give a lazy :class:`FramePaths`.
      gt: (N, 4) float64 boxes ``x, y, w, h``; for test splits whose annotation is private, (1, 4): only the
        first frame's box. A row of NaN marks a frame the annotation leaves unlabelled.
      dataset: the reader's dataset name (``"otb"``, ``"lasot"``, ``"got10k"``, ...), which also picks the
        evaluation protocol.
      attributes: challenge attributes of the whole sequence (OTB's ``IV``, ``SV``, ...; LaSOT's ``ARC``, ...),
        empty when the dataset has none.
      flags: per-frame arrays of shape (N,) from the dataset's side files, named as the dataset names them
        (LaSOT: ``full_occlusion``, ``out_of_view``; GOT-10k: ``absence``, ``cover``, ``cut_by_image``;
        TNL2K: ``absent``, its toolkit's ``annos/absent`` flags, i.e. ground truth ``0,0,0,0``; VOT:
        ``rectangle``, frames annotated ``x,y,w,h`` rather than as a polygon, and the per-frame tags).
      polygons: (N, 8) float64 corner polygons for datasets that annotate rotated boxes (VOT), else None;
        ``gt`` then holds their axis-aligned bounding boxes.
      meta: free-form per-sequence information (GOT-10k's ``meta_info.ini``, the object class, ...).
      image_size: ``(width, height)`` of the frames where the dataset states it, else None.
    """

    name: str
    frames: SequenceOf[str]
    gt: np.ndarray
    dataset: str
    attributes: tuple[str, ...] = ()
    flags: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    polygons: np.ndarray | None = None
    meta: Mapping[str, str] = dataclasses.field(default_factory=dict)
    image_size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> np.ndarray:
        """(4,) the first frame's box, the one a tracker is initialised with."""
        return self.gt[0]

    @property
    def fully_annotated(self) -> bool:
        """True when every frame has a ground-truth row (False for private test splits)."""
        return len(self.gt) == len(self.frames)

    def target_visible(self) -> np.ndarray | None:
        """(N,) bool, False where the dataset marks the target absent; None if it has no such flags."""
        if "full_occlusion" in self.flags or "out_of_view" in self.flags:
            absent = np.zeros(len(self), dtype=bool)
            for key in ("full_occlusion", "out_of_view"):
                if key in self.flags:
                    absent |= np.asarray(self.flags[key]).astype(bool)
            return ~absent
        for key in ("absence", "absent"):
            if key in self.flags:
                return ~np.asarray(self.flags[key]).astype(bool)
        return None


class SequenceCollection:
    """Base of the benchmark readers: ``sequence_names``, ``len`` and iteration over the reader's index.

    A reader fills the mapping or list named by ``_index_name`` (sequence name first) in its constructor and
    loads one :class:`Sequence` in ``__getitem__``.
    """

    _index_name: str = "_names"

    @property
    def sequence_names(self) -> list[str]:
        return list(getattr(self, self._index_name))

    def __len__(self) -> int:
        return len(getattr(self, self._index_name))

    def __iter__(self) -> Iterator[Sequence]:
        return (self[name] for name in getattr(self, self._index_name))

    def __getitem__(self, name: str) -> Sequence:
        raise NotImplementedError


class BenchmarkDataset(Protocol):
    """What every benchmark reader offers: named sequences, loaded lazily, in a fixed order."""

    name: str
    """The dataset's registry name (``"otb100"``, ``"lasot"``, ...)."""

    attribute_names: tuple[str, ...]
    """Every attribute a sequence of this dataset may carry, in the dataset's canonical order."""

    @property
    def sequence_names(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, name: str) -> Sequence: ...

    def __iter__(self) -> Iterator[Sequence]: ...
