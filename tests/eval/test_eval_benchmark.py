"""benchmarks/eval_end_to_end.py runs end to end on a small input (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_eval_benchmark_runs_and_both_evaluators_agree() -> None:
    pytest.importorskip("got10k.experiments")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "eval_end_to_end.py"), "--frames", "6", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    ours = next(line for line in lines if line.startswith("  ") and "success AUC" in line)
    theirs = next(line for line in lines if line.startswith("got10k"))
    auc = ours.split()[0]
    assert f"(success AUC {auc} %)" in theirs
