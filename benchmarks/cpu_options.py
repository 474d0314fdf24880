"""What XLA's CPU options, half precision, BatchNorm folding, crop placement and core pinning do to tracking speed:
``benchmarks/speed.py`` once per setting, each in its own process (XLA reads ``XLA_FLAGS`` once, at start-up), one
``Tracker`` row per setting. "default" is what a user gets: float32, BatchNorm folded, crops cut on the host.

    python benchmarks/cpu_options.py [--models automatch-lite automatch-lite-fast] [--frames 150]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

SPEED = Path(__file__).with_name("speed.py")
FUSIONS = "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"
# (label, XLA_FLAGS, extra speed.py arguments, command prefix)
SETTINGS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("default", "", (), ()),
    ("BatchNorm as trained (not folded)", "", ("--unfolded",), ()),
    ("crops cut on the device (crop_jax)", "", ("--crops", "device"), ()),
    ("pinned to one core (taskset -c 0)", "", (), ("taskset", "-c", "0")),
    ("XNNPACK", "--xla_cpu_use_xnnpack=true", (), ()),
    ("oneDNN", "--xla_cpu_use_onednn=true", (), ()),
    ("XNN library fusion", f"--xla_cpu_experimental_xnn_fusion_type={FUSIONS}", (), ()),
    ("YNN library fusion", f"--xla_cpu_experimental_ynn_fusion_type={FUSIONS}", (), ()),
    ("oneDNN library fusion", f"--xla_cpu_experimental_onednn_fusion_type={FUSIONS}", (), ()),
    ("bfloat16 compute", "", ("--dtypes", "bfloat16"), ()),
    ("float16 compute", "", ("--dtypes", "float16"), ()),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["automatch-lite", "automatch-lite-fast"])
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    print("| tracker | setting | frames/s | p50 ms | p90 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        for label, flags, extra, prefix in SETTINGS:
            env = {**os.environ, "XLA_FLAGS": flags}
            command = [*prefix, sys.executable, str(SPEED), "--models", model, "--frames", str(args.frames),
                       "--batch", *extra]
            run = subprocess.run(command, env=env, capture_output=True, text=True)
            batchnorm = "as trained" if "--unfolded" in extra else "folded"
            rows = [cells for cells in (line.split("|") for line in run.stdout.splitlines())
                    if len(cells) > 3 and cells[1].strip() == f"{model} (Tracker)" and cells[3].strip() == batchnorm]
            if run.returncode or not rows:
                last = (run.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"| {model} | {label} | failed: {last[:100]} | | | |")
                continue
            print(f"| {model} | {label} |" + "|".join(rows[0][6:10]) + "|")


if __name__ == "__main__":
    main()
