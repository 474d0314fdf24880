"""automatch-lite (or, with ``fast``, automatch-lite-fast) trained on a 2-core CPU: the backbone stays frozen at its
ImageNet weights, a short schedule, batch 16. The recipe of both shipped
models (MODEL_CARD.md). Use as ``configs/automatch_lite_cpu.py:<steps>[,fast]``, e.g. ``:1500`` or ``:1500,fast``."""

from pathlib import Path

import ml_collections

from automatch_jax.train.config import load_config


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    steps_text, _, variant = arg.partition(",")
    if variant not in ("", "fast"):
        raise ValueError(f"unknown variant {variant!r}; known: fast")
    base = "automatch_lite_fast.py" if variant == "fast" else "automatch_lite.py"
    config = load_config(Path(__file__).with_name(base))
    steps = int(steps_text) if steps_text else 3000
    config.train.update(batch_size=16, steps=steps, lr=0.01, warmup_lr=0.002, warmup_steps=min(200, steps // 5),
                        final_lr=0.0005, unfreeze_step=steps + 1, log_every=25, eval_every=250, eval_batches=4,
                        checkpoint_every=250, workers=2)
    return config
