"""``automatch search``: find each branch's matching network with Binary Channel Manipulation."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.arguments import non_negative_int, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="search the matching operators of both branches (BCM, bilevel)",
        description="Bilevel BCM search over config.search.space (empty: every operator of the config's "
        "model.arch) on the training/validation splits of the "
        "config's data; writes ARCH.json (kept operators, potentials, history) and ARCH.png. Killed runs resume "
        "from ARCH_search/. Train the result with `automatch train --config CONFIG --arch ARCH.json`.",
    )
    parser.add_argument("--config", required=True, metavar="CONFIG", help="configs/<name>.py[:arg]")
    parser.add_argument("--out", type=Path, required=True, metavar="ARCH.json", help="result file")
    parser.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps (resumable)")
    parser.add_argument("--order", choices=("first", "second", "second-fd"), default=None,
                        help="bilevel approximation (default: the config's search.order)")
    parser.add_argument("--scalar", action="store_true", help="ablation: one manipulator per operator")
    parser.add_argument("--random", action="store_true", help="ablation: two random operators per branch")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="search seed (default: the config's)")
    parser.add_argument("--imagery", type=Path, default=None, help="imagery cache (default: ~/.cache/automatch/...)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.data.imagery import Imagery
    from automatch_jax.errors import AutomatchError
    from automatch_jax.search.run import search
    from automatch_jax.train.config import load_config

    config = load_config(args.config)
    if "search" not in config:
        raise AutomatchError(f"{args.config}: config has no 'search' section")
    if args.order:
        config.search.order = args.order
    if args.scalar:
        config.search.scalar = True
    if args.random:
        config.search.random = True
    if args.seed is not None:
        config.search.seed = args.seed
    from automatch_jax.paths import check_output_dir, check_output_file
    from automatch_jax.train.config import validate_config

    validate_config(config, "search")
    check_output_file(args.out, "--out")
    check_output_file(args.out.with_suffix(".png"), "--out (its plot)")
    check_output_dir(args.out.parent / f"{args.out.stem}_search", "--out (its work folder)")
    imagery = Imagery.load(args.imagery) if args.imagery else None
    result = search(config, args.out, args.max_steps, imagery, progress=not args.quiet)
    for branch in ("cls", "reg"):
        potentials = result[branch]["potentials"]
        ranked = ", ".join(f"{op} {p:.2f}" for op, p in sorted(potentials.items(), key=lambda kv: -kv[1]))
        print(f"{branch}: keep {' + '.join(result[branch]['operators'])}" + (f"  ({ranked})" if ranked else ""))
    print(f"architecture written to {args.out}")
    return 0
