"""The OTB reader on the real sequences and on a full OTB100 fixture, cross-checked with the got10k toolkit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automatch_jax.data import otb_table
from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.data.otb import OTBDataset, read_attributes, write_attributes
from automatch_jax.errors import DatasetError
from tests.data.fixtures import write_otb_root


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("otb")
    return root, write_otb_root(root, np.random.default_rng(0), images=True)


def test_real_sequences(real_sequences: Path) -> None:
    dataset = load_benchmark("otb", real_sequences)
    assert dataset.sequence_names == ["Crossing", "MotorRolling"]  # bag is VOT-format: not an OTB sequence
    crossing, rolling = dataset["Crossing"], dataset["MotorRolling"]
    assert len(crossing) == 120 and crossing.gt.shape == (120, 4)
    np.testing.assert_array_equal(crossing.gt[0], [205, 151, 17, 50])  # tab separated
    assert crossing.attributes == ("SV", "DEF", "BC")
    assert len(rolling) == 164 and rolling.attributes == ("IV", "SV", "MB", "FM", "IPR", "BC")
    assert all(Path(f).is_file() for f in [*crossing.frames, *rolling.frames])
    assert Path(crossing.frames[0]).name == "0001.jpg" and Path(rolling.frames[-1]).name == "0164.jpg"


def test_table_matches_the_benchmark() -> None:
    assert (len(otb_table.OTB100), len(otb_table.OTB2013), len(otb_table.OTB50)) == (100, 51, 50)
    assert set(otb_table.OTB2013) <= set(otb_table.OTB100) and set(otb_table.OTB50) <= set(otb_table.OTB100)
    counts = {a: sum(a in e.attributes for e in otb_table.TABLE.values()) for a in otb_table.ATTRIBUTES}
    # The per-attribute sequence counts published with OTB100.
    assert counts == {
        "IV": 38,
        "SV": 64,
        "OCC": 49,
        "DEF": 44,
        "MB": 29,
        "FM": 39,
        "IPR": 51,
        "OPR": 63,
        "OV": 14,
        "BC": 31,
        "LR": 9,
    }


def test_otb100_quirks(otb_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, gts = otb_root
    dataset = OTBDataset(root, "otb2015")
    assert len(dataset) == 100 and dataset.name == "otb100"
    for name in ("Crossing", "Jogging-2", "Human4", "Board", "David"):
        np.testing.assert_array_equal(dataset[name].gt, gts[name])
    david = dataset["David"]
    assert (
        len(david) == 471
        and Path(david.frames[0]).name == "0300.jpg"
        and Path(david.frames[-1]).name == "0770.jpg"
    )
    assert Path(dataset["Board"].frames[0]).name == "00001.jpg"
    assert Path(dataset["BlurCar1"].frames[0]).name == "0247.jpg" and len(dataset["BlurCar1"]) == 742
    assert Path(dataset["BlurCar3"].frames[0]).name == "0003.jpg"
    assert Path(dataset["BlurCar4"].frames[-1]).name == "0397.jpg"
    assert [len(dataset[n]) for n in ("Football1", "Freeman3", "Freeman4", "Diving")] == [74, 460, 283, 215]
    assert dataset.result_name_aliases("Skating2-1") == ("Skating2-1", "Skating2.1", "Skating2_1")
    assert dataset.result_name_aliases("Crossing") == ("Crossing",)
    assert len(OTBDataset(root, "otb2013")) == 51 and len(OTBDataset(root, "tb50")) == 50
    assert len(OTBDataset(root, "otb")) == 100


def test_agrees_with_got10k_toolkit(otb_root: tuple[Path, dict[str, np.ndarray]]) -> None:
    got10k_otb = pytest.importorskip("got10k.datasets").OTB
    root, _ = otb_root
    theirs = got10k_otb(str(root), version=2015, download=False)
    ours = OTBDataset(root, "otb100")
    assert len(theirs) == len(ours) == 100
    for name in theirs.seq_names:
        img_files, anno = theirs[name]
        ours_name = name.replace(".", "-")
        seq = ours[ours_name]
        np.testing.assert_array_equal(seq.gt, anno, err_msg=name)
        assert [Path(f).name for f in seq.frames] == [Path(f).name for f in img_files], name


def test_sub_range_length_is_checked(tmp_path: Path) -> None:
    write_otb_root(tmp_path, np.random.default_rng(1))
    (tmp_path / "David" / "groundtruth_rect.txt").write_text("1,2,3,4\n" * 770)
    with pytest.raises(DatasetError, match="David.*770 boxes, but David has frames 300-770"):
        OTBDataset(tmp_path, "otb100")["David"]


def test_missing_sequences_and_bad_roots(tmp_path: Path) -> None:
    (tmp_path / "Crossing").mkdir()
    with pytest.raises(DatasetError, match="99 of the 100 otb100 sequence folders are missing"):
        OTBDataset(tmp_path, "otb100")
    with pytest.raises(DatasetError, match="no OTB-format sequence found"):
        OTBDataset(tmp_path, "otb")
    with pytest.raises(DatasetError, match="dataset folder not found"):
        OTBDataset(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="unknown OTB version"):
        OTBDataset(tmp_path, "otb3000")


def test_custom_sequences_with_attributes(tmp_path: Path) -> None:
    for name, attrs in (("mine", "IV, occ"), ("flags", "0,1,0,0,0,0,0,0,0,0,1")):
        folder = tmp_path / name
        (folder / "img").mkdir(parents=True)
        (folder / "groundtruth_rect.txt").write_text("1 2 3 4\n5 6 7 8\n")
        (folder / "attributes.txt").write_text(attrs)
        for i in range(1, 4):
            (folder / "img" / f"{i:05d}.png").touch()
    two = tmp_path / "two"
    two.mkdir()
    (two / "groundtruth_rect.1.txt").write_text("1,2,3,4\n")
    (two / "groundtruth_rect.2.txt").write_text("5,6,7,8\n")
    dataset = OTBDataset(tmp_path)
    assert dataset.sequence_names == ["flags", "mine", "two-1", "two-2"]
    assert dataset["mine"].attributes == ("IV", "OCC") and dataset["flags"].attributes == ("SV", "LR")
    assert [Path(f).name for f in dataset["mine"].frames] == ["00001.png", "00002.png"]
    assert Path(dataset["two-2"].frames[0]).name == "0001.jpg"
    assert dataset.result_name_aliases("two-2") == ("two-2", "two.2", "two_2")
    write_attributes(tmp_path / "a.txt", ["LR", "IV"])
    assert read_attributes(tmp_path / "a.txt") == ("IV", "LR")
    (tmp_path / "bad.txt").write_text("IV,XYZ")
    with pytest.raises(DatasetError, match="unknown attribute 'XYZ'"):
        read_attributes(tmp_path / "bad.txt")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2,3\n", "line 1 has 3 values, expected 4"),
        ("1,2,3,4\nx,2,3,4\n", "line 2 is not numeric"),
        ("", "empty annotation file"),
    ],
)
def test_corrupt_annotation(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "groundtruth_rect.txt").write_text(content)
    with pytest.raises(DatasetError, match=message):
        OTBDataset(tmp_path)["seq"]
