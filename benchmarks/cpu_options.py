"""What XLA's CPU options and half precision do to tracking speed: ``benchmarks/speed.py`` once per setting, each in
its own process (XLA reads ``XLA_FLAGS`` once, at start-up), one ``Tracker`` row per setting.

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
SETTINGS: tuple[tuple[str, str, str], ...] = (  # (label, XLA_FLAGS, dtype)
    ("default", "", "float32"),
    ("XNNPACK", "--xla_cpu_use_xnnpack=true", "float32"),
    ("oneDNN", "--xla_cpu_use_onednn=true", "float32"),
    ("XNN library fusion", f"--xla_cpu_experimental_xnn_fusion_type={FUSIONS}", "float32"),
    ("YNN library fusion", f"--xla_cpu_experimental_ynn_fusion_type={FUSIONS}", "float32"),
    ("oneDNN library fusion", f"--xla_cpu_experimental_onednn_fusion_type={FUSIONS}", "float32"),
    ("bfloat16 compute", "", "bfloat16"),
    ("float16 compute", "", "float16"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["automatch-lite", "automatch-lite-fast"])
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    print("| tracker | setting | frames/s | p50 ms | p90 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        for label, flags, dtype in SETTINGS:
            env = {**os.environ, "XLA_FLAGS": flags}
            command = [sys.executable, str(SPEED), "--models", model, "--frames", str(args.frames), "--batch",
                       "--dtypes", dtype]
            run = subprocess.run(command, env=env, capture_output=True, text=True)
            rows = [line for line in run.stdout.splitlines() if line.startswith(f"| {model} (Tracker)")]
            if run.returncode or not rows:
                last = (run.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"| {model} | {label} | failed: {last[:100]} | | | |")
                continue
            timing = rows[0].split("|")[4:8]
            print(f"| {model} | {label} |" + "|".join(timing) + "|")


if __name__ == "__main__":
    main()
