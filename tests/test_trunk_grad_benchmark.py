"""``benchmarks/trunk_grad.py`` at toy size: both depthwise paths measured in their own processes, one row each per
number of frozen units."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_trunk_grad_table_has_both_depthwise_paths(capsys: pytest.CaptureFixture) -> None:
    spec = importlib.util.spec_from_file_location("trunk_grad", REPO / "benchmarks" / "trunk_grad.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--backbone", "tiny", "--batch", "1", "--size", "63", "--repeats", "1",
                       "--frozen-units", "0", "2"])
    assert [(row["depthwise"], row["frozen_units"]) for row in rows] == [("shift", 0), ("shift", 2), ("conv", 0),
                                                                         ("conv", 2)]
    assert all(row["forward_ms"] > 0 and row["grad_ms"] > 0 for row in rows)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny")]
    assert len(lines) == 4
