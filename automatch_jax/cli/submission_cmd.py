"""``automatch submission``: package results for a benchmark server (GOT-10k test, TrackingNet test)."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.eval.submission import WRITERS, write_submission


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submission",
        help="write a server submission zip (GOT-10k test, TrackingNet test)",
        description="Validate RESULTS/<tracker> against a test split and write the zip its evaluation "
        f"server expects (families: {', '.join(sorted(WRITERS))}).",
    )
    parser.add_argument("--dataset", required=True, metavar="NAME", help="got10k_test or trackingnet")
    parser.add_argument("--root", type=Path, required=True, help="the benchmark's folder")
    parser.add_argument(
        "--results", type=Path, required=True, metavar="DIR", help="the RESULTS/<tracker> folder"
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.zip", help="where to write the zip")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.paths import check_output_file

    check_output_file(args.out, "--out")
    dataset = load_benchmark(args.dataset, args.root)
    out = write_submission(dataset, args.results, args.out)
    print(f"wrote {out} ({len(dataset)} sequences)")
    return 0
