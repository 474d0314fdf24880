"""`automatch eval --report OUT.html`: one self-contained file holding the run's numbers, and its path checked
before any evaluation."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from automatch_jax.cli.main import main
from tests.eval.test_report_html import png_of, read_report

COLUMNS = ("success_auc", "precision_20", "norm_precision", "fps")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_holds_the_json_s_numbers_and_the_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, plots = tmp_path / "out.html", tmp_path / "plots"
    code, out, err = _run(
        capsys, "eval", "--example", "--report", str(report), "--json", str(tmp_path / "r.json"), "--plots", str(plots)
    )
    assert code == 0, err
    assert f"wrote {report}" in out.splitlines()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".html"] == ["out.html"]  # one file, nothing beside
    doc = json.loads((tmp_path / "r.json").read_text())["trackers"]
    reader = read_report(report.read_text(encoding="utf-8"))
    tables = {(a["data-table"], a.get("data-tracker")): rows for a, rows in reader.tables}
    assert list(tables[("overall", None)]) == ["CSRT", "KCF", "Static"]
    for name, entry in doc.items():
        for key in COLUMNS:
            assert float(tables[("overall", None)][name][key][0]) == entry["overall"][key]
        for attribute, metrics in entry["attributes"].items():
            row = tables[("attributes", name)][attribute]
            assert row["n_sequences"][1] == str(metrics["n_sequences"])
            for key in COLUMNS:
                assert float(row[key][0]) == metrics[key]
    # The embedded plots are the ones --plots wrote, byte for byte.
    written = sorted(p.read_bytes() for p in plots.iterdir())
    assert sorted(png_of(src) for src in reader.images) == written and len(written) == 25


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("report.htm", "expected a file name ending in .html"),
        ("report.txt", "expected a file name ending in .html"),
        ("report", "expected a file name ending in .html"),
        ("missing/report.html", "does not exist"),
        ("folder.html", "is a folder"),
        ("file.txt/report.html", "file.txt is a file, not a folder"),
    ],
)
def test_bad_report_path_is_one_line_before_any_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, needle: str
) -> None:
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "file.txt").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    # The benchmark and the results do not exist either: the report's path is refused first.
    code, out, err = _run(
        capsys,
        "eval",
        "--dataset",
        "otb",
        "--root",
        str(tmp_path / "no-benchmark"),
        "--results",
        str(tmp_path / "no-results"),
        "--report",
        str(tmp_path / name),
    )
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automatch: error: --report "), err
    assert needle in lines[0] and "no-benchmark" not in lines[0]
    assert sorted(tmp_path.rglob("*")) == before  # nothing made, not even the missing folder


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """An existing folder no file can be written in: a read-only tmpfs mount where one can be mounted (root),
    else a folder without write permission (binding for other users)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True, check=False
    ).returncode == 0
    if not mounted:
        folder.chmod(0o555)
        if os.access(folder, os.W_OK):
            folder.chmod(0o755)
            pytest.skip("neither a read-only mount nor permission bits can stop this user writing")
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o755)


def test_unwritable_folder_is_refused(unwritable: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "eval", "--example", "--report", str(unwritable / "r.html"))
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"automatch: error: --report {unwritable / 'r.html'}: cannot be written"), err


def test_report_path_refused_with_the_example_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "eval", "--example", "--report", str(tmp_path / "nope" / "r.html"))
    assert code == 2 and out == "" and err.count("\n") == 1 and "does not exist" in err
