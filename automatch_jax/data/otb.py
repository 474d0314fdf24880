"""OTB (OTB100 / OTB-2015, OTB-2013, TB-50) in its native layout, and any sequences written in that layout.

Layout::

    ROOT/<Folder>/img/0001.jpg ...                  frames (Board: 00001.jpg; BlurCar1 starts at 0247.jpg)
    ROOT/<Folder>/groundtruth_rect.txt              x,y,w,h per frame, 1-based pixels, comma/tab/space separated
    ROOT/<Folder>/groundtruth_rect.1.txt, .2.txt    two targets (Jogging, Skating2); Human4 uses .2
    ROOT/<Folder>/attributes.txt                    optional, for sequences not in OTB100: attribute names
                                                    ("IV,SV,OCC") or 11 flags in OTB's attribute order

The benchmark's own facts (frame ranges, attributes) come from :mod:`automatch_jax.data.otb_table`; reading
annotations never opens an image.
"""

from __future__ import annotations

from pathlib import Path

from automatch_jax.data import otb_table
from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import SEPARATORS, parse_numbers
from automatch_jax.errors import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class OTBDataset(SequenceCollection):
    """An OTB-format benchmark.

    Args:
      root: the folder holding one sub-folder per video.
      version: ``"otb100"`` (alias ``otb2015``, ``tb100``), ``"otb2013"``, ``"otb50"`` (``tb50``): exactly that
        list, every sequence required; or ``"otb"``: every OTB-format sequence found under ``root`` (benchmark
        sequences use the benchmark's facts, others their own files), at least one required.
      folders: with ``version="otb"``, only these sub-folders of ``root`` (one sequence folder read on its own,
        whatever its siblings hold).
    """

    _index_name = "_entries"

    attribute_names = otb_table.ATTRIBUTES

    def __init__(self, root: Path | str, version: str = "otb", folders: tuple[str, ...] | None = None):
        self.root = Path(root)
        version = otb_table.VERSION_ALIASES.get(version, version)
        if version != "otb" and version not in otb_table.VERSIONS:
            known = ", ".join(["otb", *otb_table.VERSIONS, *otb_table.VERSION_ALIASES])
            raise DatasetError(f"unknown OTB version {version!r}; known: {known}")
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        self.name = version
        self._entries = self._find_entries(version, folders)

    def _find_entries(self, version: str, folders: tuple[str, ...] | None) -> dict[str, otb_table.OTBEntry]:
        if version != "otb":
            names = otb_table.VERSIONS[version]
            missing = [n for n in names if not (self.root / otb_table.TABLE[n].folder).is_dir()]
            if missing:
                raise DatasetError(
                    f"{self.root}: {len(missing)} of the {len(names)} {version} sequence folders are missing "
                    f"(first: {otb_table.TABLE[missing[0]].folder}); expected ROOT/<Sequence>/groundtruth_rect.txt"
                )
            return {n: otb_table.TABLE[n] for n in names}
        entries: dict[str, otb_table.OTBEntry] = {}
        if folders is None:
            candidates = sorted(p for p in self.root.iterdir() if p.is_dir())
        else:
            candidates = [self.root / f for f in folders if (self.root / f).is_dir()]
        for folder in candidates:
            anno_files = sorted(folder.glob("groundtruth_rect*.txt"))
            known = [
                e
                for e in otb_table.TABLE.values()
                if e.folder == folder.name and _annotation_file(folder, e).is_file()
            ]
            if known:
                entries.update({e.name: e for e in known})
            elif len(anno_files) == 1:
                entries[folder.name] = otb_table.OTBEntry(
                    name=folder.name, folder=folder.name, anno_file=anno_files[0].name
                )
            elif anno_files:
                for index, path in enumerate(anno_files, start=1):
                    name = f"{folder.name}-{index}"
                    entries[name] = otb_table.OTBEntry(name=name, folder=folder.name, anno_file=path.name)
        if not entries:
            raise DatasetError(
                f"{self.root}: no OTB-format sequence found (expected ROOT/<Sequence>/groundtruth_rect.txt and img/)"
            )
        return entries

    def result_name_aliases(self, name: str) -> tuple[str, ...]:
        """Names a result file of ``name`` may have (``Jogging-1``, ``Jogging.1``, ``Jogging_1``)."""
        entry = self._entries[name]
        if entry.folder == name:
            return (name,)
        if name in otb_table.TABLE:
            return otb_table.result_aliases(name)
        suffix = name.rsplit("-", 1)[1]
        return (name, f"{entry.folder}.{suffix}", f"{entry.folder}_{suffix}")

    def __getitem__(self, name: str) -> Sequence:
        try:
            entry = self._entries[name]
        except KeyError:
            raise DatasetError(f"{self.root}: no sequence named {name!r} in {self.name}") from None
        folder = self.root / entry.folder
        gt = parse_numbers(_annotation_file(folder, entry), 4)
        if entry.end_frame is not None and len(gt) != entry.end_frame - entry.start_frame + 1:
            raise DatasetError(
                f"{folder / entry.anno_file}: {len(gt)} boxes, but {name} has frames "
                f"{entry.start_frame}-{entry.end_frame} ({entry.end_frame - entry.start_frame + 1} boxes)"
            )
        if name in otb_table.TABLE:
            frames = FramePaths(folder / "img", len(gt), f"{{:0{entry.digits}d}}.jpg", entry.start_frame)
            attributes = entry.attributes
        else:
            frames = _listed_frames(folder, len(gt))
            attributes = read_attributes(folder / "attributes.txt")
        return Sequence(name=name, frames=frames, gt=gt, dataset="otb", attributes=attributes)


def _annotation_file(folder: Path, entry: otb_table.OTBEntry) -> Path:
    path = folder / entry.anno_file
    if path.is_file() or entry.anno_file == "groundtruth_rect.txt":
        return path
    # A benchmark copy that names the file plainly (e.g. Human4/groundtruth_rect.txt) is accepted too.
    plain = folder / "groundtruth_rect.txt"
    return plain if plain.is_file() and entry.folder == entry.name else path


def list_images(folder: Path) -> list[str]:
    """Names of the images (:data:`IMAGE_SUFFIXES`) in ``folder``, sorted; [] when it is not a folder."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _listed_frames(folder: Path, count: int) -> FramePaths:
    """The first ``count`` images of ``folder/img`` in name order (``img/0001.jpg`` ... when it has none),
    listed when first needed."""
    image_dir = folder / "img"

    def names() -> list[str]:
        return list_images(image_dir) or [f"{i:04d}.jpg" for i in range(1, count + 1)]

    return FramePaths(image_dir, count, lister=names)


def read_attributes(path: Path) -> tuple[str, ...]:
    """OTB attributes from an ``attributes.txt``: names (``IV,SV``) or 11 0/1 flags; () when absent."""
    if not path.is_file():
        return ()
    cells = SEPARATORS.sub(" ", path.read_text(encoding="utf-8", errors="replace")).split()
    if cells and all(c in ("0", "1") for c in cells):
        if len(cells) != len(otb_table.ATTRIBUTES):
            raise DatasetError(
                f"{path}: {len(cells)} flags, expected {len(otb_table.ATTRIBUTES)} (one per OTB attribute)"
            )
        return tuple(a for a, c in zip(otb_table.ATTRIBUTES, cells, strict=True) if c == "1")
    unknown = [c for c in cells if c.upper() not in otb_table.ATTRIBUTES]
    if unknown:
        raise DatasetError(
            f"{path}: unknown attribute {unknown[0]!r}; known: {', '.join(otb_table.ATTRIBUTES)}"
        )
    upper = {c.upper() for c in cells}
    return tuple(a for a in otb_table.ATTRIBUTES if a in upper)


def write_attributes(path: Path, attributes: tuple[str, ...] | list[str]) -> Path:
    """Writes ``attributes.txt`` as comma-separated names (what :func:`read_attributes` reads)."""
    path.write_text(
        ",".join(a for a in otb_table.ATTRIBUTES if a in set(attributes)) + "\n", encoding="utf-8"
    )
    return path
