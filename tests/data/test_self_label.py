"""Self-labelled real video: seeds on texture, forward-backward CSRT tracks, the MOTChallenge layout they are stored
in (and its reader), the ``real-video`` training source and ``automatch label-video``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.boxes import iou_xywh
from automatch_jax.cli.main import main
from automatch_jax.data.imagery import REAL_VIDEO, Imagery
from automatch_jax.data.pair_sources import build_source
from automatch_jax.data.pairs import PairConfig
from automatch_jax.data.self_label import (
    VISP_ROOT,
    SelfLabelConfig,
    Track,
    fetch_real_video,
    forward_backward,
    label_frames,
    label_videos,
    propose_boxes,
    read_frames,
    video_sources,
    write_mot,
)
from automatch_jax.data.training_sets import load_training_set
from automatch_jax.errors import AutomatchError, DatasetError

SIZE = (160, 120)  # w, h
PATCH = 36


def _texture(rng: np.random.Generator) -> np.ndarray:
    """A (PATCH, PATCH) high-contrast checker-and-noise patch."""
    checker = (np.indices((PATCH, PATCH)).sum(axis=0) // 6 % 2) * 160 + 40
    return np.clip(checker + rng.normal(0, 20, (PATCH, PATCH)), 0, 255).astype(np.uint8)


def moving_patch(n: int, vanish_at: int | None = None, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` grey (H, W) frames of a smooth background with one textured patch moving right and down by 2 and 1
    pixels a frame (the patch is gone from ``vanish_at`` on); returns (frames, (n, 4) true x, y, w, h)."""
    rng = np.random.default_rng(seed)
    patch = _texture(rng)
    w, h = SIZE
    base = cv2.GaussianBlur(rng.integers(90, 140, (h, w)).astype(np.uint8), (0, 0), 8)
    frames, truth = [], []
    for t in range(n):
        frame = base.copy()
        x, y = 20 + 2 * t, 15 + t
        if vanish_at is None or t < vanish_at:
            frame[y : y + PATCH, x : x + PATCH] = patch
        frames.append(frame)
        truth.append([x, y, PATCH, PATCH])
    return frames, np.array(truth, np.float64)


def frame_folder(folder: Path, frames: list[np.ndarray]) -> Path:
    """``frames`` written as ``folder/000.png, 001.png, ...``."""
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    return folder


def test_seeds_lie_on_texture_and_do_not_overlap() -> None:
    frames, truth = moving_patch(1)
    cfg = SelfLabelConfig(seeds=3, min_side=0.2, max_side=0.3)
    boxes = propose_boxes(frames[0], cfg, np.random.default_rng(0))
    assert 1 <= len(boxes) <= 3
    assert iou_xywh(boxes[0], truth[0]) > 0.3  # the most textured seed is on the patch
    for i in range(len(boxes)):
        for j in range(i):
            assert iou_xywh(boxes[i], boxes[j]) < 0.1
    flat = np.full((120, 160), 100, np.uint8)  # no texture anywhere: no seed
    assert len(propose_boxes(flat, cfg, np.random.default_rng(0))) == 0


def test_forward_backward_follows_a_moving_patch() -> None:
    frames, truth = moving_patch(20)
    boxes, visible = forward_backward(frames, truth[0], 0.6)
    assert len(boxes) == 20 and visible.mean() > 0.9
    assert np.median(iou_xywh(boxes[visible], truth[visible])) > 0.7


def test_a_track_that_loses_its_target_is_cut_or_refused() -> None:
    frames, truth = moving_patch(20, vanish_at=8)
    boxes, visible = forward_backward(frames, truth[0], 0.6)
    # whatever CSRT does on the empty frames, no labelled frame after the patch vanished may claim it is there
    labelled = np.nonzero(visible)[0]
    assert all(t < 8 or iou_xywh(boxes[t], truth[t]) < 0.5 for t in labelled)


def test_label_frames_is_deterministic() -> None:
    frames, _ = moving_patch(30)
    cfg = SelfLabelConfig(seeds=2, start_every=10, length=12, candidates=50)
    first, second = label_frames(frames, cfg, seed=3), label_frames(frames, cfg, seed=3)
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        assert a.start == b.start and np.array_equal(a.boxes, b.boxes) and np.array_equal(a.visible, b.visible)
    assert {t.start for t in first} <= {0, 10, 20}


def test_bad_self_label_settings_are_refused() -> None:
    with pytest.raises(AutomatchError, match="min_iou"):
        SelfLabelConfig(min_iou=1.5)
    with pytest.raises(AutomatchError, match="length"):
        SelfLabelConfig(length=1)


def test_mot_layout_round_trip(tmp_path: Path) -> None:
    frames, truth = moving_patch(6)
    visible = np.array([True, True, False, True, True, True])
    tracks = [Track(1, truth[1:6].astype(np.float32), visible[1:6]), Track(0, truth[:3].astype(np.float32),
                                                                          np.ones(3, bool))]
    folder = write_mot(tmp_path, "seq", frames, tracks)
    assert sorted(p.name for p in (folder / "img1").iterdir())[:2] == ["000001.jpg", "000002.jpg"]
    assert "imDir=img1" in (folder / "seqinfo.ini").read_text()
    tracks_read = load_training_set("mot", tmp_path, index_dir=tmp_path / "index", progress=False)
    assert len(tracks_read) == 2
    paths, boxes, vis = tracks_read.track(0)
    assert list(paths) == [f"seq/img1/{k:06d}.jpg" for k in range(2, 7)]  # frames 2..6: the first track
    np.testing.assert_allclose(boxes[vis], truth[1:6][visible[1:6]], atol=0.01)
    assert vis.tolist() == [True, False, True, True, True]  # the unlabelled frame inside the track is invisible
    assert all((tmp_path / p).is_file() for p in paths)


def test_mot_reader_reads_motchallenge_ground_truth(tmp_path: Path) -> None:
    seq = tmp_path / "train" / "MOT17-02"
    (seq / "gt").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=MOT17-02\nimDir=frames\nimExt=.png\nseqLength=4\n")
    rows = ["1,1,10,10,20,40,1,1,1.0", "2,1,12,10,20,40,1,1,0.2", "3,1,14,10,20,40,0,8,1.0", "4,1,16,10,20,40,1,1,0.9",
            "2,2,50,50,10,10,1,1,1.0", "3,2,52,50,10,10,1,1,1.0"]
    (seq / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    tracks = load_training_set("mot", tmp_path, index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == 2
    paths, _, visible = tracks.track(0)
    assert paths[0] == "train/MOT17-02/frames/000001.png"
    assert visible.tolist() == [True, False, False, True]  # visibility 0.2 < 0.5; flag 0 ignored
    lenient = load_training_set("mot", tmp_path, index_dir=tmp_path / "index", progress=False, min_visibility="0.1")
    assert lenient.track(0)[2].tolist() == [True, True, False, True]
    (seq / "gt" / "gt.txt").write_text("1,1,10\n")
    with pytest.raises(DatasetError, match="columns"):
        load_training_set("mot", tmp_path, index_dir=tmp_path / "other", progress=False)
    with pytest.raises(DatasetError, match="MOTChallenge"):
        load_training_set("mot", tmp_path / "train" / "MOT17-02", progress=False)


def test_real_video_source_draws_pairs_from_the_imagery_cache(tmp_path: Path) -> None:
    frames, truth = moving_patch(12)
    imagery = Imagery.builtin(cutouts=2)
    write_mot(tmp_path / REAL_VIDEO, "seq", [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames],
              [Track(0, truth.astype(np.float32), np.ones(12, bool))])
    cached = Imagery(imagery.backgrounds, imagery.cutouts, tmp_path)
    source = build_source({"real-video": {"weight": 1.0}}, cached, "train", index_dir=tmp_path / "index",
                          progress=False)
    z, z_box, x, x_box = source.draw_pair(np.random.default_rng(0), PairConfig())
    assert z.shape == (120, 160, 3) and x.shape == (120, 160, 3)
    assert x_box[2] - x_box[0] == pytest.approx(PATCH, abs=0.01)
    assert z_box[2] - z_box[0] == pytest.approx(PATCH, abs=0.01)
    assert source.describe()["sources"]["real-video"]["kind"] == "tracks"
    with pytest.raises(AutomatchError, match="fetch-imagery"):
        build_source({"real-video": {"weight": 1.0}}, imagery, "train", progress=False)


def test_read_frames_and_video_sources_check_their_inputs(tmp_path: Path) -> None:
    folder = frame_folder(tmp_path / "frames", moving_patch(3)[0])
    assert len(read_frames(folder)) == 3
    cv2.imwrite(str(folder / "003.png"), np.zeros((120, 160), np.uint16))  # a 16-bit frame is named, not dropped
    with pytest.raises(AutomatchError, match=r"003\.png: uint16 pixels"):
        read_frames(folder)
    (folder / "003.png").unlink()
    assert list(video_sources([folder, folder])) == ["frames", "frames-2"]
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for bad, message in ((tmp_path / "nosuch", "not found"), (tmp_path / "notes.txt", "not a video"),
                         (tmp_path / "empty", "no image")):
        with pytest.raises(AutomatchError, match=message):
            video_sources([bad])


def test_label_videos_writes_a_training_set(tmp_path: Path) -> None:
    folder = frame_folder(tmp_path / "clip", moving_patch(24)[0])
    cfg = SelfLabelConfig(seeds=2, start_every=12, length=12, candidates=40)
    counts = label_videos({"clip": (folder, "*")}, tmp_path / "out", cfg, workers=1, progress=False)
    assert counts["clip"] > 0
    tracks = load_training_set("mot", tmp_path / "out", index_dir=tmp_path / "index", progress=False)
    assert len(tracks) == counts["clip"]
    # two worker processes label the same tracks
    assert label_videos({"clip": (folder, "*")}, tmp_path / "out2", cfg, workers=2, progress=False) == counts
    gt = Path("clip") / "gt" / "gt.txt"
    assert (tmp_path / "out2" / gt).read_text() == (tmp_path / "out" / gt).read_text()


def test_label_video_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    frames, _ = moving_patch(14)
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, SIZE)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    code = main(["label-video", str(video), "--out", str(tmp_path / "out"), "--seeds", "1", "--start-every", "10",
                 "--length", "8", "--workers", "1", "--quiet"])
    assert code == 0
    assert "self-labelled tracks" in capsys.readouterr().out
    assert (tmp_path / "out" / "clip" / "gt" / "gt.txt").is_file()
    assert main(["label-video", str(tmp_path / "nosuch.mp4"), "--out", str(tmp_path / "o2")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["label-video", str(video), "--out", str(tmp_path / "o2"), "--length", "1"]) == 2
    assert "length >= 2" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_fetch_real_video_labels_the_visp_sequences_it_finds(tmp_path: Path) -> None:
    """With a stand-in for the Debian download: the camera sequence present is labelled into the cache (replacing
    an earlier one), and a package without any is reported in one line, leaving nothing."""
    package = tmp_path / "package"
    cube = package / VISP_ROOT / "cube"
    cube.mkdir(parents=True)
    for i, frame in enumerate(moving_patch(24)[0]):
        cv2.imwrite(str(cube / f"image.{i + 1:04d}.pgm"), frame)
    (cube / "notes.txt").write_text("not a frame")
    out = tmp_path / "cache" / REAL_VIDEO
    (out / "stale").mkdir(parents=True)
    messages: list[str] = []
    cfg = SelfLabelConfig(seeds=2, start_every=12, length=12, candidates=40)
    counts = fetch_real_video(out, lambda packages, work: package, cfg, workers=1, log=messages.append)
    assert list(counts) == ["visp-cube"] and counts["visp-cube"] > 0
    assert sorted(p.name for p in out.iterdir()) == ["visp-cube"]  # the earlier labelling is replaced
    assert len(load_training_set("mot", out, index_dir=tmp_path / "index", progress=False)) == counts["visp-cube"]
    assert messages == [f"{counts['visp-cube']} self-labelled tracks in 1 real camera sequences in {out}"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert fetch_real_video(tmp_path / "none", lambda packages, work: empty, cfg, log=messages.append) == {}
    assert "could not be had" in messages[-1] and not (tmp_path / "none").exists()
