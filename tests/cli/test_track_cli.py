"""``automatch track``, ``run-benchmark`` and ``demo`` end to end on CPU, on real sequences and the demo."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.cli.main import main


def _lines(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_track_an_otb_sequence_with_its_annotation_and_a_video(
    real_sequences: Path, smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, video = tmp_path / "boxes.txt", tmp_path / "crossing.mp4"
    argv = ["track", str(real_sequences / "Crossing"), "--model", str(smoke_checkpoint), "--out", str(out)]
    assert main([*argv, "--video", str(video), "--quiet"]) == 0
    boxes = _lines(out)
    assert boxes.shape == (120, 4)
    np.testing.assert_allclose(boxes[0], [205, 151, 17, 50])  # the first annotation
    assert "frames/s" in capsys.readouterr().out
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 120
    capture.release()


def test_track_a_vot_sequence_a_video_file_and_a_frame_folder(
    real_sequences: Path, smoke_checkpoint: Path, tmp_path: Path
) -> None:
    model = ["--model", str(smoke_checkpoint), "--quiet"]
    out = tmp_path / "bag.txt"
    assert main(["track", str(real_sequences / "bag"), "--max-frames", "5", "--out", str(out), *model]) == 0
    assert _lines(out).shape == (5, 4)
    half = tmp_path / "bag_bf16.txt"
    argv = ["track", str(real_sequences / "bag"), "--max-frames", "5", "--out", str(half), "--dtype", "bfloat16"]
    assert main([*argv, *model]) == 0
    # bfloat16 runs and, on the first update (the same frame and state for both), lands where float32 does; later
    # frames start from different boxes, so a closed loop says nothing about precision
    assert _lines(half).shape == (5, 4) and np.abs(_lines(half)[:2] - _lines(out)[:2]).max() < 2.0
    frames = sorted((real_sequences / "MotorRolling" / "img").glob("*.jpg"))[:8]
    folder = tmp_path / "frames"
    folder.mkdir()
    for f in frames:
        shutil.copy(f, folder / f.name)
    out = tmp_path / "folder.txt"
    assert main(["track", str(folder), "--box", "117,68,122,125", "--out", str(out), *model]) == 0
    np.testing.assert_allclose(_lines(out)[0], [117, 68, 122, 125])
    first = cv2.imread(str(frames[0]))
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, first.shape[1::-1])
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    out = tmp_path / "video.txt"
    assert main(["track", str(video), "--box", "117 68 122 125", "--out", str(out), *model]) == 0
    assert _lines(out).shape == (8, 4)


def test_bad_input_is_one_line_and_exit_code_2(
    real_sequences: Path, smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = ["--model", str(smoke_checkpoint), "--quiet"]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "0001.png"), np.zeros((60, 80, 3), np.uint8))
    cv2.imwrite(str(mixed / "0002.png"), np.zeros((40, 80, 3), np.uint8))
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    crossing = str(real_sequences / "Crossing")
    cases = [
        ([str(empty), "--box", "1,1,5,5"], "empty.mp4: unreadable video"),
        ([str(tmp_path / "none.mp4"), "--box", "1,1,5,5"], "no such video, folder or webcam index"),
        ([str(nothing), "--box", "1,1,5,5"], "holds no image files"),
        ([crossing, "--box", "a,b,c,d"], "expected four numbers"),
        ([crossing, "--box", "1,2,3"], "expected four numbers"),
        ([crossing, "--box", "500,20,10,10"], "outside the 360x240 frame"),
        ([crossing, "--box", "10,20,0,10"], "zero or negative size"),
        ([str(mixed), "--box", "1,1,5,5"], "frame 2 is 80x40, the video started at 80x60"),
        ([crossing, "--model", str(tmp_path)], "not an automatch checkpoint"),
        ([crossing, "--dtype", "float64"], "dtype 'float64' is not one of float32, bfloat16, float16"),
    ]
    for argv, message in cases:
        code = main(["track", *argv, "--out", str(tmp_path / "o.txt"), *model[argv.count("--model") * 2 :]])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, argv
        assert message in err[-1] and err[-1].startswith("automatch: error:"), (argv, err)


def test_run_benchmark_resumes_and_feeds_eval(
    real_sequences: Path, smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = tmp_path / "otb"
    root.mkdir()
    for name in ("Crossing", "MotorRolling"):
        (root / name).symlink_to(real_sequences / name)
    results = tmp_path / "RESULTS" / "smoke"
    argv = [
        "run-benchmark",
        "--dataset",
        "otb",
        "--root",
        str(root),
        "--results",
        str(results),
        "--model",
        str(smoke_checkpoint),
        "--quiet",
    ]
    assert main(argv) == 0
    assert "2 sequences tracked" in capsys.readouterr().out
    assert _lines(results / "MotorRolling.txt").shape == (164, 4)
    assert (results / "Crossing_time.txt").is_file()
    (results / "Crossing.txt").unlink()  # as if killed during Crossing
    assert main(argv) == 0
    assert "1 sequences tracked, 1 already done" in capsys.readouterr().out
    assert main(["eval", "--dataset", "otb", "--root", str(root), "--results", str(results)]) == 0
    assert "AUC" in capsys.readouterr().out


def test_demo_runs_end_to_end(smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "demo"
    assert (
        main(["demo", "--out", str(out), "--frames", "20", "--model", str(smoke_checkpoint), "--quiet"]) == 0
    )
    text = capsys.readouterr().out
    assert "success AUC" in text and (out / "demo.mp4").is_file()
    assert _lines(out / "results" / "smoke" / "Demo.txt").shape == (20, 4)
    assert len(list((out / "sequences" / "Demo" / "img").glob("*.jpg"))) == 20
