"""Cost of one BCM search step per bilevel order: seconds per step after compilation and peak memory.

Each order runs in its own process (so the peak is that order's own): ``--steps`` search steps on scikit-image
imagery, timed after the first (compiling) step. Peak memory is the process's peak resident set on CPU, and the
device's ``peak_bytes_in_use`` on a GPU.

    python benchmarks/search_cost.py [--config configs/smoke.py] [--batch 8] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from eval_end_to_end import cpu_name

CHILD = """
import json, resource, sys
import jax
from automatch_jax.train.config import load_config
from automatch_jax.data.imagery import Imagery
from automatch_jax.search.run import search

config_path, order, batch, steps, out = sys.argv[1:6]
config = load_config(config_path)
config.search.update(order=order, batch_size=int(batch) * jax.local_device_count(), steps=int(steps),
                     log_every=int(steps), checkpoint_every=int(steps))
result = search(config, out, imagery=Imagery.builtin(cutouts=24), progress=False)
device = jax.devices()[0]
stats = device.memory_stats() if device.platform != "cpu" else None
peak = stats["peak_bytes_in_use"] if stats else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds_per_step": result["seconds_per_step"], "peak_bytes": peak,
                  "device": device.device_kind, "platform": device.platform}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/smoke.py")
    parser.add_argument("--batch", type=int, default=8, help="pairs per device")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--orders", nargs="+", default=["first", "second", "second-fd"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for order in args.orders:
            out = Path(tmp) / f"{order}.json"
            done = subprocess.run([sys.executable, "-c", CHILD, args.config, order, str(args.batch), str(args.steps),
                                   str(out)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{order}: {done.stderr[-2000:]}")
            rows.append((order, json.loads(done.stdout.strip().splitlines()[-1])))
    device = rows[0][1]["device"] if rows[0][1]["platform"] != "cpu" else cpu_name()
    print(f"config {args.config}, batch {args.batch} pairs per device, {args.steps} steps; device: {device}")
    print("| order | s/step | peak memory (MiB) |\n| --- | --- | --- |")
    base = rows[0][1]["seconds_per_step"]
    for order, row in rows:
        ratio = f" ({row['seconds_per_step'] / base:.1f}x first)" if base and order != "first" else ""
        print(f"| {order} | {row['seconds_per_step']:.3f}{ratio} | {row['peak_bytes'] / 2**20:.0f} |")


if __name__ == "__main__":
    main()
