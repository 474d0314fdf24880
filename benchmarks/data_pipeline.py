"""Training-pair throughput: pairs per second drawn by ``PairLoader`` (grain, worker processes) for each kind of
source, and where a pair's time goes.

Sources timed: still synthetic scenes and synthetic-video frames (from the imagery cache, or scikit-image's photos
with ``--builtin``), and a GOT-10k-format video dataset of real JPEG frames (1280x720, written to a temporary folder
from the imagery backgrounds) read through the training-set reader and its index. A run starts the loader's worker
processes, waits for the first ``--warmup`` batches (start-up: spawning, imports, unpickling the source), then times
``--batches`` batches. Each row gives min-max (median) over ``--repeats`` runs of: pairs per second of wall time;
pairs per CPU-second of the workers (from /proc; a worker runs one OpenCV thread, so this is the per-core rate, and
other programs sharing the cores lower it far less than they lower pairs/s); the training process's CPU time per
batch (receiving and copying batches); and the load average around the runs. ``--profile`` adds the in-process
cost of one pair, per function.

    python benchmarks/data_pipeline.py [--imagery DIR | --builtin] [--batch 16] [--batches 16] [--workers 1 2]
        [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import math
import multiprocessing
import os
import pstats
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
from automatch_jax.data.pairs import PairConfig, PairLoader, PairSource, SceneSource, sample_pair
from automatch_jax.data.training_sets import load_training_set

GPU_PAIRS_PER_S = 1600  # one GPU at ~50 steps/s of batch 32


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


def workers_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's live multiprocessing children (Linux /proc)."""
    total = 0
    for child in multiprocessing.active_children():
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def time_loader(source: PairSource, batch: int, batches: int, warmup: int, workers: int,
                seed: int) -> dict[str, float]:
    """Pairs per second of wall time and per CPU-second of the workers over ``batches`` batches after ``warmup``
    ones, the training process's CPU milliseconds per batch, and the seconds to the first batch."""
    loader = PairLoader(source, PairConfig(), batch, seed=seed, workers=workers)
    began = time.perf_counter()
    stream = loader.iterate(0, warmup + batches)
    next(stream)
    first = time.perf_counter() - began
    for _ in range(warmup - 1):
        next(stream)
    start, cpu, main_cpu = time.perf_counter(), workers_cpu_seconds(), time.process_time()
    for step, _ in stream:
        if step == warmup + batches - 1:  # the last batch: read the workers' CPU time before they exit
            cpu = workers_cpu_seconds() - cpu
    wall, main_cpu = time.perf_counter() - start, time.process_time() - main_cpu
    loader.close()
    return {"rate": batch * batches / wall, "cpu_rate": batch * batches / cpu, "main_ms": main_cpu / batches * 1e3,
            "first": first}


def _range(values: list[float]) -> str:
    """``min-max (median)`` with one decimal."""
    return f"{min(values):.1f}-{max(values):.1f} ({statistics.median(values):.1f})"


def profile_pairs(source: PairSource, pairs: int, top: int) -> None:
    """The in-process CPU time of one pair (one OpenCV thread), split by function."""
    cv2.setNumThreads(1)
    cfg = PairConfig()
    for i in range(3):
        sample_pair(0, 10**6 + i, source, cfg)
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.enable()
    for i in range(pairs):
        sample_pair(0, i, source, cfg)
    profiler.disable()
    per_pair = (time.process_time() - start) / pairs * 1e3
    print(f"{per_pair:.1f} CPU ms per pair under cProfile ({pairs} pairs); own CPU time per pair of the costliest "
          "calls:")
    stats = pstats.Stats(profiler).stats
    rows = sorted(((tt, nc, f) for f, (_, nc, tt, _, _) in stats.items()), reverse=True)[:top]
    for own, calls, (file, line, name) in rows:
        where = f"{Path(file).name}:{line}({name})" if line else name
        print(f"  {own / pairs * 1e3:6.2f} ms  {calls / pairs:5.1f} calls  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imagery", type=Path, default=None)
    parser.add_argument("--builtin", action="store_true", help="use scikit-image's photos instead of the cache")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--profile", action="store_true", help="also print where one pair's time goes")
    args = parser.parse_args()
    imagery = Imagery.builtin() if args.builtin else Imagery.load(args.imagery)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; imagery: {len(imagery.backgrounds)} backgrounds, "
          f"{len(imagery.cutouts)} cut-outs; batch {args.batch}, {args.batches} batches timed after "
          f"{args.warmup}, {args.repeats} runs each")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_video_dataset(Path(tmp) / "got10k", imagery)
        tracks = load_training_set("got10k-train", root, index_dir=Path(tmp) / "index", progress=False)
        sources = {
            "synthetic (still scenes)": SceneSource(imagery),
            "synthetic-video (480x360 frames)": SyntheticVideoSource(imagery),
            "got10k-train (1280x720 JPEG)": TrackSource(tracks),
        }
        print("| source | worker processes | pairs/s | pairs per worker CPU-s | training process CPU ms/batch | "
              "start-up s | load average |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        per_core: dict[str, list[float]] = {}
        for name, source in sources.items():
            for workers in args.workers:
                load = [os.getloadavg()[0]]
                runs = [time_loader(source, args.batch, args.batches, args.warmup, workers, seed)
                        for seed in range(args.repeats)]
                load.append(os.getloadavg()[0])
                rates, cpu_rates = [r["rate"] for r in runs], [r["cpu_rate"] for r in runs]
                per_core.setdefault(name, []).extend(cpu_rates)
                print(f"| {name} | {workers} | {_range(rates)} | {_range(cpu_rates)} | "
                      f"{_range([r['main_ms'] for r in runs])} | {statistics.median(r['first'] for r in runs):.1f} | "
                      f"{min(load):.1f}-{max(load):.1f} |", flush=True)
        for name, rates in per_core.items():
            rate = statistics.median(rates)
            print(f"{name}: {rate:.1f} pairs per CPU-second (median over all runs) -> "
                  f"{math.ceil(GPU_PAIRS_PER_S / rate)} cores for {GPU_PAIRS_PER_S} pairs/s (one GPU at ~50 steps/s of "
                  "batch 32)")
        if args.profile:
            for name, source in sources.items():
                print(f"\n{name}:")
                profile_pairs(source, 40, 10)


if __name__ == "__main__":
    main()
