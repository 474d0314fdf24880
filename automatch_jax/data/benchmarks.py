"""Every benchmark reader by name: ``load_benchmark("otb100", root)``.

==================== ==============================================================================
name                 what
==================== ==============================================================================
otb                  every OTB-format sequence under ROOT (the benchmark's facts where the name is known)
otb100 (otb2015)     exactly the 100 OTB100 sequences (98 videos; Jogging and Skating2 have two targets)
otb2013, otb50       the OTB-2013 (51) and TB-50 (50) lists
lasot                LaSOT's 280 test videos
lasot-train          every other LaSOT video under ROOT
got10k (got10k-val)  GOT-10k validation split
got10k-test          GOT-10k test split (ground truth private: ``automatch submission``)
trackingnet          TrackingNet TEST (ground truth private: ``automatch submission``)
tnl2k                TNL2K test split (every video under ROOT)
vot                  a VOT edition's folder (rectangles or polygons)
==================== ==============================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from automatch_jax.data.got10k import GOT10kDataset
from automatch_jax.data.lasot import LaSOTDataset
from automatch_jax.data.otb import OTBDataset
from automatch_jax.data.sequence import BenchmarkDataset, Sequence
from automatch_jax.data.tnl2k import TNL2KDataset
from automatch_jax.data.trackingnet import TrackingNetDataset
from automatch_jax.data.vot import VOTDataset
from automatch_jax.errors import DatasetError
from automatch_jax.registry import Registry, UnknownNameError

BENCHMARKS: Registry[Callable[[Path], BenchmarkDataset]] = Registry("dataset")
"""Benchmark name -> ``factory(root) -> BenchmarkDataset`` (the table above)."""
BENCHMARKS.register("otb", lambda root: OTBDataset(root, "otb"))
BENCHMARKS.register("otb100", lambda root: OTBDataset(root, "otb100"))
BENCHMARKS.register("otb2015", lambda root: OTBDataset(root, "otb100"))
BENCHMARKS.register("otb2013", lambda root: OTBDataset(root, "otb2013"))
BENCHMARKS.register("otb50", lambda root: OTBDataset(root, "otb50"))
BENCHMARKS.register("lasot", lambda root: LaSOTDataset(root, "test"))
BENCHMARKS.register("lasot-train", lambda root: LaSOTDataset(root, "train"))
BENCHMARKS.register("got10k", lambda root: GOT10kDataset(root, "val"))
BENCHMARKS.register("got10k-val", lambda root: GOT10kDataset(root, "val"))
BENCHMARKS.register("got10k-test", lambda root: GOT10kDataset(root, "test"))
BENCHMARKS.register("trackingnet", lambda root: TrackingNetDataset(root, "TEST"))
BENCHMARKS.register("tnl2k", TNL2KDataset)
BENCHMARKS.register("vot", VOTDataset)


def load_benchmark(name: str, root: Path | str) -> BenchmarkDataset:
    """The benchmark ``name`` read from ``root`` in its native layout.

    Raises:
      DatasetError: unknown name, missing root, or a root without the benchmark's layout (one line).
    """
    try:
        factory = BENCHMARKS.get(name.lower().replace("_", "-"))
    except UnknownNameError as error:
        raise DatasetError(str(error)) from None
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder (give the dataset's root folder)")
    return factory(root)


def read_sequence_folder(folder: Path | str) -> Sequence | None:
    """The one sequence stored in ``folder``, read on its own (its sibling folders are never parsed).

    An OTB-format folder (``groundtruth_rect*.txt``; of a two-target video the first target) or a VOT-format one
    (``groundtruth.txt``); None when the folder is neither.

    Raises:
      DatasetError: the folder looks like a sequence but its files cannot be read (one line naming the file).
    """
    folder = Path(folder).absolute()
    if any(folder.glob("groundtruth_rect*.txt")):
        dataset = OTBDataset(folder.parent, "otb", folders=(folder.name,))
        return dataset[dataset.sequence_names[0]]
    if (folder / "groundtruth.txt").is_file():
        return VOTDataset(folder.parent, names=(folder.name,))[folder.name]
    return None
