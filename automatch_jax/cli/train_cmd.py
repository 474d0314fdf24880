"""``automatch train`` and ``automatch fetch-imagery``."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.arguments import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a tracker from a config (resumes from OUT's checkpoints)",
        description="Train the network of CONFIG on synthetic pairs from the imagery cache, data-parallel over every "
        "local device (and every host under jax.distributed). Killed runs resume exactly from OUT.",
    )
    parser.add_argument("--config", required=True, metavar="CONFIG", help="configs/<name>.py[:arg]")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<config name>)")
    parser.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps (resumable)")
    parser.add_argument("--imagery", type=Path, default=None, help="imagery cache (default: ~/.cache/automatch/...)")
    parser.add_argument("--arch", type=Path, default=None, metavar="ARCH.json",
                        help="train the matching networks found by `automatch search` (from scratch)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train)

    fetch = subparsers.add_parser(
        "fetch-imagery",
        help="fetch the real photos and object cut-outs used to synthesise training data",
        description="Download the allowed Debian image packages and scikit-image photos into a compact cache.",
    )
    fetch.add_argument("--out", type=Path, default=None, help="cache folder (default: ~/.cache/automatch/imagery)")
    fetch.set_defaults(func=run_fetch)


def run_train(args: argparse.Namespace) -> int:
    from automatch_jax.data.imagery import Imagery
    from automatch_jax.train.config import load_config
    from automatch_jax.train.loop import train

    config = load_config(args.config)
    if "train" not in config:
        from automatch_jax.errors import AutomatchError

        raise AutomatchError(f"{args.config}: config has no 'train' section")
    if args.arch:
        from automatch_jax.search.arch import apply_arch, load_arch

        config = apply_arch(config, load_arch(args.arch))
    from automatch_jax.paths import check_output_dir
    from automatch_jax.train.config import validate_config

    validate_config(config, "train")
    out = check_output_dir(args.out or Path("runs") / config.get("name", "run"), "--out")
    imagery = Imagery.load(args.imagery) if args.imagery else None
    model = train(config, out, args.max_steps, imagery, progress=not args.quiet)
    print(f"trained {config.get('name', '')}: tracker checkpoint in {model}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from automatch_jax.data.imagery import default_imagery_dir, fetch_imagery
    from automatch_jax.paths import check_output_dir

    fetch_imagery(check_output_dir(args.out or default_imagery_dir(), "--out"))
    return 0
