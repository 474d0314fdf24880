"""TNL2K in its native layout (the test split of 700 videos; the training split reads the same way).

Layout::

    ROOT/<seq>/imgs/00001.png ...     frames (names and extensions vary between videos: listed and sorted)
    ROOT/<seq>/groundtruth.txt        x,y,w,h per frame, comma separated; 0,0,0,0 where the target is absent
    ROOT/<seq>/language.txt           the sentence describing the target (kept in ``meta``)

The frames whose ground truth is ``0,0,0,0`` are the ones the official toolkit's ``annos/absent/<seq>.txt``
files flag absent; they become the ``absent`` flag (:meth:`Sequence.target_visible`), which the evaluation
drops as the toolkit does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automatch_jax.data.otb import list_images
from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import parse_numbers
from automatch_jax.errors import DatasetError


def absent_frames(gt: np.ndarray) -> np.ndarray:
    """(N,) bool: the rows ``0,0,0,0`` of an (N, 4) TNL2K annotation (the toolkit's absent flags)."""
    return np.all(np.asarray(gt) == 0, axis=1)


class TNL2KDataset(SequenceCollection):
    """Every video under ``root`` that has a ``groundtruth.txt``."""

    _index_name = "_dirs"

    attribute_names: tuple[str, ...] = ()

    def __init__(self, root: Path | str):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        self.name = "tnl2k"
        self._dirs = {p.parent.name: p.parent for p in sorted(self.root.glob("*/groundtruth.txt"))}
        if not self._dirs:
            raise DatasetError(
                f"{self.root}: no TNL2K video found (expected ROOT/<seq>/groundtruth.txt and imgs/)"
            )

    def __getitem__(self, name: str) -> Sequence:
        try:
            folder = self._dirs[name]
        except KeyError:
            raise DatasetError(f"{self.root}: no sequence named {name!r} in tnl2k") from None
        gt = parse_numbers(folder / "groundtruth.txt", 4)
        image_dir = folder / "imgs"
        count = len(gt)

        def names() -> list[str]:
            images = list_images(image_dir)
            if images and len(images) != count:
                raise DatasetError(f"{image_dir}: {len(images)} images for {count} annotated frames")
            return images or [f"{i:05d}.png" for i in range(1, count + 1)]

        meta = {}
        language = folder / "language.txt"
        if language.is_file():
            meta["language"] = language.read_text(encoding="utf-8", errors="replace").strip()
        return Sequence(
            name=name,
            frames=FramePaths(image_dir, count, lister=names),
            gt=gt,
            dataset="tnl2k",
            flags={"absent": absent_frames(gt)},
            meta=meta,
        )
