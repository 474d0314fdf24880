"""Tracking speed: frames per second and per-frame latency percentiles, end to end after decoding (crop, network,
selection, box update), per model, device, precision and batch size; OpenCV's CSRT and KCF on the same frames.
Trackers run with BatchNorm folded into the convolutions (their default); ``--unfolded`` adds a row without folding
for each model and precision. ``--crops host device`` times both crop placements (OpenCV on the host, or
``crop_jax`` inside the compiled step); the default is the trackers' own choice for the device (host on a CPU).

Frames are the demo sequence (480x320, decoded beforehand). ``Tracker`` is timed per frame; ``MultiTracker`` with N
targets per step reports target-frames per second (N x steps / s). The first ``--warmup`` frames (compilation) are
not timed.

    python benchmarks/speed.py [--models automatch-lite configs/smoke.py] [--frames 200] [--batch 1 8 32]
                               [--dtypes float32 bfloat16] [--unfolded] [--crops host device]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from eval_end_to_end import cpu_name

from automatch_jax.tracking import Tracker
from automatch_jax.tracking.core import crops_on_device
from automatch_jax.tracking.demo import demo_frames
from automatch_jax.tracking.multi import MultiTracker
from automatch_jax.tracking.opencv import OpenCVTracker


def _tracker(model: str, multi: bool, dtype: str, crops: str, fold: bool = True):
    """A tracker for a shipped model / checkpoint folder, or for a config with random weights (speed only)."""
    cls = MultiTracker if multi else Tracker
    options = {"fold_batchnorm": fold, "crop_on_device": crops == "device"}
    if model.endswith(".py") or ".py:" in model:
        from automatch_jax.models.config import build_network
        from automatch_jax.train.config import load_config
        from automatch_jax.train.runner import init_variables

        config = load_config(model)
        config.model.dtype = dtype
        net = build_network(config.model)
        return cls(net, init_variables(net, config, 0), name=config.get("name", model), **options)
    return cls.from_pretrained(model, dtype=dtype, **options)


def _stats(times: list[float], per_step: int = 1) -> str:
    t = np.array(times)
    fps = per_step * len(t) / t.sum()
    p50, p90, p99 = np.percentile(t * 1000, [50, 90, 99])
    return f"{fps:8.1f} | {p50:6.2f} | {p90:6.2f} | {p99:6.2f}"


def time_updates(tracker, frames: list, box: np.ndarray, warmup: int, targets: int = 1) -> str:
    """Times ``tracker.update`` per frame after ``init`` (``targets`` copies of ``box`` for a MultiTracker)."""
    tracker.init(frames[0], np.tile(box, (targets, 1)) if isinstance(tracker, MultiTracker) else box)
    times = []
    for i, frame in enumerate(frames[1:]):
        start = time.perf_counter()
        tracker.update(frame)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return _stats(times, targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["automatch-lite"])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="*", default=[1, 8], help="MultiTracker targets per step "
                        "(none: Tracker rows only)")
    parser.add_argument("--dtypes", nargs="+", default=["float32"], choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--unfolded", action="store_true", help="also time each model without BatchNorm folding")
    parser.add_argument("--crops", nargs="+", choices=("host", "device"), default=None,
                        help="where search crops are cut (default: host on a CPU, device on an accelerator)")
    args = parser.parse_args()
    frames, gt = demo_frames(args.frames)
    device = jax.devices()[0]
    where = device.device_kind if device.platform != "cpu" else f"{cpu_name()} ({os.cpu_count()} cores)"
    print(f"device: {where}; jax {jax.__version__}; {len(frames)} frames of 480x320")
    crops = args.crops or ["device" if crops_on_device(None) else "host"]
    print("| tracker | precision | BatchNorm | crops | targets per step | frames/s | p50 ms | p90 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        for dtype in args.dtypes:
            for crop in crops:
                timing = time_updates(_tracker(model, False, dtype, crop), frames, gt[0], args.warmup)
                print(f"| {model} (Tracker) | {dtype} | folded | {crop} | 1 | {timing} |")
                if args.unfolded:
                    timing = time_updates(_tracker(model, False, dtype, crop, fold=False), frames, gt[0], args.warmup)
                    print(f"| {model} (Tracker) | {dtype} | as trained | {crop} | 1 | {timing} |")
                for batch in args.batch:
                    timing = time_updates(_tracker(model, True, dtype, crop), frames, gt[0], args.warmup, batch)
                    print(f"| {model} (MultiTracker) | {dtype} | folded | {crop} | {batch} | {timing} |")
    for kind in ("CSRT", "KCF"):
        timing = time_updates(OpenCVTracker(kind), frames, gt[0], args.warmup)
        print(f"| OpenCV {kind} | - | - | - | 1 | {timing} |")


if __name__ == "__main__":
    main()
