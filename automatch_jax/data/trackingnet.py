"""TrackingNet in its native layout: the TEST split (first-frame boxes only) and the TRAIN_0..TRAIN_11 chunks.

Layout::

    ROOT/<SPLIT>/anno/<seq>.txt          x,y,w,h per frame, comma separated (TEST: the first frame only)
    ROOT/<SPLIT>/frames/<seq>/0.jpg ...  frames numbered from 0, without zero padding
"""

from __future__ import annotations

from pathlib import Path

from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import parse_numbers
from automatch_jax.errors import DatasetError

SPLITS = ("TEST", *(f"TRAIN_{i}" for i in range(12)))


class TrackingNetDataset(SequenceCollection):
    """One or more TrackingNet splits (``"TEST"`` by default; ``"TRAIN_3"``, ...)."""

    _index_name = "_files"

    attribute_names: tuple[str, ...] = ()

    def __init__(self, root: Path | str, splits: tuple[str, ...] | str = "TEST"):
        self.root = Path(root)
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        unknown = [s for s in splits if s not in SPLITS]
        if unknown:
            raise DatasetError(f"unknown TrackingNet split {unknown[0]!r}; known: TEST, TRAIN_0 ... TRAIN_11")
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        self.name = "trackingnet" if splits == ("TEST",) else "trackingnet-" + "+".join(splits)
        self._files: dict[str, Path] = {}
        for split in splits:
            anno_dir = self.root / split / "anno"
            if not anno_dir.is_dir():
                raise DatasetError(
                    f"{self.root}: no {split}/anno folder (expected ROOT/{split}/anno/<seq>.txt)"
                )
            for path in sorted(anno_dir.glob("*.txt")):
                self._files[path.stem] = path
        if not self._files:
            raise DatasetError(
                f"{self.root}: no annotation files under {', '.join(s + '/anno' for s in splits)}"
            )

    def __getitem__(self, name: str) -> Sequence:
        try:
            anno = self._files[name]
        except KeyError:
            raise DatasetError(f"{self.root}: no sequence named {name!r} in {self.name}") from None
        gt = parse_numbers(anno, 4)
        frame_dir = anno.parent.parent / "frames" / name
        if len(gt) == 1:
            numbers = (
                [int(p.stem) for p in frame_dir.glob("*.jpg") if p.stem.isdigit()]
                if frame_dir.is_dir()
                else []
            )
            if not numbers:
                raise DatasetError(f"{frame_dir}: no frames (0.jpg ...) to count; the annotation has one box")
            n_frames = max(numbers) + 1
        else:
            n_frames = len(gt)
        return Sequence(
            name=name,
            frames=FramePaths(frame_dir, n_frames, "{}.jpg", 0),
            gt=gt,
            dataset="trackingnet",
        )
