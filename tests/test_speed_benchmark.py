"""``benchmarks/speed.py`` at toy size: one row per tracker, precision and batch, OpenCV's trackers beside ours."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_speed_table_has_every_configuration(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("speed", REPO / "benchmarks" / "speed.py")
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    argv = ["speed.py", "--models", str(REPO / "configs" / "smoke.py"), "--frames", "6", "--warmup", "1",
            "--batch", "2", "--dtypes", "bfloat16", "--unfolded", "--crops", "host", "device"]
    monkeypatch.setattr(sys, "argv", argv)
    speed.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| tracker | precision | BatchNorm | crops | targets per step | frames/s |")
    kinds = [tuple(cell.strip() for cell in row.split("|")[1:6]) for row in rows[1:]]
    smoke = str(REPO / "configs" / "smoke.py")
    expected = []
    for crop in ("host", "device"):
        expected += [(f"{smoke} (Tracker)", "bfloat16", "folded", crop, "1"),
                     (f"{smoke} (Tracker)", "bfloat16", "as trained", crop, "1"),
                     (f"{smoke} (MultiTracker)", "bfloat16", "folded", crop, "2")]
    assert kinds == [*expected, ("OpenCV CSRT", "-", "-", "-", "1"), ("OpenCV KCF", "-", "-", "-", "1")]
    assert all(float(row.split("|")[6]) > 0 for row in rows[1:])
