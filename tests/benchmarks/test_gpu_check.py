"""``benchmarks/gpu_check.py``: ``--smoke`` runs every row of every section (tiny, on CPU) and writes one JSON
line per row as it goes; rows that do not fit the budget are skipped, the watchdog stops the run at the budget, and
a failing row is recorded without stopping the others."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("gpu_check", None)


def test_smoke_run_measures_every_row(gpu_check, tmp_path: Path) -> None:
    out = tmp_path / "check.jsonl"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--smoke", "--budget", "900",
                           "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    failed = [r for r in records if r["status"] != "ok"]
    assert not failed, failed
    planned = [(r.section, r.name) for r in gpu_check.plan(smoke=True, on_gpu=False)]
    assert [(r["section"], r["row"]) for r in records] == [*planned, ("summary", "total")]
    assert [s for s in dict.fromkeys(r["section"] for r in records)] == [*gpu_check.SECTIONS, "summary"]
    assert len([line for line in done.stdout.splitlines() if line.startswith("[")]) == len(records)
    rows = {(r["section"], r["row"]): r for r in records}
    assert rows[("environment", "pallas self-check")]["passed"] is True
    for record in records:
        if record["section"] == "xcorr" and "pallas_rel_err" in record:
            assert record["pallas_rel_err"] < (1e-5 if record["dtype"] == "float32" else 2e-2), record
            assert all(record[f"{p}_us"] > 0 for p in ("pallas", "xla", "shift"))
        if record["section"] == "tracker":
            assert record["per_s"] > 0 and record["p50_ms"] <= record["p90_ms"] <= record["p99_ms"], record
        if record["section"] == "multitracker":
            assert record["target_frames_per_s"] > 0 and record["targets"] == 2, record
        if record["section"] == "train":
            assert record["steps_per_s"] > 0 and record["first_loss"] > 0, record
        if record["section"] == "loader":
            assert record["pairs_per_s"] > 0, record
    first = rows[next(row for row in planned if row[0] == "xcorr")]  # the smoke run's gradient check
    assert first["grad1_rel_err"] < 1e-4 and first["grad2_rel_err"] < 1e-4, first
    assert records[-1]["rows"] == {"ok": len(records) - 1}


def test_rows_past_the_budget_are_skipped_and_errors_recorded(gpu_check, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    elapsed = time.monotonic() - gpu_check.START
    recorder = gpu_check.Recorder(out, budget_s=elapsed + 600, smoke=False, hard_stop=False)

    def broken(until: float) -> dict:
        raise RuntimeError("no such kernel\nsecond line")

    recorder.run([gpu_check.Row("a", "fits", 1.0, lambda until: {"value": 1.5}),
                  gpu_check.Row("a", "too long", 10_000.0, lambda until: {"value": 2}),
                  gpu_check.Row("b", "broken", 0.0, broken),
                  gpu_check.Row("b", "after", 0.0, lambda until: {"value": 3})])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["row"], r["status"]) for r in records] == [
        ("fits", "ok"), ("too long", "skipped (budget)"), ("broken", "error"), ("after", "ok"), ("total", "ok")]
    assert records[0]["value"] == 1.5 and records[2]["error"] == "RuntimeError: no such kernel"
    assert records[-1]["rows"] == {"ok": 2, "skipped (budget)": 1, "error": 1}


def test_the_full_plan_fits_the_default_budget(gpu_check) -> None:
    rows = gpu_check.plan(smoke=False, on_gpu=True)
    assert [s for s in dict.fromkeys(r.section for r in rows)] == list(gpu_check.SECTIONS)
    assert gpu_check.planned_seconds(rows) == gpu_check.STARTUP_S + sum(r.needs_s for r in rows)
    assert gpu_check.planned_seconds(rows) <= gpu_check.DEFAULT_BUDGET_S
    # one device call within the budget, plus a rerun and a few minutes' start-up, in 15 minutes of device time
    assert 4 * 60 + 2 * (gpu_check.DEFAULT_BUDGET_S + 30) <= 15 * 60
    multi = [r.name for r in rows if r.section == "multitracker"]
    assert any("N=256" in n for n in multi) and any("N=64" in n for n in multi), multi


def _simulated_run(gpu_check, monkeypatch: pytest.MonkeyPatch, out: Path, budget_s: float):
    """The full device plan through a Recorder on a simulated clock: start-up takes ``STARTUP_S``, each row exactly
    its planned time. Returns the rows, the names of those that ran, the records and the clock at the end."""
    now = [gpu_check.START + gpu_check.STARTUP_S]
    monkeypatch.setattr(gpu_check, "time", types.SimpleNamespace(monotonic=lambda: now[0], perf_counter=lambda: now[0]))
    ran: list[str] = []

    def fake(row):
        def run(until: float) -> dict:
            assert until <= now[0] + row.needs_s  # its timed loop ends by its planned time
            ran.append(row.name)
            now[0] += row.needs_s
            return {}

        return dataclasses.replace(row, run=run)

    rows = [fake(r) for r in gpu_check.plan(smoke=False, on_gpu=True)]
    gpu_check.Recorder(out, budget_s=budget_s, smoke=False, hard_stop=False).run(rows)
    return rows, ran, [json.loads(line) for line in out.read_text().splitlines()], now[0]


def test_the_full_plan_runs_whole_in_the_default_budget(gpu_check, monkeypatch, tmp_path: Path) -> None:
    rows, ran, records, end = _simulated_run(gpu_check, monkeypatch, tmp_path / "full.jsonl",
                                             gpu_check.DEFAULT_BUDGET_S)
    assert ran == [r.name for r in rows]
    assert records[-1]["rows"] == {"ok": len(rows)}
    assert end <= gpu_check.START + gpu_check.DEFAULT_BUDGET_S


def test_a_small_budget_skips_later_rows_without_running_them(gpu_check, monkeypatch, tmp_path: Path) -> None:
    budget = 150.0
    rows, ran, records, end = _simulated_run(gpu_check, monkeypatch, tmp_path / "small.jsonl", budget)
    status = {r["row"]: r["status"] for r in records[:-1]}
    assert [r["row"] for r in records[:-1]] == [r.name for r in rows]
    assert ran == [r.name for r in rows if status[r.name] == "ok"]
    skipped = [r.name for r in rows if status[r.name] == gpu_check.SKIPPED]
    assert skipped and not set(skipped) & set(ran) and set(status.values()) == {"ok", gpu_check.SKIPPED}
    assert all(status[r.name] == gpu_check.SKIPPED for r in rows if r.section in ("train", "loader"))
    first_skip = next(i for i, r in enumerate(rows) if status[r.name] == gpu_check.SKIPPED)
    assert all(status[r.name] == "ok" for r in rows[:first_skip])  # in priority order until the budget runs short
    assert all(r["needs_s"] > r["left_s"] for r in records if r["status"] == gpu_check.SKIPPED)
    assert end <= gpu_check.START + budget


def test_watchdog_ends_the_run_at_the_budget(gpu_check, tmp_path: Path) -> None:
    out = tmp_path / "stopped.jsonl"
    stopped = threading.Event()
    elapsed = time.monotonic() - gpu_check.START
    recorder = gpu_check.Recorder(out, budget_s=elapsed + 1.0, smoke=False, on_deadline=stopped.set)
    rows = [gpu_check.Row("a", "endless", 0.0, lambda until: {"done": stopped.wait(60)}),
            gpu_check.Row("a", "next", 0.0, lambda until: {})]
    recorder.run(rows)
    assert stopped.is_set()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["row"], r["status"]) for r in records] == [
        ("endless", "stopped (budget)"), ("next", "skipped (budget)"), ("total", "ok")]
