"""``automatch synth``: an OTB-format synthetic benchmark with per-sequence attribute labels."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.arguments import int_at_least, non_negative_int, positive_int
from automatch_jax.data.otb_table import ATTRIBUTES
from automatch_jax.errors import AutomatchError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write synthetic OTB-format sequences with controlled attributes",
        description="Render N sequences of real object cut-outs moving over real photos, in OTB's layout with an "
        "attributes.txt per sequence; sequence i belongs to the group of the i-th listed attribute. By default the "
        "imagery's validation part is used (objects and backgrounds never seen in training). Resumes: complete "
        "sequences are kept. Evaluate with `automatch eval --dataset otb --root OUT`.",
    )
    parser.add_argument("--out", type=Path, required=True, help="benchmark folder to write")
    parser.add_argument("--sequences", type=positive_int, default=110,
                        help="number of sequences (default 110 = 11 x 10)")
    parser.add_argument("--attributes", default="", help="attributes to cycle over, e.g. IV,OCC (default: all 11)")
    parser.add_argument("--extra", type=int_at_least(0, len(ATTRIBUTES) - 1), default=0,
                        help="further random attributes per sequence (default 0)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--frames", type=int_at_least(2), default=100, help="frames per sequence (default 100)")
    parser.add_argument("--size", default="480x360", help="frame size WxH (default 480x360)")
    parser.add_argument("--imagery", type=Path, default=None, help="imagery cache (default: ~/.cache/automatch/...)")
    parser.add_argument("--split", choices=("validation", "train", "all"), default="validation",
                        help="which part of the imagery to draw from (default: validation)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise AutomatchError(f"--size {text!r} is not WxH (e.g. 480x360)") from None
    if not sep or min(size) < 64:
        raise AutomatchError(f"--size {text!r}: expected WxH with both sides at least 64")
    return size


def run(args: argparse.Namespace) -> int:
    from automatch_jax.data.imagery import Imagery
    from automatch_jax.data.synth import SynthConfig, synthesise_benchmark
    from automatch_jax.paths import check_output_dir

    attributes = tuple(a.strip().upper() for a in args.attributes.split(",") if a.strip()) or ATTRIBUTES
    unknown = [a for a in attributes if a not in ATTRIBUTES]
    if unknown:
        raise AutomatchError(f"--attributes: unknown attribute {unknown[0]!r}; known: {', '.join(ATTRIBUTES)}")
    width, height = parse_size(args.size)
    check_output_dir(args.out, "--out")
    imagery = Imagery.load(args.imagery)
    if args.split != "all":
        imagery = imagery.split()[0 if args.split == "train" else 1]
    cfg = SynthConfig(width=width, height=height, frames=args.frames)
    names = synthesise_benchmark(args.out, imagery, args.sequences, attributes, args.extra, args.seed, cfg,
                                 progress=not args.quiet)
    print(f"{len(names)} sequences in {args.out} (evaluate with: automatch eval --dataset otb --root {args.out} ...)")
    return 0
