"""``automatch demo``: track a short real-image sequence with known ground truth and report the score."""

from __future__ import annotations

import argparse
from pathlib import Path

from automatch_jax.cli.arguments import int_at_least
from automatch_jax.cli.track_cmd import add_model_arguments, load_tracker


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="track a demo sequence built from scikit-image photos and print its success AUC",
        description="Build a short sequence (a photo moving over another, with exact ground truth), track it with "
        "the default model, write an annotated video and print the success AUC and precision.",
    )
    parser.add_argument("--out", type=Path, default=Path("automatch-demo"), help="output folder")
    parser.add_argument("--frames", type=int_at_least(2), default=100, help="length of the demo sequence")
    add_model_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from automatch_jax.data.otb import OTBDataset
    from automatch_jax.errors import AutomatchError
    from automatch_jax.eval.evaluate import evaluate_trackers
    from automatch_jax.eval.results import write_sequence_result
    from automatch_jax.paths import check_output_dir
    from automatch_jax.tracking.demo import write_demo_sequence
    from automatch_jax.tracking.run import track_frames
    from automatch_jax.tracking.sources import open_source

    if args.frames < 2:
        raise AutomatchError(f"--frames {args.frames}: a demo needs at least 2 frames")
    check_output_dir(args.out, "--out")
    folder = write_demo_sequence(args.out / "sequences", args.frames)
    source = open_source(folder)
    tracker = load_tracker(args)
    video = args.out / "demo.mp4"
    result = track_frames(
        tracker,
        source,
        source.init_box,
        video=video,
        fps=25,
        gt=source.gt,
        progress=not args.quiet,
        total=source.length,
        description="demo",
    )
    results_dir = args.out / "results" / tracker.name
    write_sequence_result(results_dir, source.name, result.boxes, result.times)
    (report,) = evaluate_trackers(OTBDataset(args.out / "sequences", "otb"), [results_dir])
    overall = report.overall
    print(f"demo: {len(result.boxes)} frames, model {tracker.name}, {result.fps:.1f} frames/s")
    print(f"success AUC {overall['success_auc']:.3f}, precision@20px {overall['precision_20']:.3f}")
    print(f"annotated video: {video}; boxes: {results_dir / (source.name + '.txt')}")
    return 0
