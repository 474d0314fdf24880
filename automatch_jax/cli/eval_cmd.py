"""``automatch eval``: score result folders on a benchmark, print tables, write JSON, plots and an HTML report."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from automatch_jax.data.benchmarks import BENCHMARKS, load_benchmark
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.evaluate import EVAL_PROTOCOLS, check_options, evaluate_trackers
from automatch_jax.eval.html_report import check_report_path, write_html
from automatch_jax.eval.plots import render_plots, write_plots
from automatch_jax.eval.protocols import CONVENTIONS
from automatch_jax.eval.report import format_tables, write_json
from automatch_jax.eval.supervised import STACKS
from automatch_jax.paths import check_output_dir, check_output_file

EXAMPLE = "eval_example"


def example_paths() -> tuple[Path, list[Path]]:
    """The bundled example: the real OTB sequences Crossing and MotorRolling (annotations) and the results of
    OpenCV's CSRT and KCF trackers and of a box that never moves, made by ``scripts/make_eval_example.py``."""
    base = Path(str(resources.files("automatch_jax") / "assets" / EXAMPLE))
    results = base / "results"
    return base / "otb", [results / name for name in ("CSRT", "KCF", "Static")]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate tracking results on a benchmark",
        description="Evaluate RESULTS/<tracker> folders (one <sequence>.txt of x,y,w,h lines per sequence) "
        "against a benchmark's ground truth with that benchmark's official protocol.",
    )
    parser.add_argument("--dataset", metavar="NAME", help=f"benchmark: {', '.join(sorted(BENCHMARKS))}")
    parser.add_argument("--root", type=Path, help="the benchmark's folder, in its native layout")
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="one or more RESULTS/<tracker> folders; the folder name is the tracker's name",
    )
    parser.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default="got10k",
        help="got10k (default): each benchmark's official toolkit (got10k for OTB and GOT-10k, the LaSOT/TNL2K "
        "toolkits, the TrackingNet devkit); pysot or pytracking: that toolkit's one-pass rules, to compare with "
        "papers that used it (docs/evaluation.md)",
    )
    parser.add_argument(
        "--protocol",
        choices=EVAL_PROTOCOLS,
        default="one-pass",
        help="one-pass (default), or supervised: VOT's reset-based experiment (accuracy, robustness, EAO) on "
        "the trajectories of 'run-benchmark --protocol supervised'",
    )
    parser.add_argument(
        "--stack",
        choices=sorted(STACKS),
        help="with --protocol supervised: the VOT stack whose EAO interval to use (the paper's VOT2019: vot2019)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write every number as JSON")
    parser.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="write success, precision and normalised-precision plots (overall and per attribute) and the "
        "per-attribute radar plot (PNG)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="OUT.html",
        help="write one self-contained HTML file with the tables and every plot embedded (its folder must exist)",
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help="evaluate the bundled example (CSRT, KCF and a static box on two real OTB sequences)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.example:
        if args.root or args.results or args.dataset not in (None, "otb"):
            raise AutomatchError(
                "--example evaluates the bundled example; leave out --dataset, --root and --results"
            )
        dataset_name, (root, tracker_dirs) = "otb", example_paths()
    else:
        missing = [
            flag
            for flag, value in (
                ("--dataset", args.dataset),
                ("--root", args.root),
                ("--results", args.results),
            )
            if not value
        ]
        if missing:
            raise AutomatchError(f"missing {', '.join(missing)} (or use --example)")
        dataset_name, root, tracker_dirs = args.dataset, args.root, args.results
    if args.report:
        check_report_path(args.report)
    check_options(args.protocol, args.convention, args.stack)
    if args.json:
        check_output_file(args.json, "--json")
    if args.plots:
        check_output_dir(args.plots, "--plots")
    dataset = load_benchmark(dataset_name, root)
    reports = evaluate_trackers(
        dataset,
        tracker_dirs,
        progress=sys.stderr.isatty(),
        convention=args.convention,
        protocol=args.protocol,
        stack=args.stack,
    )
    print(format_tables(reports, dataset_name))
    if args.json:
        print(f"\nwrote {write_json(args.json, reports, dataset_name, str(root))}")
    plots = render_plots(reports, dataset_name) if args.plots or args.report else []
    if args.plots:
        for path in write_plots(plots, args.plots):
            print(f"wrote {path}")
    if args.report:
        print(f"wrote {write_html(args.report, reports, dataset_name, str(root), plots)}")
    return 0
