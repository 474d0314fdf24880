"""TNL2K in its native layout (the test split of 700 videos; the training split reads the same way).

Layout::

    ROOT/<seq>/imgs/00001.png ...     frames (names and extensions vary between videos: listed and sorted)
    ROOT/<seq>/groundtruth.txt        x,y,w,h per frame, comma separated
    ROOT/<seq>/language.txt           the sentence describing the target (kept in ``meta``)
"""

from __future__ import annotations

from pathlib import Path

from automatch_jax.data.otb import IMAGE_SUFFIXES
from automatch_jax.data.sequence import Sequence, SequenceCollection
from automatch_jax.data.text import parse_numbers
from automatch_jax.errors import DatasetError


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
        images = (
            sorted(p.name for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if (image_dir.is_dir())
            else []
        )
        if images and len(images) != len(gt):
            raise DatasetError(f"{image_dir}: {len(images)} images for {len(gt)} annotated frames")
        frames = images or [f"{i:05d}.png" for i in range(1, len(gt) + 1)]
        meta = {}
        language = folder / "language.txt"
        if language.is_file():
            meta["language"] = language.read_text(encoding="utf-8", errors="replace").strip()
        return Sequence(
            name=name, frames=tuple(str(image_dir / f) for f in frames), gt=gt, dataset="tnl2k", meta=meta
        )
