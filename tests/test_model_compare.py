"""``benchmarks/model_compare.py`` at toy size: models and CSRT on one synthetic benchmark, in one table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_compare_table_has_a_row_per_tracker(smoke_checkpoint: Path, smoke_automatch_checkpoint: Path,
                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("model_compare", REPO / "benchmarks" / "model_compare.py")
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    assert compare.parse_model("new=runs/x/model@otb") == ("new", "runs/x/model", "otb")
    assert compare.parse_model("runs/x/model") == ("model", "runs/x/model", None)
    summary = compare.main(["--work", str(tmp_path), "--builtin-imagery", "--sequences", "2", "--frames", "5",
                            "--model", f"smoke={smoke_checkpoint}",
                            "--model", f"authors={smoke_automatch_checkpoint}@otb", "--quiet"])
    trackers = summary["benchmarks"]["synthetic"]["trackers"]
    assert set(trackers) == {"smoke", "authors", "CSRT"}
    assert all(0 <= t["overall"]["success_auc"] <= 1 and t["fps"] > 0 for t in trackers.values())
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["smoke", "authors", "CSRT"]
    assert json.loads((tmp_path / "compare.json").read_text())["benchmarks"]["synthetic"]["trackers"].keys() == \
        trackers.keys()
    assert len(list((tmp_path / "results" / "synthetic" / "CSRT").glob("*_time.txt"))) == 2
    again = compare.main(["--work", str(tmp_path / "again"), "--bench", str(tmp_path / "synth-otb"), "--no-csrt",
                          "--model", f"smoke={smoke_checkpoint}", "--quiet"])  # an existing benchmark, reused
    assert again["benchmarks"]["synthetic"]["trackers"]["smoke"]["overall"]["success_auc"] == \
        trackers["smoke"]["overall"]["success_auc"]
