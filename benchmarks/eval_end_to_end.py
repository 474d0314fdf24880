"""Times `automatch eval` end to end: 100 OTB-format sequences x 1000 frames, from files to numbers.

Writes an annotation-only OTB-format benchmark and one tracker's results into a temporary folder, then times
reading the ground truth, reading and validating the results, and computing every metric, overall and per
attribute (the work `automatch eval` does before printing). Goal: under one second on the project's 2-core
machine.

    python benchmarks/eval_end_to_end.py [--sequences 100] [--frames 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.eval.evaluate import evaluate_trackers

ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def make_benchmark(root: Path, n_sequences: int, n_frames: int, seed: int = 0) -> Path:
    """An annotation-only OTB-format benchmark with attributes, and a tracker's results beside it."""
    rng = np.random.default_rng(seed)
    results = root / "RESULTS" / "Random"
    results.mkdir(parents=True)
    for s in range(n_sequences):
        name = f"Synth{s:03d}"
        folder = root / "otb" / name
        folder.mkdir(parents=True)
        steps = rng.normal(0, 3, size=(n_frames, 2)).cumsum(axis=0)
        gt = np.column_stack([200 + steps, np.full((n_frames, 2), 40.0) + rng.normal(0, 1, (n_frames, 2))])
        pred = gt + rng.normal(0, 6, size=gt.shape)
        pred[:, 2:] = np.abs(pred[:, 2:])
        np.savetxt(folder / "groundtruth_rect.txt", gt, fmt="%.2f", delimiter=",")
        chosen = rng.choice(ATTRIBUTES, size=3, replace=False)
        (folder / "attributes.txt").write_text(",".join(chosen) + "\n")
        np.savetxt(results / f"{name}.txt", pred, fmt="%.2f", delimiter=",")
        np.savetxt(results / f"{name}_time.txt", rng.uniform(0.001, 0.01, n_frames), fmt="%.6f")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = make_benchmark(Path(tmp), args.sequences, args.frames)
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            dataset = load_benchmark("otb", Path(tmp) / "otb")
            (report,) = evaluate_trackers(dataset, [results])
            seconds.append(time.perf_counter() - start)
    print(
        f"eval end to end, {args.sequences} sequences x {args.frames} frames "
        f"(read ground truth + results, all metrics, {len(report.attributes)} attributes): "
        f"median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s over {args.repeats} runs"
    )
    print(
        f"success AUC {report.overall['success_auc']:.4f}, precision@20 {report.overall['precision_20']:.4f}"
    )


if __name__ == "__main__":
    main()
