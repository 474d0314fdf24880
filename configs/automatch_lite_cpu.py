"""automatch-lite trained on a 2-core CPU: the backbone stays frozen at its ImageNet weights (no GPU was available
to fine-tune it), a short schedule, batch 16. This is the recipe of the shipped ``automatch-lite`` (MODEL_CARD.md)."""

import importlib.util
from pathlib import Path

import ml_collections


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    spec = importlib.util.spec_from_file_location("automatch_lite", Path(__file__).with_name("automatch_lite.py"))
    base = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(base)
    config = base.get_config()
    steps = int(arg) if arg else 3000
    config.train.update(batch_size=16, steps=steps, lr=0.01, warmup_lr=0.002, warmup_steps=min(200, steps // 5),
                        final_lr=0.0005, unfreeze_step=steps + 1, log_every=25, eval_every=250, eval_batches=4,
                        checkpoint_every=250, workers=2)
    return config
