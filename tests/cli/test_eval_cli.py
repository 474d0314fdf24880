"""`automatch eval` and `automatch submission` end to end, good and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.cli.eval_cmd import example_paths
from automatch_jax.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_example_writes_tables_json_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, "eval", "--example", "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path / "plots")
    )
    assert code == 0, err
    assert "CSRT" in out and "KCF" in out and "Static" in out
    assert "by attribute" in out and "\nSV " in out
    doc = json.loads((tmp_path / "r.json").read_text())
    trackers = doc["trackers"]
    assert set(trackers) == {"CSRT", "KCF", "Static"}
    for entry in trackers.values():
        assert set(entry["sequences"]) == {"Crossing", "MotorRolling"}
        for key in ("success_auc", "precision_20", "norm_precision"):
            assert 0.0 <= entry["overall"][key] <= 1.0
        assert entry["overall"]["fps"] > 0
        # Crossing has SV, DEF, BC; MotorRolling IV, SV, MB, FM, IPR, BC.
        assert entry["attributes"]["SV"]["n_sequences"] == 2
        assert entry["attributes"]["DEF"]["n_sequences"] == 1
        assert entry["attributes"]["DEF"]["success_auc"] == entry["sequences"]["Crossing"]["success_auc"]
        assert len(entry["curves"]["success_curve"]) == 21
    # A box that never moves must score below a real tracker.
    assert trackers["Static"]["overall"]["success_auc"] < trackers["CSRT"]["overall"]["success_auc"]
    for name in ("success.png", "precision.png", "success_SV.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG"


def test_real_sequences_with_result_folders(
    tmp_path: Path, real_sequences: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, tracker_dirs = example_paths()
    code, _, err = _run(
        capsys,
        "eval",
        "--dataset",
        "otb",
        "--root",
        str(real_sequences),
        "--results",
        *[str(d) for d in tracker_dirs],
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 0, err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert set(doc["trackers"]["KCF"]["sequences"]) == {"Crossing", "MotorRolling"}


def _bad_input_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    root, tracker_dirs = example_paths()
    good = tracker_dirs[0]
    broken = tmp_path / "Broken"
    shutil.copytree(good, broken)
    short = tmp_path / "Short"
    shutil.copytree(good, short)
    lines = (short / "Crossing.txt").read_text().splitlines()
    (short / "Crossing.txt").write_text("\n".join(lines[:-3]) + "\n")
    nan = tmp_path / "Nan"
    shutil.copytree(good, nan)
    text = (nan / "MotorRolling.txt").read_text().splitlines()
    text[4] = "nan,nan,nan,nan"
    (nan / "MotorRolling.txt").write_text("\n".join(text) + "\n")
    text[4] = "12,13;x,4"
    (broken / "MotorRolling.txt").write_text("\n".join(text) + "\n")
    missing = tmp_path / "Missing"
    shutil.copytree(good, missing)
    (missing / "Crossing.txt").unlink()
    return {
        "unknown dataset": (["--dataset", "otb99", "--root", str(root), "--results", str(good)], "otb99"),
        "missing root": (
            ["--dataset", "otb", "--root", str(tmp_path / "nope"), "--results", str(good)],
            "nope",
        ),
        "root without layout": (
            ["--dataset", "lasot", "--root", str(root), "--results", str(good)],
            str(root),
        ),
        "missing results folder": (
            ["--dataset", "otb", "--root", str(root), "--results", str(tmp_path / "X")],
            "X",
        ),
        "too few rows": (
            ["--dataset", "otb", "--root", str(root), "--results", str(short)],
            "117 rows, expected 120",
        ),
        "NaN row": (["--dataset", "otb", "--root", str(root), "--results", str(nan)], "line 5 holds NaN"),
        "malformed row": (["--dataset", "otb", "--root", str(root), "--results", str(broken)], "line 5"),
        "missing file": (
            ["--dataset", "otb", "--root", str(root), "--results", str(missing)],
            "Crossing.txt",
        ),
        "no arguments": ([], "missing --dataset, --root, --results"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unknown dataset",
        "missing root",
        "root without layout",
        "missing results folder",
        "too few rows",
        "NaN row",
        "malformed row",
        "missing file",
        "no arguments",
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    argv, needle = _bad_input_cases(tmp_path)[case]
    code, out, err = _run(capsys, "eval", *argv)
    assert code == 2
    assert out == ""  # no table printed as if it were right
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automatch: error: "), err
    assert needle in lines[0]


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    exe = shutil.which("automatch")
    argv = [exe] if exe else [sys.executable, "-m", "automatch_jax.cli.main"]
    done = subprocess.run(
        [*argv, "eval", "--dataset", "nope", "--root", str(tmp_path), "--results", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nope" in done.stderr


def _got10k_test_root(tmp_path: Path) -> Path:
    split = tmp_path / "GOT-10k" / "test"
    names = ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    split.mkdir(parents=True)
    (split / "list.txt").write_text("\n".join(names) + "\n")
    for i, name in enumerate(names):
        seq = split / name
        seq.mkdir()
        (seq / "groundtruth.txt").write_text("10.0000,20.0000,30.0000,40.0000\n")
        (seq / "meta_info.ini").write_text("[METAINFO]\nresolution: (64, 48)\n")
        for f in range(3 + i):
            (seq / f"{f + 1:08d}.jpg").write_bytes(b"")
    return tmp_path / "GOT-10k"


def test_got10k_submission_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _got10k_test_root(tmp_path)
    results = tmp_path / "RESULTS" / "T"
    results.mkdir(parents=True)
    for i, name in enumerate(["GOT-10k_Test_000001", "GOT-10k_Test_000002"]):
        np.savetxt(results / f"{name}.txt", np.tile([10.0, 20, 30, 40], (3 + i, 1)), delimiter=",")
        np.savetxt(results / f"{name}_time.txt", np.full(3 + i, 0.01))
    code, _, err = _run(
        capsys,
        "submission",
        "--dataset",
        "got10k_test",
        "--root",
        str(root),
        "--results",
        str(results),
        "--out",
        str(tmp_path / "sub.zip"),
    )
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        names = sorted(archive.namelist())
        assert "GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt" in names
        assert "GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt" in names
        rows = archive.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode().splitlines()
        assert len(rows) == 4 and rows[0] == "10.000,20.000,30.000,40.000"
    # A missing frame's row is refused before anything is written.
    np.savetxt(results / "GOT-10k_Test_000002.txt", np.tile([10.0, 20, 30, 40], (3, 1)), delimiter=",")
    code, _, err = _run(
        capsys,
        "submission",
        "--dataset",
        "got10k_test",
        "--root",
        str(root),
        "--results",
        str(results),
        "--out",
        str(tmp_path / "sub2.zip"),
    )
    assert code == 2 and "3 rows, expected 4" in err and not (tmp_path / "sub2.zip").exists()


def test_eval_refuses_private_ground_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _got10k_test_root(tmp_path)
    code, _, err = _run(
        capsys, "eval", "--dataset", "got10k_test", "--root", str(root), "--results", str(tmp_path)
    )
    assert code == 2 and "automatch submission" in err


def test_conventions(tmp_path: Path, capsys: pytest.CaptureFixture[str], real_sequences: Path) -> None:
    code, official, err = _run(capsys, "eval", "--example")
    assert code == 0, err
    code, out, err = _run(capsys, "eval", "--example", "--convention", "pysot", "--json", str(tmp_path / "p.json"))
    assert code == 0, err
    assert "pysot convention" in out.splitlines()[0] and out != official
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["trackers"]["CSRT"]["convention"] == "pysot"
    assert len(doc["trackers"]["CSRT"]["thresholds"]["precision_curve"]) == 51
    # pysot keeps the first frame as written: the static box still scores, but not identically.
    assert 0 < doc["trackers"]["Static"]["overall"]["success_auc"] < 1
    _, tracker_dirs = example_paths()
    code, out, err = _run(
        capsys, "eval", "--dataset", "vot", "--root", str(real_sequences), "--results", str(tracker_dirs[0]),
        "--convention", "pytracking",
    )
    assert code == 2 and out == "" and err.count("\n") == 1 and "--protocol supervised" in err
