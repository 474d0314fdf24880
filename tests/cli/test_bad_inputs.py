"""Bad inputs to every command: exit code 2 and one line on stderr, before any work starts (docs/bad_inputs.md).

"No work started" is checked by replacing the first expensive call of each command (loading a model, a benchmark
or the imagery, training, searching) with one that fails the test. Read-only places are a read-only tmpfs mount
(the tests run as root, so permission bits would not stop a write); without ``mount`` those cases are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import automatch_jax.cli
from automatch_jax.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "configs" / "smoke.py")

# the first expensive call of each command: (module, attribute)
WORK = {
    "track": ("automatch_jax.cli.track_cmd", "load_tracker"),
    "demo": ("automatch_jax.tracking.demo", "write_demo_sequence"),
    "export": ("automatch_jax.models.checkpoint", "load_checkpoint"),
    "train": ("automatch_jax.train.loop", "train"),
    "fetch-imagery": ("automatch_jax.data.imagery", "fetch_imagery"),
    "label-video": ("automatch_jax.data.self_label", "label_videos"),
    "tune": ("automatch_jax.tracking.tune", "tune"),
    "search": ("automatch_jax.search.run", "search"),
    "eval": ("automatch_jax.cli.eval_cmd", "load_benchmark"),
    "run-benchmark": ("automatch_jax.data.benchmarks", "load_benchmark"),
    "submission": ("automatch_jax.cli.submission_cmd", "load_benchmark"),
    "synth": ("automatch_jax.data.imagery", "Imagery.load"),
}


def _forbid_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args, **kwargs):
        raise AssertionError("the command started its work before refusing a bad input")

    # every command module is imported first: one imported while patched would keep the patched name for good
    for command in pkgutil.iter_modules(automatch_jax.cli.__path__, "automatch_jax.cli."):
        importlib.import_module(command.name)
    for module, name in WORK.values():
        owner = importlib.import_module(module)
        *parents, attribute = name.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        monkeypatch.setattr(owner, attribute, started)


def refused(argv: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs ``automatch argv`` in-process with all work forbidden; returns its one-line answer."""
    _forbid_work(monkeypatch)
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and lines[0].startswith("automatch"), captured.err
    assert captured.out == ""
    return lines[0]


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A read-only tmpfs mount, or None where it cannot be mounted."""
    folder = tmp_path_factory.mktemp("read-only")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    yield folder if mounted else None
    if mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three small frames (a grey square on a dark background)."""
    folder = tmp_path_factory.mktemp("frames")
    for i in range(3):
        image = np.full((96, 128, 3), 30, np.uint8)
        image[30 + i : 60 + i, 40:70] = 200
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), image)
    return folder


def place(kind: str, tmp_path: Path, read_only: Path | None, want: str) -> str:
    """An output path that cannot be written: under a read-only mount, under a file, or of the wrong kind
    (an existing folder where a file is ``want`` ed, an existing file where a folder is)."""
    afile = tmp_path / "a-file"
    afile.write_text("x")
    if kind == "read-only":
        if read_only is None:
            pytest.skip("no read-only tmpfs can be mounted here")
        return str(read_only / "out" / "result.txt")
    if kind == "under-a-file":
        return str(afile / "result.txt")
    return str(tmp_path if want == "file" else afile)


# (command line with OUT for the output, "file" or "folder")
OUTPUTS = [
    (["track", "{frames}", "--box", "40,30,30,30", "--out", "OUT"], "file"),
    (["track", "{frames}", "--box", "40,30,30,30", "--video", "OUT"], "file"),
    (["demo", "--out", "OUT"], "folder"),
    (["export", "--out", "OUT"], "folder"),
    (["train", "--config", SMOKE, "--out", "OUT"], "folder"),
    (["fetch-imagery", "--out", "OUT"], "folder"),
    (["label-video", "{frames}", "--out", "OUT"], "folder"),
    (["search", "--config", SMOKE, "--out", "OUT"], "file"),
    (["eval", "--example", "--json", "OUT"], "file"),
    (["eval", "--example", "--plots", "OUT"], "folder"),
    (["run-benchmark", "--dataset", "otb", "--root", "{frames}", "--results", "OUT"], "folder"),
    (["submission", "--dataset", "got10k_test", "--root", "{frames}", "--results", "{frames}", "--out", "OUT"],
     "file"),
    (["synth", "--out", "OUT", "--sequences", "1"], "folder"),
]
ANSWERS = {"read-only": "cannot be written (Read-only file system)", "under-a-file": "is a file, not a folder",
           "wrong-kind": "expected a"}


@pytest.mark.parametrize("kind", list(ANSWERS))
@pytest.mark.parametrize(("argv", "want"), [pytest.param(*o, id=f"{o[0][0]} {o[0][o[0].index('OUT') - 1]}")
                                            for o in OUTPUTS])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    argv: list[str], want: str, kind: str, tmp_path: Path, read_only: Path | None, frames: Path,
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = place(kind, tmp_path, read_only, want)
    line = refused([a.replace("{frames}", str(frames)).replace("OUT", out) for a in argv], capsys, monkeypatch)
    option = argv[argv.index("OUT") - 1]
    assert line.startswith(f"automatch: error: {option} {out}: "), line
    assert ANSWERS[kind] in line, line
    if kind == "wrong-kind":
        assert f"expected a {'file name' if want == 'file' else 'folder'}" in line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["track", "{frames}", "--max-frames", "-3"], "argument --max-frames: expected an integer >= 1, got '-3'"),
        (["track", "{frames}", "--max-frames", "0"], "argument --max-frames: expected an integer >= 1, got '0'"),
        (["train", "--config", SMOKE, "--max-steps", "0"], "argument --max-steps: expected an integer >= 1"),
        (["train", "--config", SMOKE, "--max-steps", "-1"], "argument --max-steps: expected an integer >= 1"),
        (["search", "--config", SMOKE, "--out", "a.json", "--max-steps", "0"], "--max-steps: expected an integer"),
        (["search", "--config", SMOKE, "--out", "a.json", "--seed", "-1"], "--seed: expected an integer >= 0"),
        (["demo", "--frames", "1"], "argument --frames: expected an integer >= 2, got '1'"),
        (["synth", "--out", "x", "--sequences", "0"], "argument --sequences: expected an integer >= 1"),
        (["synth", "--out", "x", "--frames", "1"], "argument --frames: expected an integer >= 2"),
        (["synth", "--out", "x", "--extra", "11"], "argument --extra: expected an integer in [0, 10], got '11'"),
        (["synth", "--out", "x", "--seed", "many"], "argument --seed: expected an integer >= 0, got 'many'"),
        (["track"], "the following arguments are required: SOURCE"),
    ],
)
def test_a_meaningless_number_is_refused_as_it_is_parsed(
    argv: list[str], words: str, frames: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = refused([a.replace("{frames}", str(frames)) for a in argv], capsys, monkeypatch)
    assert line.startswith(f"automatch {argv[0]}: error: ") and words in line, line


@pytest.mark.parametrize(
    ("command", "change", "words"),
    [
        ("train", "config.train.checkpoint_evry = 5", "train.checkpoint_evry: unknown setting (did you mean"),
        ("train", "config.loss.bogus = 1", "loss.bogus: unknown setting"),
        ("train", "config.data.pairs = {'unknown': 1}", "data.pairs.unknown: unknown setting"),
        ("train", "config.loss.cls = 'bcd'", "loss.cls = 'bcd': expected one of 'bce', 'focal'"),
        ("train", "config.inference = {'lr': 2.0}", "inference: tracker setting lr=2.0 is out of range"),
        ("search", "config.search.order = 'third'", "search.order = 'third': expected one of"),
        ("train", "config.init_from = 'automatch-lite'", "init_from automatch-lite: a different network (model."),
        ("train", "config.init_from = '/no/such/run/model'", "init_from: /no/such/run/model: no such checkpoint"),
        ("search", "config.init_from = 'automatch-lite'", "only `automatch train` starts from a checkpoint's"),
    ],
)
def test_a_bad_config_is_refused_before_any_work(
    command: str, change: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "bad.py"
    config.write_text(f"from automatch_jax.train.config import load_config\n\n\ndef get_config():\n"
                      f"    config = load_config({SMOKE!r})\n    {change}\n    return config\n")
    argv = [command, "--config", str(config), "--out", str(tmp_path / ("arch.json" if command == "search" else "run"))]
    line = refused(argv, capsys, monkeypatch)
    assert line.startswith("automatch: error: ") and words in line, line
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_to_start_from_is_checked_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes").mkdir()
    for start, words in ((tmp_path / "notes", "not an automatch checkpoint (no automatch.json)"),
                         ("automatch-lite-fast", "a different network (model.arch is 'automatch' there")):
        argv = ["train", "--config", SMOKE, "--init-from", str(start), "--out", str(tmp_path / "run")]
        line = refused(argv, capsys, monkeypatch)
        assert line.startswith("automatch: error: init_from") and words in line, line
    assert not (tmp_path / "run").exists()


def test_an_os_error_with_a_path_is_one_line_and_one_without_is_a_bug(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import automatch_jax.cli.info_cmd as info_cmd

    def disk_full(args):
        raise OSError(28, "No space left on device", "/data/out/boxes.txt")

    monkeypatch.setattr(info_cmd, "run", disk_full)
    assert main(["info", "--config", SMOKE]) == 2
    assert capsys.readouterr().err == "automatch: error: /data/out/boxes.txt: No space left on device\n"

    def bug(args):
        raise OSError("a bug, not the user's input")

    monkeypatch.setattr(info_cmd, "run", bug)
    with pytest.raises(OSError, match="a bug"):
        main(["info", "--config", SMOKE])
    assert main(["--version"]) == 0
