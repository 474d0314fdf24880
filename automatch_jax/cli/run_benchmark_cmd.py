"""``automatch run-benchmark``: track every sequence of a benchmark into the results layout ``automatch eval`` reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.track_cmd import add_model_arguments, load_tracker


def register(subparsers: argparse._SubParsersAction) -> None:
    from automatch_jax.data.benchmarks import BENCHMARKS

    parser = subparsers.add_parser(
        "run-benchmark",
        help="run a tracker on every sequence of a benchmark (resumable)",
        description="Track every sequence of a benchmark and write RESULTS/<tracker>/<sequence>.txt and "
        "<sequence>_time.txt. Sequences already complete are skipped, so a killed run resumes.",
    )
    parser.add_argument("--dataset", required=True, metavar="NAME", help=", ".join(sorted(BENCHMARKS)))
    parser.add_argument(
        "--root", required=True, type=Path, help="the benchmark's folder, in its native layout"
    )
    parser.add_argument("--results", required=True, type=Path, metavar="RESULTS/<tracker>")
    add_model_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="re-run sequences that are already done")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.data.benchmarks import load_benchmark
    from automatch_jax.tracking.run import run_benchmark

    dataset = load_benchmark(args.dataset, args.root)
    tracker = load_tracker(args)
    status = run_benchmark(tracker, dataset, args.results, progress=not args.quiet, overwrite=args.overwrite)
    done = sum(v == "done" for v in status.values())
    print(
        f"{tracker.name} on {dataset.name}: {done} sequences tracked, {len(status) - done} already done; "
        f"results in {args.results}"
    )
    return 0
