"""The in-memory form of one annotated video, shared by every dataset reader.

Coordinates are kept exactly as the dataset's annotation file writes them (OTB's are 1-based pixels, the
others 0-based): every metric is invariant to a common shift, and result files written by a tracker that was
initialised from the same annotation live in the same frame of reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Protocol

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Sequence:
    """One annotated video.

    Attributes:
      name: the sequence name used for result files (``RESULTS/<tracker>/<name>.txt``).
      frames: paths of the frames, in order; ``len(frames) == N``.
      gt: (N, 4) float64 boxes ``x, y, w, h``; for test splits whose annotation is private, (1, 4): only the
        first frame's box. A row of NaN marks a frame the annotation leaves unlabelled.
      dataset: the reader's dataset name (``"otb"``, ``"lasot"``, ``"got10k"``, ...), which also picks the
        evaluation protocol.
      attributes: challenge attributes of the whole sequence (OTB's ``IV``, ``SV``, ...; LaSOT's ``ARC``, ...),
        empty when the dataset has none.
      flags: per-frame arrays of shape (N,) from the dataset's side files, named as the dataset names them
        (LaSOT: ``full_occlusion``, ``out_of_view``; GOT-10k: ``absence``, ``cover``, ``cut_by_image``).
      polygons: (N, 8) float64 corner polygons for datasets that annotate rotated boxes (VOT), else None;
        ``gt`` then holds their axis-aligned bounding boxes.
      meta: free-form per-sequence information (GOT-10k's ``meta_info.ini``, the object class, ...).
      image_size: ``(width, height)`` of the frames where the dataset states it, else None.
    """

    name: str
    frames: tuple[str, ...]
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
        if "absence" in self.flags:
            return ~np.asarray(self.flags["absence"]).astype(bool)
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
