"""``automatch export``: a tracker's exemplar and tracking steps as serialised StableHLO (``jax.export``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="serialise a model's exemplar and tracking steps with jax.export (StableHLO)",
        description="Write OUT/template.jax-export, OUT/track.jax-export and OUT/export.json: the network's two "
        "steps with the weights inside, a symbolic batch dimension, runnable without the model code "
        "(automatch_jax.tracking.export.ExportedTracker, or jax.export.deserialize).",
    )
    parser.add_argument("--model", default=None, metavar="NAME|PATH", help="shipped model or checkpoint folder")
    parser.add_argument("--out", type=Path, required=True, help="export folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.models.checkpoint import load_checkpoint
    from automatch_jax.paths import check_output_dir
    from automatch_jax.tracking.export import export_tracker

    check_output_dir(args.out, "--out")
    checkpoint = load_checkpoint(args.model)
    out = export_tracker(checkpoint, args.out)
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(f"exported {checkpoint.name} to {out} ({size:.1f} MiB)")
    return 0
