"""LaSOT in its native layout: the test split of 280 videos (Protocol II) and the training split.

Layout (the full release groups videos by class; the test-only release drops that level, both are read)::

    ROOT/<class>/<class>-<k>/img/00000001.jpg ...
    ROOT/<class>/<class>-<k>/groundtruth.txt         x,y,w,h per frame, comma separated
    ROOT/<class>/<class>-<k>/full_occlusion.txt      one line: 0/1 per frame, comma separated
    ROOT/<class>/<class>-<k>/out_of_view.txt         one line: 0/1 per frame
    ROOT/<class>/<class>-<k>/nlp.txt                 a sentence describing the target (kept in ``meta``)
    ROOT/att/<class>-<k>.txt                         optional (the toolkit's annos/att): 14 attribute flags
"""

from __future__ import annotations

from pathlib import Path

from automatch_jax.data.sequence import FramePaths, Sequence, SequenceCollection
from automatch_jax.data.text import SEPARATORS, parse_numbers, read_flags
from automatch_jax.errors import DatasetError

ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC")
"""LaSOT's 14 attributes in the toolkit's order."""

_TEST_SPLIT = """
    airplane: 1 9 13 15
    basketball: 1 6 7 11
    bear: 2 4 6 17
    bicycle: 2 7 9 18
    bird: 2 3 15 17
    boat: 3 4 12 17
    book: 3 10 11 19
    bottle: 1 12 14 18
    bus: 2 5 17 19
    car: 2 6 9 17
    cat: 1 3 18 20
    cattle: 2 7 12 13
    chameleon: 3 6 11 20
    coin: 3 6 7 18
    crab: 3 6 12 18
    crocodile: 3 4 10 14
    cup: 1 4 7 17
    deer: 4 8 10 14
    dog: 1 7 15 19
    drone: 2 7 13 15
    electricfan: 1 10 18 20
    elephant: 1 12 16 18
    flag: 2 3 5 9
    fox: 2 3 5 20
    frog: 3 4 9 20
    gametarget: 1 2 7 13
    gecko: 1 5 16 19
    giraffe: 2 10 13 15
    goldfish: 3 7 8 10
    gorilla: 4 6 9 13
    guitar: 3 8 10 16
    hand: 2 3 9 16
    hat: 1 2 5 18
    helmet: 5 11 13 19
    hippo: 1 7 9 20
    horse: 1 4 12 15
    kangaroo: 2 5 11 14
    kite: 4 6 10 15
    leopard: 1 7 16 20
    licenseplate: 6 12 13 15
    lion: 1 5 12 20
    lizard: 1 3 6 13
    microphone: 2 6 14 16
    monkey: 3 4 9 17
    motorcycle: 1 3 9 18
    mouse: 1 8 9 17
    person: 1 5 10 12
    pig: 2 10 13 18
    pool: 3 7 12 15
    rabbit: 10 13 17 19
    racing: 10 15 16 20
    robot: 1 5 8 19
    rubicCube: 1 6 14 19
    sepia: 6 8 13 16
    shark: 2 3 5 6
    sheep: 3 5 7 9
    skateboard: 3 8 16 19
    spider: 14 16 18 20
    squirrel: 8 11 13 19
    surfboard: 4 5 8 12
    swing: 10 14 17 20
    tank: 6 9 14 16
    tiger: 4 6 12 18
    train: 1 7 11 20
    truck: 3 6 7 16
    turtle: 5 8 9 16
    umbrella: 2 9 17 19
    volleyball: 1 13 18 19
    yoyo: 7 15 17 19
    zebra: 10 14 16 17
"""

TEST_SEQUENCES = tuple(
    f"{cls.strip()}-{k}"
    for line in _TEST_SPLIT.strip().splitlines()
    for cls, ks in [line.split(":")]
    for k in ks.split()
)
"""The 280 videos of LaSOT's test split (4 per class), grouped by class."""


class LaSOTDataset(SequenceCollection):
    """LaSOT's test split (``split="test"``, every one of the 280 videos required) or training split
    (``split="train"``: every other video found under ``root``)."""

    _index_name = "_dirs"

    attribute_names = ATTRIBUTES

    def __init__(self, root: Path | str, split: str = "test"):
        self.root = Path(root)
        if split not in ("test", "train"):
            raise DatasetError(f"unknown LaSOT split {split!r}; known: test, train")
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        self.name = "lasot" if split == "test" else "lasot-train"
        self._dirs = self._find(split)

    def _find(self, split: str) -> dict[str, Path]:
        def folder(name: str) -> Path:
            grouped = self.root / name.rsplit("-", 1)[0] / name
            return grouped if grouped.is_dir() else self.root / name

        if split == "test":
            dirs = {name: folder(name) for name in TEST_SEQUENCES}
            missing = [n for n, d in dirs.items() if not (d / "groundtruth.txt").is_file()]
            if missing:
                raise DatasetError(
                    f"{self.root}: {len(missing)} of the 280 LaSOT test videos are missing (first: {missing[0]}); "
                    "expected ROOT/<class>/<class>-<k>/groundtruth.txt"
                )
            return dirs
        test = set(TEST_SEQUENCES)
        found = sorted(p.parent for p in self.root.glob("*/*/groundtruth.txt")) + sorted(
            p.parent for p in self.root.glob("*/groundtruth.txt")
        )
        dirs = {d.name: d for d in found if d.name not in test}
        if not dirs:
            raise DatasetError(
                f"{self.root}: no LaSOT training video found (ROOT/<class>/<class>-<k>/groundtruth.txt)"
            )
        return dirs

    def __getitem__(self, name: str) -> Sequence:
        try:
            folder = self._dirs[name]
        except KeyError:
            raise DatasetError(f"{self.root}: no sequence named {name!r} in {self.name}") from None
        gt = parse_numbers(folder / "groundtruth.txt", 4)
        flags = {}
        for key in ("full_occlusion", "out_of_view"):
            path = folder / f"{key}.txt"
            values = read_flags(path)
            if len(values) != len(gt):
                raise DatasetError(f"{path}: {len(values)} flags for {len(gt)} annotated frames")
            flags[key] = values.astype(bool)
        meta = {"object_class": name.rsplit("-", 1)[0]}
        nlp = folder / "nlp.txt"
        if nlp.is_file():
            meta["language"] = nlp.read_text(encoding="utf-8", errors="replace").strip()
        return Sequence(
            name=name,
            frames=FramePaths(folder / "img", len(gt)),
            gt=gt,
            dataset="lasot",
            attributes=self._attributes(name),
            flags=flags,
            meta=meta,
        )

    def _attributes(self, name: str) -> tuple[str, ...]:
        for base in (self.root / "att", self.root / "annos" / "att"):
            path = base / f"{name}.txt"
            if path.is_file():
                cells = SEPARATORS.sub(" ", path.read_text(encoding="utf-8", errors="replace")).split()
                if len(cells) != len(ATTRIBUTES) or any(c not in ("0", "1") for c in cells):
                    raise DatasetError(f"{path}: expected {len(ATTRIBUTES)} 0/1 attribute flags")
                return tuple(a for a, c in zip(ATTRIBUTES, cells, strict=True) if c == "1")
        return ()
