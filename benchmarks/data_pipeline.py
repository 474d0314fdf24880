"""Training-pair throughput: pairs per second drawn by ``PairLoader`` for each kind of source.

Sources timed: still synthetic scenes and synthetic-video frames (from the imagery cache, or scikit-image's photos
with ``--builtin``), and a GOT-10k-format video dataset of real JPEG frames (1280x720, written to a temporary folder
from the imagery backgrounds) read through the training-set reader and its index. Each figure is the median over
``--repeats`` runs of ``--batches`` batches after one warm-up batch.

    python benchmarks/data_pipeline.py [--imagery DIR | --builtin] [--batch 16] [--batches 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).parent))
from eval_end_to_end import cpu_name

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pair_sources import SyntheticVideoSource, TrackSource
from automatch_jax.data.pairs import PairConfig, PairLoader, SceneSource
from automatch_jax.data.training_sets import load_training_set


def write_video_dataset(root: Path, imagery: Imagery, videos: int = 4, frames: int = 30) -> Path:
    """A GOT-10k ``train`` split of real 1280x720 JPEG frames (panning over the imagery's photos)."""
    split = root / "train"
    names = [f"GOT-10k_Train_{i + 1:06d}" for i in range(videos)]
    split.mkdir(parents=True)
    (split / "list.txt").write_text("\n".join(names) + "\n")
    for v, name in enumerate(names):
        photo = cv2.resize(imagery.backgrounds[v % len(imagery.backgrounds)], (1600, 900))
        folder = split / name
        folder.mkdir()
        boxes = []
        for f in range(frames):
            x0 = 8 * f
            cv2.imwrite(str(folder / f"{f + 1:08d}.jpg"), photo[90 : 90 + 720, x0 : x0 + 1280])
            boxes.append(f"{500 - 8 * f + 320},{300},{180},{140}")
        (folder / "groundtruth.txt").write_text("\n".join(boxes) + "\n")
    return root


def time_loader(source: object, batch: int, batches: int, workers: int, repeats: int) -> float:
    rates = []
    for r in range(repeats):
        loader = PairLoader(source, PairConfig(), batch, seed=r, workers=workers)
        loader.batch(10_000)  # warm-up
        start = time.perf_counter()
        for _ in loader.iterate(0, batches):
            pass
        rates.append(batch * batches / (time.perf_counter() - start))
        loader.close()
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imagery", type=Path, default=None)
    parser.add_argument("--builtin", action="store_true", help="use scikit-image's photos instead of the cache")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    imagery = Imagery.builtin() if args.builtin else Imagery.load(args.imagery)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; imagery: {len(imagery.backgrounds)} backgrounds, "
          f"{len(imagery.cutouts)} cut-outs; batch {args.batch}")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_video_dataset(Path(tmp) / "got10k", imagery)
        tracks = load_training_set("got10k-train", root, index_dir=Path(tmp) / "index", progress=False)
        sources = {
            "synthetic (still scenes)": SceneSource(imagery),
            "synthetic-video (480x360 frames)": SyntheticVideoSource(imagery),
            "got10k-train (1280x720 JPEG)": TrackSource(tracks),
        }
        print("| source | workers | pairs/s |\n| --- | --- | --- |")
        for name, source in sources.items():
            for workers in args.workers:
                rate = time_loader(source, args.batch, args.batches, workers, args.repeats)
                print(f"| {name} | {workers} | {rate:.1f} |")


if __name__ == "__main__":
    main()
