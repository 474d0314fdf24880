"""The matching-operator study (the paper's Table 1) on data anyone can regenerate, end to end and resumable.

1. ``automatch synth``: an OTB-format synthetic benchmark, one group of sequences per OTB attribute (validation
   imagery: objects and photos training never sees).
2. BCM search (``configs/table1.py:<any>,<variant>`` network with the search cell) and its ablations: one scalar
   manipulator per operator, and two random operators per branch.
3. Training, with the same budget and seed for every variant: each of the seven operators alone in both branches,
   the searched pair, the paper's pair ({transformer, film} / {film, pairwise}), and the two ablations.
4. Tracking the synthetic benchmark (and, for reference only, the real sequences in ``--real``) with every variant and
   with OpenCV's CSRT and KCF in the same run; evaluation per attribute; ``study.md``, ``study.json`` and plots.

    python benchmarks/operator_study.py --variant lite-fast --recipe configs/automatch_lite_cpu.py --steps 500 \
        --search-steps 200 --frames 60 --real ../shared/data/sequences --imagery IMAGERY --work runs/study
    python benchmarks/operator_study.py --variant smoke --steps 20 --search-steps 10 --sequences 22 --frames 30

A search much shorter than the paper's ~23k steps barely moves the manipulators at DARTS' Adam rate (3e-4); scale it
to the budget with ``--arch-lr`` (e.g. 0.0345 for 200 steps; BENCHMARKS.md shows both). Use a fresh ``--work`` folder
when changing it: finished searches are reused.

Every stage skips what is already done, so a killed study resumes. Never tune anything on ``--real``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automatch_jax.data.benchmarks import load_benchmark  # noqa: E402
from automatch_jax.data.imagery import Imagery  # noqa: E402
from automatch_jax.data.otb_table import ATTRIBUTES  # noqa: E402
from automatch_jax.data.synth import SynthConfig, synthesise_benchmark  # noqa: E402
from automatch_jax.eval.evaluate import evaluate_trackers  # noqa: E402
from automatch_jax.eval.plots import plot_reports  # noqa: E402
from automatch_jax.eval.report import to_json  # noqa: E402
from automatch_jax.ops import OPERATOR_NAMES, PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS  # noqa: E402
from automatch_jax.search.arch import apply_arch, load_arch  # noqa: E402
from automatch_jax.search.run import search  # noqa: E402
from automatch_jax.tracking import Tracker  # noqa: E402
from automatch_jax.tracking.opencv import OpenCVTracker  # noqa: E402
from automatch_jax.tracking.run import run_benchmark  # noqa: E402
from automatch_jax.train.config import load_config  # noqa: E402
from automatch_jax.train.loop import train  # noqa: E402

PAPER = {"cls": list(PAPER_CLS_OPERATORS), "reg": list(PAPER_REG_OPERATORS)}
ALL_VARIANTS = (*OPERATOR_NAMES, "searched", "paper", "scalar", "random")


def base_config(variant: str, steps: int, seed: int, recipe: str = ""):
    """``configs/table1.py`` for ``variant``; ``recipe``: a config whose ``train`` section (batch, rates, workers)
    replaces table1's, e.g. ``configs/automatch_lite_cpu.py`` (the shipped model's CPU recipe)."""
    config = load_config(REPO / f"configs/table1.py:dw_xcorr,{variant}" if variant else "configs/table1.py:dw_xcorr")
    if recipe:
        config.train.update(dict(load_config(recipe).train))
        config.search.update(batch_size=config.train.batch_size, workers=config.train.workers)
    config.train.update(steps=steps, seed=seed, unfreeze_step=steps + 1, warmup_steps=min(config.train.warmup_steps,
                                                                                         max(steps // 5, 1)))
    config.search.seed = seed
    return config


def architectures(args: argparse.Namespace, imagery: Imagery, work: Path, wanted: list[str]) -> dict[str, dict]:
    """The operator lists of every variant; searches (and their ablations) run here when wanted."""
    archs = {op: {"cls": [op], "reg": [op]} for op in OPERATOR_NAMES}
    archs["paper"] = PAPER
    for name, switches in (("searched", {}), ("scalar", {"scalar": True}), ("random", {"random": True})):
        if name not in wanted:
            continue
        path = work / "arch" / f"{name}.json"
        done = path.is_file() and (name == "random" or load_arch(path).get("steps", 0) >= args.search_steps)
        if not done:
            config = base_config(args.variant, args.steps, args.seed, args.recipe)
            config.search.update(steps=args.search_steps, order=args.order, **switches)
            if args.arch_lr:
                config.search.arch_lr = args.arch_lr
            search(config, path, imagery=imagery, progress=not args.quiet)
        arch = load_arch(path)
        archs[name] = {"cls": arch["cls"]["operators"], "reg": arch["reg"]["operators"]}
    return {name: archs[name] for name in wanted}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/study"))
    parser.add_argument("--variant", default="lite",
                        help="network variant of configs/table1.py: lite, lite-fast, smoke, '' (ResNet-50)")
    parser.add_argument("--variants", default=",".join(ALL_VARIANTS), help="which rows to run")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per variant (same for all)")
    parser.add_argument("--recipe", default="", help="config whose train section every variant uses "
                        "(e.g. configs/automatch_lite_cpu.py); default: configs/table1.py's")
    parser.add_argument("--search-steps", type=int, default=500)
    parser.add_argument("--order", default="second", choices=("first", "second", "second-fd"))
    parser.add_argument("--arch-lr", type=float, default=0.0, help="the manipulators' Adam rate (default: the "
                        "config's 3e-4, DARTS' rate for the paper's ~23k search steps; a short search may scale it "
                        "up by 23000 / --search-steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequences", type=int, default=110, help="synthetic sequences (11 attributes x 10)")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--imagery", type=Path, default=None, help="imagery cache (default: ~/.cache/automatch/...)")
    parser.add_argument("--builtin-imagery", action="store_true", help="scikit-image photos only (tests)")
    parser.add_argument("--real", type=Path, default=None, help="real OTB-format sequences, for reference only")
    parser.add_argument("--no-opencv", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    work = args.work.absolute()
    imagery = Imagery.builtin(cutouts=24) if args.builtin_imagery else Imagery.load(args.imagery)
    wanted = [v for v in args.variants.split(",") if v]
    unknown = [v for v in wanted if v not in ALL_VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant {unknown[0]!r}; known: {', '.join(ALL_VARIANTS)}")

    bench = work / "synth-otb"
    synthesise_benchmark(bench, imagery.split()[1], args.sequences, ATTRIBUTES, seed=args.seed,
                         cfg=SynthConfig(frames=args.frames), progress=not args.quiet)
    benchmarks = {"synth": load_benchmark("otb", bench)}
    if args.real:
        benchmarks["real"] = load_benchmark("otb", args.real)

    trackers = {}
    for name, arch in architectures(args, imagery, work, wanted).items():
        operators = {"cls": {"operators": arch["cls"]}, "reg": {"operators": arch["reg"]}}
        config = apply_arch(base_config(args.variant, args.steps, args.seed, args.recipe), operators)
        model = work / "models" / name / "model"
        if not (model / "automatch.json").is_file():
            train(config, model.parent, imagery=imagery, progress=not args.quiet)
        trackers[name] = (lambda m=model: Tracker.from_pretrained(m), arch)
    if not args.no_opencv:
        for kind in ("CSRT", "KCF"):
            trackers[kind] = (lambda k=kind: OpenCVTracker(k), None)

    summary = {"settings": {k: str(v) for k, v in vars(args).items()}, "architectures": {}, "benchmarks": {}}
    for bench_name, dataset in benchmarks.items():
        result_dirs = []
        for name, (make, arch) in trackers.items():
            results = work / "results" / bench_name / name
            run_benchmark(make(), dataset, results, progress=not args.quiet)
            result_dirs.append(results)
            if arch:
                summary["architectures"][name] = arch
        reports = evaluate_trackers(dataset, result_dirs)
        doc = to_json(reports, "otb")
        summary["benchmarks"][bench_name] = doc
        plot_reports(reports, work / "plots" / bench_name, "otb")
    (work / "study.json").write_text(json.dumps(summary, indent=1))
    (work / "study.md").write_text(markdown(summary))
    if not args.quiet:
        print((work / "study.md").read_text())
    return summary


def markdown(summary: dict) -> str:
    """Tables: per benchmark, overall AUC / precision and success AUC per attribute, one row per tracker."""
    lines = []
    for bench_name, doc in summary["benchmarks"].items():
        trackers = doc["trackers"]
        attrs = [a for a in ATTRIBUTES if any(a in t.get("attributes", {}) for t in trackers.values())]
        lines += [f"### {bench_name}", "", "| tracker | cls | reg | AUC | Prec@20 | " + " | ".join(attrs) + " |",
                  "| --- " * (5 + len(attrs)) + "|"]
        for name, t in sorted(trackers.items(), key=lambda kv: -kv[1]["overall"]["success_auc"]):
            arch = summary["architectures"].get(name, {"cls": ["-"], "reg": ["-"]})
            cells = [f"{100 * t['attributes'][a]['success_auc']:.1f}" if a in t.get("attributes", {}) else "-"
                     for a in attrs]
            lines.append(f"| {name} | {'+'.join(arch['cls'])} | {'+'.join(arch['reg'])} | "
                         f"{100 * t['overall']['success_auc']:.1f} | {100 * t['overall']['precision_20']:.1f} | "
                         + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
