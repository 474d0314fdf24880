"""automatch-lite (or, with ``fast``, automatch-lite-fast) trained on a 2-core CPU: the backbone stays frozen at its
ImageNet weights, a short schedule, batch 16. The recipe of both shipped models (MODEL_CARD.md). Use as
``configs/automatch_lite_cpu.py:<steps>[,variant]``, e.g. ``:1500`` or ``:1500,fast``.

``fast-authors`` is automatch-lite-fast's trunk in the authors' architecture
(``configs/automatch_lite_fast_authors.py``, trained on synthetic and self-labelled real video): its backbone is
fine-tuned (at a tenth of the learning rate, BatchNorm statistics frozen as the authors do) for the last third of
the steps."""

from pathlib import Path

import ml_collections

from automatch_jax.train.config import load_config


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    steps_text, _, variant = arg.partition(",")
    bases = {"": "automatch_lite.py", "fast": "automatch_lite_fast.py",
             "fast-authors": "automatch_lite_fast_authors.py"}
    if variant not in bases:
        raise ValueError(f"unknown variant {variant!r}; known: fast, fast-authors")
    base = bases[variant]
    config = load_config(Path(__file__).with_name(base))
    steps = int(steps_text) if steps_text else 3000
    config.train.update(batch_size=16, steps=steps, lr=0.01, warmup_lr=0.002, warmup_steps=min(200, steps // 5),
                        final_lr=0.0005, unfreeze_step=steps + 1, log_every=25, eval_every=250, eval_batches=4,
                        checkpoint_every=250, workers=2)
    if variant == "fast-authors":
        config.train.unfreeze_step = (2 * steps) // 3
    return config
