"""Frame and video sources on bad or unusual input: deep and float frame files converted deliberately, unreadable
files and broken videos answered in one line naming the file, a truncated video tracked as far as it decodes and
then reported in one warning line."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from automatch_jax.cli.main import main
from automatch_jax.errors import AutomatchError
from automatch_jax.tracking.sources import open_source, read_image, to_bgr_uint8

VIDEO_FRAMES = 30


def _scene(i: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """(H, W, 3) uint8 BGR: a textured background with a bright square moving one pixel a frame."""
    rng = np.random.default_rng(0)
    frame = rng.integers(40, 120, (*size, 3), dtype=np.uint8)
    frame[30:50, 20 + i : 40 + i] = (40, 200, 240)
    return frame


def _mjpg_video(path: Path, frames: int = VIDEO_FRAMES) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 96))
    for i in range(frames):
        writer.write(_scene(i))
    writer.release()
    return path


def _truncated(path: Path, keep: float | None = None, keep_bytes: int | None = None) -> Path:
    """A copy of the video at ``path`` cut to its first ``keep`` share or ``keep_bytes`` bytes (its header still
    declares every frame)."""
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: keep_bytes if keep_bytes is not None else int(len(data) * keep)])
    return cut


IMAGE = _scene(0)
ALPHA = np.full((*IMAGE.shape[:2], 1), 77, np.uint8)

CONVERSIONS = {
    # file name: (what is written, the uint8 BGR frame expected back)
    "u16.png": (IMAGE.astype(np.uint16) * 257, IMAGE),
    "u16.tif": (IMAGE.astype(np.uint16) * 257, IMAGE),
    "u16_gray.png": (IMAGE[..., 1].astype(np.uint16) * 257, np.repeat(IMAGE[..., 1:2], 3, axis=2)),
    "u16_bgra.png": (np.concatenate([IMAGE, ALPHA], axis=2).astype(np.uint16) * 257, IMAGE),
    "f32_unit.tif": (IMAGE.astype(np.float32) / 255, IMAGE),
    "f32_255.tif": (IMAGE.astype(np.float32), IMAGE),
    "f64_unit.tif": (IMAGE.astype(np.float64) / 255, IMAGE),
    "f32_gray.tif": (IMAGE[..., 2].astype(np.float32) / 255, np.repeat(IMAGE[..., 2:3], 3, axis=2)),
    "f32_bgra.tif": (np.concatenate([IMAGE, ALPHA], axis=2).astype(np.float32) / 255, IMAGE),
    "i32.tif": (IMAGE.astype(np.int32), IMAGE),
    "u8_bgra.png": (np.concatenate([IMAGE, ALPHA], axis=2), IMAGE),
    "u8_gray.png": (IMAGE[..., 0], np.repeat(IMAGE[..., :1], 3, axis=2)),
}


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_deep_float_gray_and_alpha_frame_files_read_as_bgr_uint8(name: str, tmp_path: Path) -> None:
    written, expected = CONVERSIONS[name]
    assert cv2.imwrite(str(tmp_path / name), written)
    frame = read_image(tmp_path / name)
    assert frame.dtype == np.uint8 and frame.shape == IMAGE.shape
    np.testing.assert_array_equal(frame, expected)


def test_float_values_outside_the_byte_range_are_clipped() -> None:
    image = np.array([[-20.0, 0.4, 254.6, 300.0]], np.float32)
    np.testing.assert_array_equal(to_bgr_uint8(image)[0, :, 0], [0, 0, 255, 255])
    unit = np.array([[0.0, 0.5, 1.0]], np.float32)  # within [0, 1]: scaled by 255
    np.testing.assert_array_equal(to_bgr_uint8(unit)[0, :, 1], [0, 128, 255])


@pytest.mark.parametrize(
    ("name", "written", "message"),
    [
        ("signed.tif", (IMAGE.astype(np.int16) - 128).astype(np.int8), "int8 image values span -88..112"),
        ("nan.tif", np.where(IMAGE > 100, np.nan, IMAGE).astype(np.float32), "holds NaN or infinite values"),
        ("wide.tif", IMAGE.astype(np.int32) * 1000, "int32 image values span 40000..240000"),
    ],
)
def test_frame_files_without_a_meaningful_conversion_are_refused_by_name(
    name: str, written: np.ndarray, message: str, tmp_path: Path
) -> None:
    assert cv2.imwrite(str(tmp_path / name), written)
    with pytest.raises(AutomatchError) as caught:
        read_image(tmp_path / name)
    text = str(caught.value)
    assert text.startswith(str(tmp_path / name)) and message in text and "\n" not in text


def test_an_unreadable_frame_file_is_named_before_the_first_frame_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i:04d}.png"), _scene(i))
    (folder / "0002.png").write_bytes(b"")  # a frame lost in a copy
    (folder / "0003.png").write_bytes(np.random.default_rng(1).bytes(500))  # not an image at all
    with pytest.raises(AutomatchError, match=r"0002\.png: unreadable image \(2 of the 4 frame files\)"):
        open_source(folder)  # refused on opening, not after tracking the first frames
    (folder / "0002.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))  # a PNG signature and nothing else
    (folder / "0003.png").unlink()
    frames = iter(open_source(folder))
    next(frames), next(frames)
    with pytest.raises(AutomatchError, match=r"0002\.png: unreadable image$"):
        next(frames)


def test_a_folder_of_float_tiffs_tracks_exactly_like_its_uint8_pngs(
    smoke_checkpoint: Path, tmp_path: Path
) -> None:
    pngs, tiffs = tmp_path / "pngs", tmp_path / "tiffs"
    pngs.mkdir(), tiffs.mkdir()
    for i in range(6):
        cv2.imwrite(str(pngs / f"{i:04d}.png"), _scene(2 * i))
        cv2.imwrite(str(tiffs / f"{i:04d}.tif"), _scene(2 * i).astype(np.float32) / 255)
    boxes = {}
    for folder in (pngs, tiffs):
        out = tmp_path / f"{folder.name}.txt"
        argv = ["track", str(folder), "--box", "20,30,20,20", "--out", str(out), "--quiet"]
        assert main([*argv, "--model", str(smoke_checkpoint)]) == 0
        boxes[folder.name] = np.loadtxt(out, delimiter=",", ndmin=2)
    assert boxes["tiffs"].shape == (6, 4)
    np.testing.assert_array_equal(boxes["tiffs"], boxes["pngs"])


def _automatch(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """``automatch ARGV`` in a fresh interpreter, with OpenCV's and FFmpeg's log levels left to their defaults."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL")}
    code = "import sys; from automatch_jax.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_broken_video_is_one_line_on_stderr_and_exit_code_2(tmp_path: Path) -> None:
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(0).bytes(20_000))
    headless = _truncated(_mjpg_video(tmp_path / "clip.avi"), keep_bytes=2000)  # the header, no whole frame
    for video in (noise, headless):
        done = _automatch("track", str(video), "--box", "20,30,20,20", "--quiet", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [f"automatch: error: {video}: unreadable video"]
        assert "Traceback" not in done.stdout + done.stderr


def test_the_ffmpeg_log_level_is_silenced_unless_the_user_chose_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    video = _mjpg_video(tmp_path / "clip.avi", frames=2)
    monkeypatch.delenv("OPENCV_FFMPEG_LOGLEVEL", raising=False)
    open_source(video)
    assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "-8"
    monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", "32")
    open_source(video)
    assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "32"


def test_a_truncated_video_reads_what_decodes_and_says_how_much(tmp_path: Path) -> None:
    whole = _mjpg_video(tmp_path / "clip.avi")
    source = open_source(whole)
    assert source.length == VIDEO_FRAMES and source.declared_length == VIDEO_FRAMES
    intact = list(source)
    assert len(intact) == VIDEO_FRAMES and source.shortfall() is None

    cut = _truncated(whole, 0.7)
    source = open_source(cut)
    assert source.declared_length == VIDEO_FRAMES
    assert source.length is None  # the last declared frame does not decode: the count is not promised
    frames = list(source)
    assert 1 < len(frames) < VIDEO_FRAMES and source.frames_read == len(frames)
    # the frames that decode are the video's own
    for decoded, whole_frame in zip(frames, intact[: len(frames)], strict=True):
        np.testing.assert_array_equal(decoded, whole_frame)
    assert source.shortfall() == (
        f"{cut}: only {len(frames)} of the {VIDEO_FRAMES} frames the video declares could be decoded "
        "whole (truncated or damaged file)"
    )

    partial = open_source(cut)
    assert len(list(itertools.islice(partial, 3))) == 3
    assert partial.shortfall() is None  # stopped before the end on purpose: nothing is missing

    first_only = _truncated(whole, keep_bytes=int(whole.stat().st_size / VIDEO_FRAMES * 1.5))
    with pytest.raises(AutomatchError, match=f"declares {VIDEO_FRAMES} frames but not one decodes whole"):
        open_source(first_only)  # the one frame that decodes is the one cut through


def test_track_on_a_truncated_video_warns_in_one_line_after_tracking_what_decodes(
    smoke_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cut = _truncated(_mjpg_video(tmp_path / "clip.avi"), 0.7)
    decodable = len(list(open_source(cut)))
    out = tmp_path / "boxes.txt"
    argv = ["track", str(cut), "--box", "20,30,20,20", "--out", str(out), "--quiet"]
    assert main([*argv, "--model", str(smoke_checkpoint)]) == 0
    captured = capsys.readouterr()
    assert np.loadtxt(out, delimiter=",", ndmin=2).shape == (decodable, 4)
    assert captured.err.splitlines() == [
        f"automatch: warning: {cut}: only {decodable} of the {VIDEO_FRAMES} frames the video declares could be "
        f"decoded whole (truncated or damaged file); boxes for the {decodable} frames read"
    ]
    assert f"{decodable} frames tracked" in captured.out
    assert main([*argv, "--max-frames", "4", "--model", str(smoke_checkpoint)]) == 0
    assert capsys.readouterr().err == ""  # fewer frames asked for than decode: no warning
    assert np.loadtxt(out, delimiter=",", ndmin=2).shape == (4, 4)
