"""``automatch run-benchmark``: track every sequence of a benchmark into the results layout ``automatch eval`` reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.track_cmd import add_model_arguments, load_tracker
from automatch_jax.errors import AutomatchError


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
    parser.add_argument(
        "--protocol",
        choices=("one-pass", "supervised"),
        default="one-pass",
        help="one-pass (default): one run per sequence; supervised (VOT only): VOT's reset-based experiment "
        "(re-initialised 5 frames after each failure) into RESULTS/<tracker>/baseline/<seq>/<seq>_001.txt, "
        "scored by 'automatch eval --protocol supervised --stack vot2019'",
    )
    add_model_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="re-run sequences that are already done")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.data.benchmarks import load_benchmark
    from automatch_jax.paths import check_output_dir
    from automatch_jax.tracking.run import run_benchmark

    check_output_dir(args.results, "--results")
    dataset = load_benchmark(args.dataset, args.root)
    if args.protocol == "supervised" and dataset.name != "vot":
        raise AutomatchError(
            f"--protocol supervised is VOT's reset-based experiment; {dataset.name} runs one-pass (leave it out)"
        )
    tracker = load_tracker(args)
    status = run_benchmark(
        tracker, dataset, args.results, progress=not args.quiet, overwrite=args.overwrite, protocol=args.protocol
    )
    done = sum(v == "done" for v in status.values())
    print(
        f"{tracker.name} on {dataset.name}: {done} sequences tracked, {len(status) - done} already done; "
        f"results in {args.results}"
    )
    return 0
