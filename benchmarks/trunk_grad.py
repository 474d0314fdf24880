"""Forward and backward (``jax.grad`` over the parameters) time of a backbone at a training batch, with the CPU
depthwise path (``depthwise_shift_sum``) and with XLA's grouped convolution, each in a fresh process so that the
choice (``$AUTOMATCH_DEPTHWISE``) takes effect; what an unfrozen-backbone training step pays on this machine, for
the whole trunk and with its lowest units frozen (``--frozen-units``, ``train.frozen_units``: no backward pass
through them).

    python benchmarks/trunk_grad.py --backbone efficientnet_lite0_stage4 --batch 16 --size 191 --frozen-units 0 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(backbone: str, batch: int, size: int, repeats: int, frozen_units: int = 0) -> dict[str, float]:
    """Milliseconds per call of the jitted forward and gradient, after one warm-up call each."""
    import jax
    import jax.numpy as jnp

    from automatch_jax.models.backbones import BACKBONES

    net = BACKBONES.build(backbone, frozen_units=frozen_units)
    x = jnp.full((batch, size, size, 3), 100.0)
    variables = net.init(jax.random.PRNGKey(0), x)

    def loss(params, x):
        out = net.apply({**variables, "params": params}, x)
        out = out[-1] if isinstance(out, tuple) else out
        return jnp.mean(out**2)

    times = {}
    for name, fn in (("forward_ms", jax.jit(loss)), ("grad_ms", jax.jit(jax.grad(loss)))):
        jax.block_until_ready(fn(variables["params"], x))
        start = time.perf_counter()
        for _ in range(repeats):
            jax.block_until_ready(fn(variables["params"], x))
        times[name] = (time.perf_counter() - start) / repeats * 1000
    return times


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="efficientnet_lite0_stage4")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=191)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depthwise", nargs="+", default=["shift", "conv"], choices=["shift", "conv"])
    parser.add_argument("--frozen-units", nargs="+", type=int, default=[0],
                        help="the trunk's lowest units kept frozen, one row each (0: the whole trunk trains)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        frozen = args.frozen_units[0]
        print(json.dumps(measure(args.backbone, args.batch, args.size, args.repeats, frozen)))
        return []
    rows = []
    for impl in args.depthwise:
        for frozen in args.frozen_units:
            command = [sys.executable, __file__, "--backbone", args.backbone, "--batch", str(args.batch), "--size",
                       str(args.size), "--repeats", str(args.repeats), "--frozen-units", str(frozen), "--child", impl]
            out = subprocess.run(command, env={**os.environ, "AUTOMATCH_DEPTHWISE": impl}, capture_output=True,
                                 text=True, check=True).stdout
            rows.append({"depthwise": impl, "frozen_units": frozen, **json.loads(out.strip().splitlines()[-1])})
    print("| backbone | batch x size | depthwise | frozen units | forward ms | grad ms |\n"
          "| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {args.backbone} | {args.batch} x {args.size} | {row['depthwise']} | {row['frozen_units']} | "
              f"{row['forward_ms']:.0f} | {row['grad_ms']:.0f} |")
    return rows


if __name__ == "__main__":
    main()
