"""LaSOT, GOT-10k, TrackingNet, TNL2K and VOT readers on fixtures in their exact formats (and VOT on bag)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.data.benchmarks import BENCHMARKS, load_benchmark, read_sequence_folder
from automatch_jax.data.got10k import GOT10kDataset
from automatch_jax.data.lasot import TEST_SEQUENCES, LaSOTDataset
from automatch_jax.data.sequence import FramePaths
from automatch_jax.data.trackingnet import TrackingNetDataset
from automatch_jax.data.vot import VOTDataset, polygon_to_box, read_regions
from automatch_jax.errors import DatasetError
from automatch_jax.eval.metrics import polygon_area
from tests.data.fixtures import (
    random_boxes,
    write_got10k_split,
    write_lasot_root,
    write_trackingnet_split,
    write_vot_root,
)


@pytest.mark.parametrize("grouped", [True, False])
def test_lasot(tmp_path: Path, grouped: bool) -> None:
    gts = write_lasot_root(tmp_path, np.random.default_rng(0), grouped=grouped)
    test = load_benchmark("lasot", tmp_path)
    assert len(test) == 280 and set(test.sequence_names) == set(TEST_SEQUENCES)
    seq = test["monkey-17"]
    np.testing.assert_array_equal(seq.gt, gts["monkey-17"])
    occlusion = np.array(
        (tmp_path / (("monkey/" if grouped else "") + "monkey-17") / "full_occlusion.txt")
        .read_text()
        .split(","),
        dtype=int,
    )
    np.testing.assert_array_equal(seq.flags["full_occlusion"], occlusion.astype(bool))
    visible = seq.target_visible()
    assert visible is not None
    np.testing.assert_array_equal(visible, ~(seq.flags["full_occlusion"] | seq.flags["out_of_view"]))
    assert Path(seq.frames[0]).name == "00000001.jpg" and seq.meta["object_class"] == "monkey"
    assert seq.meta["language"] == "the monkey in the middle"
    train = LaSOTDataset(tmp_path, "train")
    assert train.sequence_names == ["airplane-2", "cat-5"]


def test_lasot_errors(tmp_path: Path) -> None:
    write_lasot_root(tmp_path, np.random.default_rng(0))
    (tmp_path / "cat" / "cat-1" / "groundtruth.txt").unlink()
    with pytest.raises(DatasetError, match="1 of the 280 LaSOT test videos are missing .first: cat-1"):
        LaSOTDataset(tmp_path)
    (tmp_path / "cat" / "cat-1" / "groundtruth.txt").write_text("1,2,3,4\n5,6,7,8\n")
    (tmp_path / "cat" / "cat-1" / "full_occlusion.txt").write_text("0,0")
    (tmp_path / "cat" / "cat-1" / "out_of_view.txt").write_text("0,0,0")
    with pytest.raises(DatasetError, match="out_of_view.txt: 3 flags for 2 annotated frames"):
        LaSOTDataset(tmp_path)["cat-1"]
    (tmp_path / "cat" / "cat-1" / "out_of_view.txt").write_text("0,a")
    with pytest.raises(DatasetError, match="out_of_view.txt: label file is not numeric"):
        LaSOTDataset(tmp_path)["cat-1"]


def test_lasot_attributes_from_the_toolkit(tmp_path: Path) -> None:
    write_lasot_root(tmp_path, np.random.default_rng(0), train=())
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "cat-1.txt").write_text("1,0,0,0,0,0,0,0,0,1,0,0,0,1\n")
    dataset = LaSOTDataset(tmp_path)
    assert dataset["cat-1"].attributes == ("IV", "FOC", "ARC") and dataset["cat-3"].attributes == ()


def test_got10k_val_and_test(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gts = write_got10k_split(tmp_path, "val", rng)
    full = write_got10k_split(tmp_path, "test", rng, n_sequences=2, first_only=True)
    val = load_benchmark("got10k", tmp_path)
    name = val.sequence_names[0]
    seq = val[name]
    np.testing.assert_allclose(seq.gt, gts[name])
    assert seq.image_size is not None and seq.image_size[0] in (640, 1280)
    assert set(seq.flags) == {"absence", "cover", "cut_by_image"} and len(seq.flags["cover"]) == len(seq)
    assert seq.meta["object_class"] == "cat" and seq.fully_annotated
    np.testing.assert_array_equal(seq.target_visible(), seq.flags["absence"] == 0)
    assert len(GOT10kDataset(tmp_path / "val")) == 4  # the split folder itself also works as root
    test = load_benchmark("got10k-test", tmp_path)
    seq = test["GOT-10k_Test_000002"]
    assert seq.gt.shape == (1, 4) and len(seq) == len(full["GOT-10k_Test_000002"]) and not seq.fully_annotated


def test_got10k_agrees_with_the_toolkit(tmp_path: Path) -> None:
    got10k = pytest.importorskip("got10k.datasets").GOT10k
    write_got10k_split(tmp_path, "val", np.random.default_rng(3))
    theirs = got10k(str(tmp_path), subset="val", return_meta=True)
    ours = GOT10kDataset(tmp_path, "val")
    for name in theirs.seq_names:
        img_files, anno, meta = theirs[name]
        seq = ours[name]
        np.testing.assert_array_equal(seq.gt, anno)
        np.testing.assert_array_equal(seq.flags["cover"], meta["cover"])
        assert seq.meta["resolution"] == meta["resolution"] and len(seq) == len(img_files)


def test_got10k_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no val/list.txt"):
        GOT10kDataset(tmp_path, "val")
    write_got10k_split(tmp_path, "val", np.random.default_rng(0))
    folder = tmp_path / "val" / "GOT-10k_Val_000001"
    (folder / "cover.label").write_text("1\n2\n")
    with pytest.raises(DatasetError, match="cover.label: 2 labels for"):
        GOT10kDataset(tmp_path, "val")["GOT-10k_Val_000001"]
    (folder / "meta_info.ini").write_text("[METAINFO]\nresolution: big\n")
    with pytest.raises(DatasetError, match="resolution 'big' is not"):
        GOT10kDataset(tmp_path, "val")["GOT-10k_Val_000001"]
    (folder / "groundtruth.txt").unlink()
    with pytest.raises(DatasetError, match="1 of the 4 sequences in list.txt have no groundtruth.txt"):
        GOT10kDataset(tmp_path, "val")


def test_trackingnet(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    test_gts = write_trackingnet_split(tmp_path, "TEST", rng)
    train_gts = write_trackingnet_split(tmp_path, "TRAIN_3", rng)
    test = load_benchmark("trackingnet", tmp_path)
    seq = test["video_001"]
    assert seq.gt.shape == (1, 4) and len(seq) == len(test_gts["video_001"])
    assert Path(seq.frames[0]).name == "0.jpg" and not seq.fully_annotated
    train = TrackingNetDataset(tmp_path, "TRAIN_3")
    np.testing.assert_allclose(train["video_002"].gt, train_gts["video_002"])
    with pytest.raises(DatasetError, match="no TRAIN_4/anno folder"):
        TrackingNetDataset(tmp_path, ("TRAIN_3", "TRAIN_4"))


def test_tnl2k(tmp_path: Path) -> None:
    gt = random_boxes(np.random.default_rng(0), 5)
    folder = tmp_path / "Cartoon_Robot_1"
    (folder / "imgs").mkdir(parents=True)
    np.savetxt(folder / "groundtruth.txt", gt, fmt="%d", delimiter=",")
    (folder / "language.txt").write_text("the robot on the left\n")
    for i in range(1, 6):
        (folder / "imgs" / f"{i:05d}.png").touch()
    seq = load_benchmark("tnl2k", tmp_path)["Cartoon_Robot_1"]
    np.testing.assert_array_equal(seq.gt, gt)
    assert Path(seq.frames[4]).name == "00005.png" and seq.meta["language"] == "the robot on the left"
    assert not seq.flags["absent"].any()
    (folder / "imgs" / "00006.png").touch()
    seq = load_benchmark("tnl2k", tmp_path)["Cartoon_Robot_1"]  # the frames are listed when first needed
    with pytest.raises(DatasetError, match="6 images for 5 annotated frames"):
        seq.frames[0]
    # 0,0,0,0 marks an absent target (what the toolkit's annos/absent files flag).
    gt[2] = 0
    np.savetxt(folder / "groundtruth.txt", gt, fmt="%d", delimiter=",")
    seq = load_benchmark("tnl2k", tmp_path)["Cartoon_Robot_1"]
    np.testing.assert_array_equal(seq.flags["absent"], [False, False, True, False, False])
    np.testing.assert_array_equal(seq.target_visible(), [True, True, False, True, True])


def test_frame_paths_are_made_on_demand(tmp_path: Path) -> None:
    frames = FramePaths(tmp_path / "img", 3, "{:04d}.jpg", 7)
    assert len(frames) == 3 and frames[0] == str(tmp_path / "img" / "0007.jpg")
    assert frames[-1].endswith("0009.jpg") and frames[1:] == (frames[1], frames[2]) and list(frames)[2] == frames[2]
    with pytest.raises(IndexError):
        frames[3]
    calls = []

    def lister() -> list[str]:
        calls.append(1)
        return ["b.png", "c.png"]

    listed = FramePaths(tmp_path, 2, lister=lister)
    assert not calls and len(listed) == 2  # the length needs no listing
    assert [Path(f).name for f in listed] == ["b.png", "c.png"] and len(calls) == 1
    with pytest.raises(DatasetError, match="2 images for 3 annotated frames"):
        FramePaths(tmp_path, 3, lister=lister)[0]


def test_a_sequence_folder_loads_on_its_own(tmp_path: Path) -> None:
    from automatch_jax.tracking.sources import open_source

    gt = random_boxes(np.random.default_rng(0), 4)
    for name in ("Crossing", "Mine"):
        (tmp_path / "DATA" / name / "img").mkdir(parents=True)
        np.savetxt(tmp_path / "DATA" / name / "groundtruth_rect.txt", gt, fmt="%d", delimiter=",")
        for i in range(1, 5):
            cv2.imwrite(str(tmp_path / "DATA" / name / "img" / f"{i:04d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    # Broken siblings: a bad annotation, a VOT folder missing from its list.
    (tmp_path / "DATA" / "Broken").mkdir()
    (tmp_path / "DATA" / "Broken" / "groundtruth_rect.txt").write_text("1,2,x,4\n")
    (tmp_path / "DATA" / "list.txt").write_text("Missing\n")
    with pytest.raises(DatasetError, match="Broken"):
        list(load_benchmark("otb", tmp_path / "DATA"))
    for name in ("Crossing", "Mine"):
        seq = read_sequence_folder(tmp_path / "DATA" / name)
        assert seq is not None and len(seq) == 4
        np.testing.assert_array_equal(seq.gt, gt)
        source = open_source(tmp_path / "DATA" / name)  # what 'automatch track DATA/<name>' opens
        assert source.length == 4
    assert read_sequence_folder(tmp_path / "DATA" / "Crossing").attributes == ("SV", "DEF", "BC")
    write_vot_root(tmp_path / "VOT", np.random.default_rng(0), lengths=(5,))
    (tmp_path / "VOT" / "list.txt").write_text("seq0\nMissing\n")
    with pytest.raises(DatasetError, match="lack groundtruth.txt"):
        load_benchmark("vot", tmp_path / "VOT")
    seq = read_sequence_folder(tmp_path / "VOT" / "seq0")
    assert seq is not None and seq.name == "seq0" and len(seq) == 5
    assert read_sequence_folder(tmp_path / "VOT") is None


def test_vot_on_the_real_bag_sequence(real_sequences: Path) -> None:
    dataset = VOTDataset(real_sequences)
    assert dataset.sequence_names == ["bag"]
    seq = dataset["bag"]
    assert len(seq) == 196 and seq.polygons is not None and seq.polygons.shape == (196, 8)
    first = [291.827, 203.603, 396.382, 264.289, 442.173, 185.397, 337.618, 124.711]
    np.testing.assert_allclose(seq.polygons[0], first)
    np.testing.assert_allclose(seq.gt[0], [291.827, 124.711, 442.173 - 291.827, 264.289 - 124.711])
    assert all(Path(f).is_file() for f in seq.frames)
    area_box = polygon_to_box(seq.polygons, "area")
    np.testing.assert_allclose(area_box[:, 2] * area_box[:, 3], polygon_area(seq.polygons), rtol=1e-2)
    np.testing.assert_allclose(
        area_box[:, :2] + area_box[:, 2:] / 2, seq.gt[:, :2] + seq.gt[:, 2:] / 2, atol=0.01
    )


def test_vot_formats(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    (folder / "color").mkdir(parents=True)
    (folder / "groundtruth.txt").write_text("10,20,30,40\n0,0,0,0\n1,1,5,1,5,5,1,5\nnan,nan,nan,nan\n")
    (folder / "occlusion.tag").write_text("0\n1\n")
    (tmp_path / "list.txt").write_text("seq\n")
    seq = VOTDataset(tmp_path)["seq"]
    np.testing.assert_array_equal(seq.gt[0], [10, 20, 30, 40])
    assert np.isnan(seq.gt[1]).all() and np.isnan(seq.gt[3]).all()
    np.testing.assert_array_equal(seq.gt[2], [1, 1, 4, 4])
    np.testing.assert_array_equal(seq.flags["occlusion"], [False, True, False, False])
    np.testing.assert_array_equal(seq.flags["rectangle"], [True, True, False, False])  # written x,y,w,h
    assert seq.attributes == ("occlusion",)
    (folder / "groundtruth.txt").write_text("m1,2,3\n")
    with pytest.raises(DatasetError, match="segmentation mask"):
        read_regions(folder / "groundtruth.txt")
    (folder / "groundtruth.txt").write_text("1,2,3,4,5\n")
    with pytest.raises(DatasetError, match="line 1 has 5 values, expected 4 or 8"):
        read_regions(folder / "groundtruth.txt")


def test_registry_errors(tmp_path: Path) -> None:
    assert {"otb", "otb100", "lasot", "got10k", "trackingnet", "tnl2k", "vot"} <= set(BENCHMARKS)
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'; known: otb"):
        load_benchmark("imagenet", tmp_path)
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_benchmark("lasot", tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="not a folder"):
        load_benchmark("vot", tmp_path / "file")
    for name in BENCHMARKS:
        with pytest.raises(DatasetError) as info:
            load_benchmark(name, tmp_path)
        assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)
