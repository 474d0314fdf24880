"""Training-set readers on fixtures in the exact native formats, the index cache, and pair sources."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.data import training_sets
from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pair_sources import MixtureSource, SyntheticVideoSource, TrackSource, build_source
from automatch_jax.data.pairs import PairConfig, SceneSource, sample_pair
from automatch_jax.data.training_sets import load_training_set
from automatch_jax.errors import AutomatchError, DatasetError
from automatch_jax.registry import Registry
from tests.data.fixtures import write_got10k_split, write_lasot_root, write_trackingnet_split

VID_XML = """<annotation>
	<folder>ILSVRC2015_VID_train_0000/{video}</folder>
	<filename>{frame:06d}</filename>
	<source>
		<database>ILSVRC_2015</database>
	</source>
	<size>
		<width>64</width>
		<height>48</height>
	</size>
{objects}</annotation>
"""
VID_OBJECT = """	<object>
		<trackid>{trackid}</trackid>
		<name>n02084071</name>
		<bndbox>
			<xmax>{x1}</xmax>
			<xmin>{x0}</xmin>
			<ymax>{y1}</ymax>
			<ymin>{y0}</ymin>
		</bndbox>
		<occluded>0</occluded>
		<generated>0</generated>
	</object>
"""


def _image(path: Path, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((48, 64, 3), value, np.uint8)
    image[10:30, 20:44] = 250 - value
    cv2.imwrite(str(path), image)


def write_vid(root: Path) -> None:
    """Two videos: the first with objects 0 (frames 0-3) and 1 (frames 2-3), the second with object 0."""
    for video, frames in (("ILSVRC2015_train_00000000", 4), ("ILSVRC2015_train_00010001", 2)):
        for f in range(frames):
            objects = VID_OBJECT.format(trackid=0, x0=20 + f, y0=10, x1=44 + f, y1=30)
            if video.endswith("0000") and f >= 2:
                objects += VID_OBJECT.format(trackid=1, x0=1, y0=2, x1=11, y1=22)
            ann = root / "Annotations/VID/train/ILSVRC2015_VID_train_0000" / video / f"{f:06d}.xml"
            ann.parent.mkdir(parents=True, exist_ok=True)
            ann.write_text(VID_XML.format(video=video, frame=f, objects=objects))
            _image(root / "Data/VID/train/ILSVRC2015_VID_train_0000" / video / f"{f:06d}.JPEG", 60 + 20 * f)


def test_vid_reader_groups_objects_into_tracks(tmp_path: Path) -> None:
    write_vid(tmp_path / "vid")
    tracks = load_training_set("vid", tmp_path / "vid", index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 3 and tracks.frame_count == 4 + 2 + 2
    paths, boxes, visible = tracks.track(0)
    assert paths[1] == "Data/VID/train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000/000001.JPEG"
    np.testing.assert_allclose(boxes[1], [21, 10, 24, 20])  # pytracking: w = xmax - xmin
    assert visible.all()
    np.testing.assert_allclose(tracks.track(1)[1][0], [1, 2, 10, 20])


def test_index_is_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_vid(tmp_path / "vid")
    first = load_training_set("vid", tmp_path / "vid", index_dir=tmp_path / "index", progress=False)
    assert len(list((tmp_path / "index").glob("vid-*.npz"))) == 1

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dataset was scanned again")

    patched: Registry = Registry("training set")
    for name, scan in training_sets.TRAINING_SETS.items():
        patched.register(name, no_scan if name == "vid" else scan)
    monkeypatch.setattr(training_sets, "TRAINING_SETS", patched)
    again = load_training_set("vid", tmp_path / "vid", index_dir=tmp_path / "index", progress=False)
    np.testing.assert_array_equal(again.paths, first.paths)
    np.testing.assert_array_equal(again.boxes, first.boxes)
    assert again.root == tmp_path / "vid"


def test_det_reader_makes_one_frame_tracks(tmp_path: Path) -> None:
    root = tmp_path / "det"
    objects = VID_OBJECT.format(trackid=0, x0=5, y0=6, x1=25, y1=16) + VID_OBJECT.format(
        trackid=0, x0=30, y0=1, x1=60, y1=40).replace("\t\t<trackid>0</trackid>\n", "")
    ann = root / "Annotations/DET/train/ILSVRC2013_train/n01440764/n01440764_10026.xml"
    ann.parent.mkdir(parents=True)
    ann.write_text(VID_XML.format(video="x", frame=0, objects=objects))
    tracks = load_training_set("det", root, index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 2
    assert tracks.paths[0] == "Data/DET/train/ILSVRC2013_train/n01440764/n01440764_10026.JPEG"
    np.testing.assert_allclose(tracks.boxes[1], [30, 1, 30, 39])


def test_corrupt_xml_names_the_file(tmp_path: Path) -> None:
    write_vid(tmp_path / "vid")
    bad = next((tmp_path / "vid/Annotations").rglob("000001.xml"))
    bad.write_text("<annotation><object>")
    with pytest.raises(DatasetError, match="000001.xml: corrupt annotation XML"):
        load_training_set("vid", tmp_path / "vid", index_dir=tmp_path / "index", progress=False)


def write_coco(root: Path) -> None:
    (root / "annotations").mkdir(parents=True)
    _image(root / "train2017" / "000000000009.jpg")
    data = {
        "images": [{"id": 9, "file_name": "000000000009.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 9, "bbox": [20.0, 10.0, 24.0, 20.0], "category_id": 18, "iscrowd": 0, "area": 480},
            {"id": 2, "image_id": 9, "bbox": [0.0, 0.0, 64.0, 48.0], "category_id": 1, "iscrowd": 1, "area": 3072},
        ],
        "categories": [{"id": 18, "name": "dog", "supercategory": "animal"}],
    }
    (root / "annotations" / "instances_train2017.json").write_text(json.dumps(data))


def test_coco_reader_skips_crowds(tmp_path: Path) -> None:
    write_coco(tmp_path / "coco")
    tracks = load_training_set("coco", tmp_path / "coco", index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 1 and tracks.paths[0] == "train2017/000000000009.jpg"
    np.testing.assert_allclose(tracks.boxes[0], [20, 10, 24, 20])
    (tmp_path / "coco/annotations/instances_val2017.json").write_text('{"images": []}')
    with pytest.raises(DatasetError, match="instances_val2017.json: not a COCO instances file"):
        load_training_set("coco", tmp_path / "coco", index_dir=tmp_path / "index", progress=False, split="val2017")


def write_youtube_bb(root: Path) -> None:
    rows = [
        "AAB6lO-XiKE,10000,0,person,0,present,0.3125,0.6875,0.2083,0.625",
        "AAB6lO-XiKE,11000,0,person,0,absent,-1,-1,-1,-1",
        "AAB6lO-XiKE,12000,0,person,0,present,0.33,0.70,0.21,0.63",
        "AAB6lO-XiKE,13000,0,person,0,present,0.34,0.71,0.22,0.64",  # frame not decoded: left out
        "AAC0zFT4nLc,5000,22,dog,1,present,0.1,0.5,0.1,0.5",
    ]
    (root).mkdir(parents=True)
    (root / "yt_bb_detection_train.csv").write_text("\n".join(rows) + "\n")
    for video, stamp in (("AAB6lO-XiKE", 10000), ("AAB6lO-XiKE", 11000), ("AAB6lO-XiKE", 12000),
                         ("AAC0zFT4nLc", 5000)):
        _image(root / "frames" / video / f"{stamp}.jpg")


def test_youtube_bb_reader_keeps_decoded_frames_and_absence(tmp_path: Path) -> None:
    write_youtube_bb(tmp_path / "ytbb")
    tracks = load_training_set("youtube-bb", tmp_path / "ytbb", index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 2 and tracks.normalized
    paths, boxes, visible = tracks.track(0)
    assert list(paths) == ["frames/AAB6lO-XiKE/10000.jpg", "frames/AAB6lO-XiKE/11000.jpg",
                           "frames/AAB6lO-XiKE/12000.jpg"]
    assert visible.tolist() == [True, False, True]
    np.testing.assert_allclose(boxes[0], [0.3125, 0.2083, 0.375, 0.4167], atol=1e-6)
    # normalised boxes become pixels once the frame is read
    z, z_box, _, _ = TrackSource(tracks).draw_pair(np.random.default_rng(0), PairConfig())
    assert z.shape == (48, 64, 3) and z_box[2] <= 64 and z_box[3] <= 48 and z_box[2] - z_box[0] > 0.3 * 64 - 1


def test_youtube_bb_bad_row_names_the_line(tmp_path: Path) -> None:
    write_youtube_bb(tmp_path / "ytbb")
    with (tmp_path / "ytbb/yt_bb_detection_train.csv").open("a") as handle:
        handle.write("AAB6lO-XiKE,notatime,0,person,0,present,0.1,0.2,0.1,0.2\n")
    with pytest.raises(DatasetError, match="line 6 is not numeric"):
        load_training_set("youtube-bb", tmp_path / "ytbb", index_dir=tmp_path / "index", progress=False)


def test_video_benchmark_formats_as_training_sets(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    got = write_got10k_split(tmp_path / "got", "train", rng, n_sequences=3)
    tracks = load_training_set("got10k-train", tmp_path / "got", index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 3 and tracks.frame_count == sum(len(g) for g in got.values())
    absence = np.concatenate([np.loadtxt(tmp_path / "got/train" / n / "absence.label") for n in got])
    assert (tracks.visible == ~absence.astype(bool)).all()
    assert tracks.paths[0] == "train/GOT-10k_Train_000001/00000001.jpg"

    write_lasot_root(tmp_path / "lasot", rng)
    lasot = load_training_set("lasot-train", tmp_path / "lasot", index_dir=tmp_path / "index", progress=False)
    assert len(lasot) == 2 and lasot.paths[0].startswith("airplane/airplane-2/img/")

    tn = write_trackingnet_split(tmp_path / "tn", "TRAIN_3", rng)
    trackingnet = load_training_set("trackingnet-train", tmp_path / "tn", index_dir=tmp_path / "index",
                                    progress=False)
    assert len(trackingnet) == len(tn) and trackingnet.paths[0] == "TRAIN_3/frames/video_000/0.jpg"
    with pytest.raises(DatasetError, match="no TRAIN_<i>/anno"):
        load_training_set("trackingnet-train", tmp_path / "got", index_dir=tmp_path / "index", progress=False)
    with pytest.raises(DatasetError, match="unknown training set 'imagenet'"):
        load_training_set("imagenet", tmp_path, progress=False)


def test_track_source_respects_the_frame_gap_and_makes_pairs(tmp_path: Path) -> None:
    write_vid(tmp_path / "vid")
    tracks = load_training_set("vid", tmp_path / "vid", index_dir=tmp_path / "index", progress=False)
    source = TrackSource(tracks, split="train")
    cfg = PairConfig(frame_gap=1, negative=0.0)
    rng = np.random.default_rng(1)
    for _ in range(20):
        z, _z_box, x, _x_box = source.draw_pair(rng, cfg)
        # frame f is filled with 60 + 20 f: the two frames are at most one apart
        assert abs(int(z[0, 0, 0]) - int(x[0, 0, 0])) <= 21
    pair = sample_pair(0, 0, source, cfg)
    assert pair["z"].shape == (127, 127, 3) and pair["positive"] == 1.0
    missing = next((tmp_path / "vid/Data").rglob("000000.JPEG"))
    missing.unlink()
    with pytest.raises(DatasetError, match="missing or unreadable frame"):
        for seed in range(50):
            TrackSource(tracks).draw_pair(np.random.default_rng(seed), PairConfig(frame_gap=0))


def test_mixture_follows_the_weights(tmp_path: Path) -> None:
    class Tagged:
        def __init__(self, tag: float):
            self.tag = tag

        def draw_pair(self, rng: np.random.Generator, cfg: PairConfig) -> tuple:
            return (self.tag,)

        def draw_frame(self, rng: np.random.Generator, cfg: PairConfig) -> tuple:
            return (self.tag,)

    mixture = MixtureSource({"a": Tagged(0), "b": Tagged(1)}, {"a": 1.0, "b": 3.0})
    rng = np.random.default_rng(0)
    share = np.mean([mixture.draw_pair(rng, PairConfig())[0] for _ in range(2000)])
    assert abs(share - 0.75) < 0.04
    with pytest.raises(AutomatchError, match="weights"):
        MixtureSource({"a": Tagged(0)}, {"a": -1.0})


def test_build_source_from_a_config(tmp_path: Path) -> None:
    write_coco(tmp_path / "coco")
    imagery = Imagery.builtin(cutouts=6)
    source = build_source({"synthetic": {"weight": 1.0}, "synthetic-video": {"weight": 1.0},
                           "coco": {"weight": 2.0, "root": str(tmp_path / "coco")}}, imagery,
                          index_dir=tmp_path / "index", progress=False)
    assert source.names == ["synthetic", "synthetic-video", "coco"]
    assert isinstance(source.sources[0], SceneSource) and isinstance(source.sources[1], SyntheticVideoSource)
    np.testing.assert_allclose(source.p, [0.25, 0.25, 0.5])
    batch = [sample_pair(3, i, source, PairConfig(frame_gap=20)) for i in range(6)]
    assert all(p["x"].shape == (255, 255, 3) and np.isfinite(p["x_box"]).all() for p in batch)
    with pytest.raises(AutomatchError, match="needs a 'root'"):
        build_source({"coco": {"weight": 1.0}}, imagery)
    with pytest.raises(AutomatchError, match="unknown training source 'imagenet21k'"):
        build_source({"imagenet21k": {}}, imagery)
