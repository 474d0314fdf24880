"""``automatch track``: follow one object through a video, a folder of frames, a sequence or a webcam."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from automatch_jax.cli.arguments import positive_int
from automatch_jax.errors import AutomatchError
from automatch_jax.models.settings import PRESETS, is_preset_file, read_preset_file


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` -> (4,) floats; a clear error for anything else."""
    parts = [p for p in text.replace(" ", ",").split(",") if p]
    try:
        values = np.array([float(p) for p in parts])
    except ValueError:
        raise AutomatchError(f"--box {text!r}: expected four numbers x,y,w,h") from None
    if values.size != 4 or not np.all(np.isfinite(values)):
        raise AutomatchError(f"--box {text!r}: expected four numbers x,y,w,h")
    return values


def preset_argument(text: str) -> str:
    """``--preset``: a name in :data:`PRESETS` or a preset file, checked as it is parsed (one line if not)."""
    if not is_preset_file(text):
        if text not in PRESETS:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {text!r} (choose from {', '.join(PRESETS)}, or give a preset file .json)"
            )
        return text
    try:
        read_preset_file(text)
    except AutomatchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        metavar="NAME|PATH",
        help="a shipped model name (default: automatch-lite) or a checkpoint folder",
    )
    parser.add_argument(
        "--preset",
        type=preset_argument,
        default=None,
        metavar="NAME|FILE.json",
        help=f"inference settings for a benchmark: the authors' ({', '.join(PRESETS)}; penalty, window, size rate, "
        "zoom refinement; otb and uav123 also a larger search crop for small targets) or a preset file that "
        "'automatch tune' wrote; --set values apply on top",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an inference setting (penalty_k, window_influence, lr, context, ...)",
    )
    parser.add_argument(
        "--dtype",
        default=None,
        help="compute precision: float32, bfloat16 or float16 (default: the model's, float32); half precision pays "
        "off on GPUs and TPUs only",
    )


def load_tracker(args: argparse.Namespace, color: str = "bgr"):
    from automatch_jax.tracking import Tracker

    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise AutomatchError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = value.strip()
    return Tracker.from_pretrained(args.model, color=color, dtype=args.dtype, preset=args.preset, **overrides)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track",
        help="track one object through a video, frame folder, sequence or webcam",
        description="Track the object in --box through SOURCE: a video file, a folder of frames, an OTB or VOT "
        "sequence folder (the box defaults to its first annotation), or a webcam index. Writes one x,y,w,h line "
        "per frame.",
    )
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("--box", metavar="x,y,w,h", help="the object in the first frame (pixels)")
    add_model_arguments(parser)
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write boxes here (default: <name>_boxes.txt)"
    )
    parser.add_argument("--video", type=Path, metavar="FILE.mp4", help="write an annotated video")
    parser.add_argument("--max-frames", type=positive_int, default=None, help="stop after this many frames")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import itertools

    from automatch_jax.paths import check_output_file
    from automatch_jax.tracking.run import track_frames
    from automatch_jax.tracking.sources import open_source

    box = parse_box(args.box) if args.box else None
    source = open_source(args.source)
    if box is None:
        if source.init_box is None:
            raise AutomatchError(f"{args.source}: --box x,y,w,h is needed (the source has no annotation)")
        box = source.init_box
    check_output_file(args.out or Path(f"{source.name}_boxes.txt"), "--out")
    if args.video:
        check_output_file(args.video, "--video")
    tracker = load_tracker(args)
    frames = iter(source)
    total = source.length
    if args.max_frames is not None:
        frames = itertools.islice(frames, args.max_frames)
        total = min(total or args.max_frames, args.max_frames)
    result = track_frames(
        tracker,
        frames,
        box,
        video=args.video,
        fps=source.fps,
        gt=source.gt,
        progress=not args.quiet,
        total=total,
        description=source.name,
    )
    out = args.out or Path(f"{source.name}_boxes.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(out, result.boxes, fmt="%.2f", delimiter=",")
    shortfall = source.shortfall()
    if shortfall:
        print(f"automatch: warning: {shortfall}; boxes for the {len(result.boxes)} frames read", file=sys.stderr)
    print(
        f"{len(result.boxes)} frames tracked with {tracker.name}: {result.fps:.1f} frames/s "
        f"(tracker only, after warm-up); boxes in {out}" + (f", video in {args.video}" if args.video else "")
    )
    return 0
