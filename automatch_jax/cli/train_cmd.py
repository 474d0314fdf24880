"""``automatch train`` and the commands that prepare its data: ``fetch-imagery`` and ``label-video``."""

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
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from the weights of this tracker checkpoint (a folder or a shipped model's name) "
                        "of the same network, instead of ImageNet's; sets the config's init_from")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train)

    fetch = subparsers.add_parser(
        "fetch-imagery",
        help="fetch the real photos and object cut-outs used to synthesise training data",
        description="Download the allowed Debian image packages and scikit-image photos into a compact cache.",
    )
    fetch.add_argument("--out", type=Path, default=None, help="cache folder (default: ~/.cache/automatch/imagery)")
    fetch.add_argument("--no-real-video", action="store_true",
                       help="skip self-labelling visp-images-data's camera sequences (the real-video source)")
    fetch.add_argument("--workers", type=positive_int, default=2, help="processes for the self-labelling")
    fetch.set_defaults(func=run_fetch)

    label = subparsers.add_parser(
        "label-video",
        help="self-label your own videos into a training set (forward-backward consistent CSRT tracks)",
        description="Track textured regions of each VIDEO (a video file or a folder of frames) forward and back with "
        "CSRT and keep the consistent tracks, written in the MOTChallenge layout to OUT; train on them with "
        "data.sources = {'mot': {'root': OUT}}.",
    )
    label.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    label.add_argument("--out", type=Path, required=True, help="output folder (one <video name>/ per input)")
    label.add_argument("--seeds", type=positive_int, default=4, help="seed boxes per start frame")
    label.add_argument("--start-every", type=positive_int, default=25, help="frames between start frames")
    label.add_argument("--length", type=positive_int, default=50, help="frames each seed is followed")
    label.add_argument("--workers", type=positive_int, default=2, help="processes")
    label.add_argument("--quiet", action="store_true", help="no progress bar")
    label.set_defaults(func=run_label)


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
    if args.init_from:
        config.init_from = args.init_from
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

    fetch_imagery(check_output_dir(args.out or default_imagery_dir(), "--out"), real_video=not args.no_real_video,
                  workers=args.workers)
    return 0


def run_label(args: argparse.Namespace) -> int:
    from automatch_jax.data.self_label import SelfLabelConfig, label_videos, video_sources
    from automatch_jax.paths import check_output_dir

    cfg = SelfLabelConfig(seeds=args.seeds, start_every=args.start_every, length=args.length)
    sources = video_sources(args.videos)
    out = check_output_dir(args.out, "--out")
    counts = label_videos(sources, out, cfg, workers=args.workers, progress=not args.quiet)
    for name, count in counts.items():
        print(f"{name}: {count} tracks")
    print(f"{sum(counts.values())} self-labelled tracks in {out} (MOTChallenge layout; data.sources 'mot')")
    return 0
