"""The facts of the OTB benchmark that are not on disk: sequence lists per version, frame numbering, and the
11 challenge attributes of every OTB100 sequence (from the benchmark's published attribute annotation).

Names of the two-target sequences follow the benchmark's own tables (``Jogging-1``, ``Skating2-2``); the
got10k toolkit calls them ``Jogging.1`` and pytracking ``Jogging_1``, and result files under any of these
names are accepted.
"""

from __future__ import annotations

import dataclasses

ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
"""OTB's 11 attributes in the benchmark's canonical order."""

ATTRIBUTE_NAMES = {
    "IV": "Illumination Variation",
    "SV": "Scale Variation",
    "OCC": "Occlusion",
    "DEF": "Deformation",
    "MB": "Motion Blur",
    "FM": "Fast Motion",
    "IPR": "In-Plane Rotation",
    "OPR": "Out-of-Plane Rotation",
    "OV": "Out-of-View",
    "BC": "Background Clutters",
    "LR": "Low Resolution",
}

_OTB2013 = """
Basketball Bolt Boy Car4 CarDark CarScale Coke Couple Crossing David David2 David3 Deer Dog1 Doll Dudek FaceOcc1
FaceOcc2 Fish FleetFace Football Football1 Freeman1 Freeman3 Freeman4 Girl Ironman Jogging-1 Jogging-2 Jumping
Lemming Liquor Matrix Mhyang MotorRolling MountainBike Shaking Singer1 Singer2 Skating1 Skiing Soccer Subway Suv
Sylvester Tiger1 Tiger2 Trellis Walking Walking2 Woman
"""

_TB50 = """
Basketball Biker Bird1 BlurBody BlurCar2 BlurFace BlurOwl Bolt Box Car1 Car4 CarDark CarScale ClifBar Couple Crowds
David Deer Diving DragonBaby Dudek Football Freeman4 Girl Human3 Human4 Human6 Human9 Ironman Jump Jumping Liquor
Matrix MotorRolling Panda RedTeam Shaking Singer2 Skating1 Skating2-1 Skating2-2 Skiing Soccer Surfer Sylvester
Tiger2 Trellis Walking Walking2 Woman
"""

_TB100_REST = """
Bird2 BlurCar1 BlurCar3 BlurCar4 Board Bolt2 Boy Car2 Car24 Coke Coupon Crossing Dancer Dancer2 David2 David3 Dog
Dog1 Doll FaceOcc1 FaceOcc2 Fish FleetFace Football1 Freeman1 Freeman3 Girl2 Gym Human2 Human5 Human7 Human8
Jogging-1 Jogging-2 KiteSurf Lemming Man Mhyang MountainBike Rubik Singer1 Skater Skater2 Subway Suv Tiger1 Toy
Trans Twinnings Vase
"""

_BY_ATTRIBUTE = {
    "IV": """Basketball Box Car1 Car2 Car24 Car4 CarDark Coke Crowds David Doll FaceOcc2 Fish Human2 Human4 Human7
        Human8 Human9 Ironman KiteSurf Lemming Liquor Man Matrix Mhyang MotorRolling Shaking Singer1 Singer2
        Skating1 Skiing Soccer Sylvester Tiger1 Tiger2 Trans Trellis Woman""",
    "SV": """Biker BlurBody BlurCar2 BlurOwl Board Box Boy Car1 Car24 Car4 CarScale ClifBar Couple Crossing Dancer
        David Diving Dog Dog1 Doll DragonBaby Dudek FleetFace Freeman1 Freeman3 Freeman4 Girl Girl2 Gym Human2
        Human3 Human4 Human5 Human6 Human7 Human8 Human9 Ironman Jump Lemming Liquor Matrix MotorRolling Panda
        RedTeam Rubik Shaking Singer1 Skater Skater2 Skating1 Skating2-1 Skating2-2 Skiing Soccer Surfer Toy
        Trans Trellis Twinnings Vase Walking Walking2 Woman""",
    "OCC": """Basketball Biker Bird2 Bolt Box CarScale ClifBar Coke Coupon David David3 Doll DragonBaby Dudek
        FaceOcc1 FaceOcc2 Football Freeman4 Girl Girl2 Human3 Human4 Human5 Human6 Human7 Ironman Jogging-1
        Jogging-2 Jump KiteSurf Lemming Liquor Matrix Panda RedTeam Rubik Singer1 Skating1 Skating2-1 Skating2-2
        Soccer Subway Suv Tiger1 Tiger2 Trans Walking Walking2 Woman""",
    "DEF": """Basketball Bird1 Bird2 BlurBody Bolt Bolt2 Couple Crossing Crowds Dancer Dancer2 David David3 Diving
        Dog Dudek FleetFace Girl2 Gym Human3 Human4 Human5 Human6 Human7 Human8 Human9 Jogging-1 Jogging-2 Jump
        Mhyang Panda Singer2 Skater Skater2 Skating1 Skating2-1 Skating2-2 Skiing Subway Tiger1 Tiger2 Trans
        Walking Woman""",
    "MB": """Biker BlurBody BlurCar1 BlurCar2 BlurCar3 BlurCar4 BlurFace BlurOwl Board Box Boy ClifBar David Deer
        DragonBaby FleetFace Girl2 Human2 Human7 Human9 Ironman Jump Jumping Liquor MotorRolling Soccer Tiger1
        Tiger2 Woman""",
    "FM": """Biker Bird1 Bird2 BlurBody BlurCar1 BlurCar2 BlurCar3 BlurCar4 BlurFace BlurOwl Board Boy CarScale
        ClifBar Coke Couple Deer DragonBaby Dudek FleetFace Human6 Human7 Human9 Ironman Jumping Lemming Liquor
        Matrix MotorRolling Skater2 Skating2-1 Skating2-2 Soccer Surfer Tiger1 Tiger2 Toy Vase Woman""",
    "IPR": """Bird2 BlurBody BlurFace BlurOwl Bolt Box Boy CarScale ClifBar Coke Dancer David David2 Deer Diving
        Dog1 Doll DragonBaby Dudek FaceOcc2 FleetFace Football Football1 Freeman1 Freeman3 Freeman4 Girl Gym
        Ironman Jump KiteSurf Matrix MotorRolling MountainBike Panda RedTeam Rubik Shaking Singer2 Skater Skater2
        Skiing Soccer Surfer Suv Sylvester Tiger1 Tiger2 Toy Trellis Vase""",
    "OPR": """Basketball Biker Bird2 Board Bolt Box Boy CarScale Coke Couple Dancer David David2 David3 Dog Dog1
        Doll DragonBaby Dudek FaceOcc2 FleetFace Football Football1 Freeman1 Freeman3 Freeman4 Girl Girl2 Gym
        Human2 Human3 Human6 Ironman Jogging-1 Jogging-2 Jump KiteSurf Lemming Liquor Matrix Mhyang MountainBike
        Panda RedTeam Rubik Shaking Singer1 Singer2 Skater Skater2 Skating1 Skating2-1 Skating2-2 Skiing Soccer
        Surfer Sylvester Tiger1 Tiger2 Toy Trellis Twinnings Woman""",
    "OV": "Biker Bird1 Board Box ClifBar DragonBaby Dudek Human6 Ironman Lemming Liquor Panda Suv Tiger2",
    "BC": """Basketball Board Bolt2 Box Car1 Car2 Car24 CarDark ClifBar Couple Coupon Crossing Crowds David3 Deer
        Dudek Football Football1 Human3 Ironman Liquor Matrix Mhyang MotorRolling MountainBike Shaking Singer2
        Skating1 Soccer Subway Trellis""",
    "LR": "Biker Car1 Freeman3 Freeman4 Panda RedTeam Skiing Surfer Walking",
}


@dataclasses.dataclass(frozen=True)
class OTBEntry:
    """How one OTB sequence is laid out on disk.

    Attributes:
      name: the benchmark's name for it (``Jogging-1`` for the first target of ``Jogging``).
      folder: its folder under the dataset root (``Jogging``).
      anno_file: its annotation file in that folder (``groundtruth_rect.1.txt``).
      start_frame: number of the first annotated frame (its image is ``img/<start>.jpg``, zero-padded).
      end_frame: number of the last annotated frame where the benchmark fixes it, else None (then the
        annotation's length decides).
      digits: zero padding of the frame numbers (5 for Board, 4 otherwise).
      attributes: its OTB attributes in canonical order.
    """

    name: str
    folder: str
    anno_file: str = "groundtruth_rect.txt"
    start_frame: int = 1
    end_frame: int | None = None
    digits: int = 4
    attributes: tuple[str, ...] = ()


# Frame numbering that differs from "img/0001.jpg .. one per annotation line" (the benchmark's configSeqs):
# BlurCar1/3/4 start late (their image files start there too); David's annotation covers frames 300-770 of
# 770 images; Football1, Freeman3, Freeman4 and Diving have more images than annotated frames.
_LAYOUT: dict[str, dict] = {
    "BlurCar1": {"start_frame": 247, "end_frame": 988},
    "BlurCar3": {"start_frame": 3, "end_frame": 359},
    "BlurCar4": {"start_frame": 18, "end_frame": 397},
    "Board": {"digits": 5, "end_frame": 698},
    "David": {"start_frame": 300, "end_frame": 770},
    "Football1": {"end_frame": 74},
    "Freeman3": {"end_frame": 460},
    "Freeman4": {"end_frame": 283},
    "Diving": {"end_frame": 215},
    "Jogging-1": {"folder": "Jogging", "anno_file": "groundtruth_rect.1.txt"},
    "Jogging-2": {"folder": "Jogging", "anno_file": "groundtruth_rect.2.txt"},
    "Skating2-1": {"folder": "Skating2", "anno_file": "groundtruth_rect.1.txt"},
    "Skating2-2": {"folder": "Skating2", "anno_file": "groundtruth_rect.2.txt"},
    # Human4's first target file (groundtruth_rect.1.txt) is empty; the benchmark's target is the second.
    "Human4": {"anno_file": "groundtruth_rect.2.txt"},
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


OTB2013 = _names(_OTB2013)
OTB50 = _names(_TB50)
OTB100 = tuple(sorted(set(_names(_TB100_REST) + OTB50), key=str.lower))

VERSIONS = {"otb100": OTB100, "otb2013": OTB2013, "otb50": OTB50}
"""Sequence lists by version: OTB100 (OTB-2015, TB-100), OTB-2013 (51 targets in 50 videos), TB-50."""

VERSION_ALIASES = {"otb2015": "otb100", "tb100": "otb100", "tb50": "otb50", "otb13": "otb2013"}


def _attributes_of(name: str) -> tuple[str, ...]:
    return tuple(a for a in ATTRIBUTES if name in _BY_ATTRIBUTE[a].split())


TABLE: dict[str, OTBEntry] = {
    name: OTBEntry(
        **{"name": name, "folder": name, "attributes": _attributes_of(name), **_LAYOUT.get(name, {})}
    )
    for name in OTB100
}
"""Every OTB100 sequence (OTB-2013 and TB-50 are subsets) by its benchmark name."""


def result_aliases(name: str) -> tuple[str, ...]:
    """The names a result file of sequence ``name`` may carry: ``Jogging-1``, ``Jogging.1``, ``Jogging_1``
    (benchmark/pysot, got10k toolkit, pytracking); other names only themselves."""
    entry = TABLE.get(name)
    if entry is None or entry.folder == name:
        return (name,)
    suffix = entry.anno_file.split(".")[1]
    return (name, f"{entry.folder}.{suffix}", f"{entry.folder}_{suffix}")
