"""The shipped models' recipe on a 2-core CPU (MODEL_CARD.md): a short schedule of batch 16, the backbone frozen at
its ImageNet weights. Use as ``configs/automatch_lite_cpu.py:<steps>[,variant]``: ``:2500`` is automatch-lite
(``configs/automatch_lite.py``, the authors' architecture, trained on still scenes, synthetic videos and
self-labelled real video), ``:16000,fast-authors`` automatch-lite-fast (``configs/automatch_lite_fast_authors.py``,
the authors' architecture on a short trunk with small crops), ``:1500,fast`` the paper-prose Ocean-head network on
that trunk (``configs/automatch_lite_fast.py``), ``:1500,ocean`` the Ocean-head network on automatch-lite's trunk
(``configs/ocean_lite.py``).

``fast-authors`` fine-tunes the backbone's stages 3 and up (the two feature levels' stages, at stride 8) for the
last quarter of the steps at a tenth of the learning rate, BatchNorm statistics frozen, its stem and stages
1-2 frozen throughout. ``finetune`` continues automatch-lite's network from a checkpoint (``automatch train
--init-from automatch-lite``) with its stage 5 fine-tuned from the first step at a lower rate (0.002 -> 0.0002),
BatchNorm statistics frozen, everything below stage 5 frozen (~3.3 s per step on a 2-core CPU). automatch-lite keeps
its backbone frozen: on a 2-core CPU a step that fine-tunes its stages 3-5 (255-pixel crops, dilated 5x5 depthwise
convolutions) takes ~8 s against ~1.7 s frozen."""

from pathlib import Path

import ml_collections

from automatch_jax.train.config import load_config

LITE0_FROZEN_UNITS = 4  # EfficientNet-Lite0's stem, stage 1 (block 0) and stage 2 (blocks 1-2)
LITE0_STAGE5 = 9  # units below EfficientNet-Lite0's stage 5 (blocks 8-10): the stem and blocks 0-7


def get_config(arg: str = "") -> ml_collections.ConfigDict:
    steps_text, _, variant = arg.partition(",")
    bases = {"": "automatch_lite.py", "fast": "automatch_lite_fast.py", "ocean": "ocean_lite.py",
             "fast-authors": "automatch_lite_fast_authors.py", "finetune": "automatch_lite.py"}
    if variant not in bases:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(v for v in bases if v)}")
    base = bases[variant]
    config = load_config(Path(__file__).with_name(base))
    steps = int(steps_text) if steps_text else 3000
    config.train.update(batch_size=16, steps=steps, lr=0.01, warmup_lr=0.002, warmup_steps=min(200, steps // 5),
                        final_lr=0.0005, unfreeze_step=steps + 1, log_every=25, eval_every=250, eval_batches=4,
                        checkpoint_every=250, workers=2)
    if variant == "fast-authors":
        config.train.update(unfreeze_step=steps * 3 // 4, frozen_units=LITE0_FROZEN_UNITS)
    if variant == "finetune":
        config.train.update(lr=0.002, warmup_lr=0.0005, warmup_steps=min(100, steps // 5), final_lr=0.0002,
                            unfreeze_step=0, frozen_units=LITE0_STAGE5)
    return config
