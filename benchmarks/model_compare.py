"""Shipped or candidate models side by side with OpenCV's CSRT, in one run: success AUC and precision at 20 px on the
held-out synthetic benchmark (the model card's: ``automatch synth --sequences 44 --frames 60 --seed 1`` on the
imagery's validation part) and, for reference only, on real OTB-layout sequences; plus each model's mean frames/s
on them (tracking only, after decoding, on this machine: compare within one run).

    python benchmarks/model_compare.py --work compare \\
        --model automatch-lite --model automatch-lite-fast --model new=runs/fa/model \\
        --real ../shared/data/sequences

``--model NAME=PATH@PRESET`` runs a checkpoint under a name with one of the authors' presets (``@otb``); the table
goes to stdout and ``WORK/compare.md``/``compare.json``. Nothing here may be used to choose a training setting on the
real sequences: they are a reference, not a validation set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.data.imagery import Imagery
from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.data.synth import SynthConfig, synthesise_benchmark
from automatch_jax.eval.evaluate import evaluate_trackers
from automatch_jax.eval.report import to_json
from automatch_jax.tracking.opencv import OpenCVTracker
from automatch_jax.tracking.run import run_benchmark
from automatch_jax.tracking.tracker import Tracker


def parse_model(text: str) -> tuple[str, str, str | None]:
    """``NAME=PATH@PRESET`` / ``NAME=PATH`` / ``PATH`` -> (name, model, preset or None)."""
    name, _, rest = text.rpartition("=") if "=" in text else ("", "", text)
    model, _, preset = rest.partition("@")
    return name or Path(model).name, model, preset or None


def mean_fps(results: Path) -> float:
    """Frames over seconds of every ``<seq>_time.txt`` in ``results``: the throughput a user sees, unlike the
    evaluation's ``fps`` (the toolkits' mean of per-frame speeds, which weighs the fast frames more)."""
    times = np.concatenate([np.loadtxt(p, ndmin=1) for p in sorted(results.glob("*_time.txt"))])
    return float(len(times) / max(times.sum(), 1e-9))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH@PRESET (repeatable)")
    parser.add_argument("--real", type=Path, default=None, help="real OTB-layout sequences (reference only)")
    parser.add_argument("--bench", type=Path, default=None,
                        help="an OTB-layout benchmark to use instead of synthesising the model card's")
    parser.add_argument("--sequences", type=int, default=44)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--imagery", type=Path, default=None)
    parser.add_argument("--builtin-imagery", action="store_true", help="scikit-image photos only (tests)")
    parser.add_argument("--no-csrt", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    work = args.work.absolute()
    bench = args.bench or work / "synth-otb"
    if args.bench is None:
        imagery = Imagery.builtin(cutouts=24) if args.builtin_imagery else Imagery.load(args.imagery)
        synthesise_benchmark(bench, imagery.split()[1], args.sequences, ATTRIBUTES, 0, args.seed,
                             SynthConfig(frames=args.frames), progress=not args.quiet)  # complete ones are kept
    benchmarks = {"synthetic": load_benchmark("otb", bench)}
    if args.real:
        benchmarks["real"] = load_benchmark("otb", args.real)
    trackers = {}
    for text in args.model:
        name, model, preset = parse_model(text)
        trackers[name] = lambda m=model, p=preset: Tracker.from_pretrained(m, preset=p)
    if not args.no_csrt:
        trackers["CSRT"] = lambda: OpenCVTracker("CSRT")
    summary: dict = {"settings": {k: str(v) for k, v in vars(args).items()}, "benchmarks": {}}
    for bench_name, dataset in benchmarks.items():
        dirs = []
        for name, make in trackers.items():
            results = work / "results" / bench_name / name
            run_benchmark(make(), dataset, results, progress=not args.quiet)
            dirs.append(results)
        doc = to_json(evaluate_trackers(dataset, dirs), "otb")
        for name, results in zip(trackers, dirs, strict=True):
            doc["trackers"][name]["fps"] = mean_fps(results)
        summary["benchmarks"][bench_name] = doc
    lines = ["| tracker | " + " | ".join(f"{b} AUC | {b} Prec@20 | {b} fps" for b in benchmarks) + " |",
             "| --- " * (1 + 3 * len(benchmarks)) + "|"]
    for name in trackers:
        cells = []
        for bench_name in benchmarks:
            t = summary["benchmarks"][bench_name]["trackers"][name]
            cells += [f"{100 * t['overall']['success_auc']:.1f}", f"{100 * t['overall']['precision_20']:.1f}",
                      f"{t['fps']:.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (work / "compare.md").write_text(table)
    (work / "compare.json").write_text(json.dumps(summary, indent=1))
    print(table)
    return summary


if __name__ == "__main__":
    main()
