"""Times `automatch eval` end to end through the CLI, beside the got10k toolkit, on the same OTB100 files.

Writes the 100 OTB100 sequences in the benchmark's layout (annotations of ~1000 frames each, frame ranges and
file names as OTB has them, empty image files, which got10k lists) and one tracker's results with per-frame
times, then times, each in a fresh process as a user runs it:

- ``automatch eval --dataset otb100 --root ROOT --results RESULTS/T`` (start-up, reading and validating
  ground truth and results, every metric overall and for the 11 attributes, the printed tables);
- the got10k toolkit's ``ExperimentOTB(ROOT, version=2015).report(["T"])`` (which also draws its plots).

Both must give the same success AUC. Goal: `automatch eval` under one second for this job.

    python benchmarks/eval_end_to_end.py [--frames 1000] [--repeats 5] [--skip-got10k]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from automatch_jax.data import otb_table

# OTB sequences with more images on disk than annotated frames (got10k slices them): name -> images.
EXTRA_IMAGES = {"David": 770, "Football1": 79, "Freeman3": 463, "Freeman4": 285, "Diving": 219}

GOT10K_REPORT = """
import sys
from got10k.experiments import ExperimentOTB
root, results, reports = sys.argv[1:4]
report = ExperimentOTB(root, version=2015, result_dir=results, report_dir=reports).report(["T"])
print("AUC", report["T"]["overall"]["success_score"])
"""


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def make_benchmark(root: Path, n_frames: int, seed: int = 0) -> tuple[Path, Path, int]:
    """OTB100 under ``root/OTB`` and tracker ``T``'s results (got10k's names and ``times/`` layout) under
    ``root/results/OTB2015/T``. Returns the two folders and the number of frames written."""
    rng = np.random.default_rng(seed)
    otb, results = root / "OTB", root / "results" / "OTB2015" / "T"
    (results / "times").mkdir(parents=True)
    lengths: dict[str, int] = {}
    for name in otb_table.OTB100:
        entry = otb_table.TABLE[name]
        n = entry.end_frame - entry.start_frame + 1 if entry.end_frame else n_frames
        if entry.folder != name and not name.endswith("-1"):
            n = lengths[entry.folder + "-1"]  # the second target of a video has the first one's length
        lengths[name] = n
        folder = otb / entry.folder
        (folder / "img").mkdir(parents=True, exist_ok=True)
        steps = rng.normal(0, 3, size=(n, 2)).cumsum(axis=0)
        gt = np.round(np.column_stack([200 + steps, rng.uniform(20, 80, 2) + rng.normal(0, 1, (n, 2))]))
        np.savetxt(folder / entry.anno_file, gt, fmt="%d", delimiter=",")
        if name == "Human4":
            (folder / "groundtruth_rect.1.txt").write_text("\n")
        last = EXTRA_IMAGES.get(name, entry.start_frame + n - 1)
        first = 1 if name in EXTRA_IMAGES else entry.start_frame
        for i in range(first, last + 1):
            (folder / "img" / f"{i:0{entry.digits}d}.jpg").touch()
        pred = gt + rng.normal(0, 6, size=gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:]) + 1
        result_name = name.replace("-", ".")
        np.savetxt(results / f"{result_name}.txt", pred, fmt="%.3f", delimiter=",")
        np.savetxt(results / "times" / f"{result_name}_time.txt", rng.uniform(0.001, 0.01, n), fmt="%.6f")
    return otb, results, sum(lengths.values())


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames of each sequence without a fixed range")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-got10k", action="store_true", help="time automatch eval only")
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}")
    exe = shutil.which("automatch")
    cli = [exe] if exe else [sys.executable, "-m", "automatch_jax.cli.main"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory() as tmp:
        otb, results, frames = make_benchmark(Path(tmp), args.frames)
        command = [*cli, "eval", "--dataset", "otb100", "--root", str(otb), "--results", str(results)]
        ours, out = [], ""
        for _ in range(args.repeats):
            seconds, out = timed(command, env)
            ours.append(seconds)
        auc_line = next(line for line in out.splitlines() if line.startswith("T "))
        print(f"automatch eval, 100 OTB100 sequences, {frames} frames (11 attributes): "
              f"median {statistics.median(ours):.3f} s, min {min(ours):.3f} s over {args.repeats} runs")
        print(f"  {auc_line.split()[2]} % success AUC (table row: {auc_line.strip()})")
        if args.skip_got10k:
            return
        theirs, out = [], ""
        for i in range(args.repeats):
            reports = Path(tmp) / f"reports{i}"
            report = [sys.executable, "-c", GOT10K_REPORT, str(otb), str(results.parents[1]), str(reports)]
            seconds, out = timed(report, env)
            theirs.append(seconds)
        auc = float(out.split()[-1])
        print(f"got10k ExperimentOTB.report, same files: median {statistics.median(theirs):.3f} s, "
              f"min {min(theirs):.3f} s over {args.repeats} runs (success AUC {100 * auc:.1f} %)")


if __name__ == "__main__":
    main()
