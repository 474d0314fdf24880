"""GOT-10k in its native layout (validation and test splits; the training split reads the same way).

Layout::

    ROOT/<split>/list.txt                         the split's sequence names, one per line
    ROOT/<split>/<seq>/00000001.jpg ...           frames
    ROOT/<split>/<seq>/groundtruth.txt            x,y,w,h per frame (test split: the first frame only)
    ROOT/<split>/<seq>/absence.label              0/1 per frame: target absent (train/val)
    ROOT/<split>/<seq>/cover.label                0..8 per frame: visible fraction in eighths (train/val)
    ROOT/<split>/<seq>/cut_by_image.label         0/1 per frame: target cut by the image border (train/val)
    ROOT/<split>/<seq>/meta_info.ini              "[METAINFO]" then "key: value" lines, incl. resolution
"""

from __future__ import annotations

import ast
from pathlib import Path

from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import parse_numbers, read_flags
from automatch_jax.errors import DatasetError

SPLITS = ("train", "val", "test")
LABELS = ("absence", "cover", "cut_by_image")


class GOT10kDataset(SequenceCollection):
    """One split of GOT-10k; ``ROOT`` may be the dataset folder or the split folder itself."""

    _index_name = "_names"

    attribute_names: tuple[str, ...] = ()

    def __init__(self, root: Path | str, split: str = "val"):
        if split not in SPLITS:
            raise DatasetError(f"unknown GOT-10k split {split!r}; known: {', '.join(SPLITS)}")
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder not found")
        self.split = split
        self.name = f"got10k-{split}"
        self.split_dir = root / split if (root / split / "list.txt").is_file() else root
        list_file = self.split_dir / "list.txt"
        if not list_file.is_file():
            raise DatasetError(
                f"{root}: no {split}/list.txt (expected the GOT-10k layout ROOT/{split}/list.txt)"
            )
        self._names = [
            line.strip() for line in list_file.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if not self._names:
            raise DatasetError(f"{list_file}: empty sequence list")
        missing = [n for n in self._names if not (self.split_dir / n / "groundtruth.txt").is_file()]
        if missing:
            raise DatasetError(
                f"{self.split_dir}: {len(missing)} of the {len(self._names)} sequences in list.txt have no "
                f"groundtruth.txt (first: {missing[0]})"
            )

    def __getitem__(self, name: str) -> Sequence:
        if name not in self._names:
            raise DatasetError(f"{self.split_dir}: no sequence named {name!r} in {self.name}")
        folder = self.split_dir / name
        gt = parse_numbers(folder / "groundtruth.txt", 4)
        meta = read_meta(folder / "meta_info.ini")
        image_size = parse_resolution(folder / "meta_info.ini", meta)
        flags = {}
        for label in LABELS:
            path = folder / f"{label}.label"
            if path.is_file():
                flags[label] = read_flags(path)
        if self.split == "test" or len(gt) == 1:
            n_frames = _count_frames(folder) if len(gt) == 1 else len(gt)
        else:
            n_frames = len(gt)
        for label, values in flags.items():
            if len(values) != n_frames:
                raise DatasetError(
                    f"{folder / (label + '.label')}: {len(values)} labels for {n_frames} frames"
                )
        return Sequence(
            name=name,
            frames=FramePaths(folder, n_frames),
            gt=gt,
            dataset="got10k",
            flags=flags,
            meta=meta,
            image_size=image_size,
        )


def read_meta(path: Path) -> dict[str, str]:
    """``key: value`` pairs of a ``meta_info.ini`` ({} when the file is absent)."""
    if not path.is_file():
        return {}
    meta = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("["):
            meta[key.strip()] = value.strip()
    return meta


def parse_resolution(path: Path, meta: dict[str, str]) -> tuple[int, int] | None:
    """``(width, height)`` from the meta's ``resolution: (1280, 720)``, None when not given."""
    if "resolution" not in meta:
        return None
    try:
        width, height = ast.literal_eval(meta["resolution"])
        return int(width), int(height)
    except (ValueError, SyntaxError, TypeError):
        raise DatasetError(f"{path}: resolution {meta['resolution']!r} is not '(width, height)'") from None


def _count_frames(folder: Path) -> int:
    """Frames of a test sequence, whose annotation holds only the first box: its numbered JPEG files."""
    count = sum(1 for p in folder.glob("*.jpg") if p.stem.isdigit())
    if count == 0:
        raise DatasetError(
            f"{folder}: no frames (00000001.jpg ...) to count; the test annotation has one box"
        )
    return count
