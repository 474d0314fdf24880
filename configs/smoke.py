"""A tiny network (the ``tiny`` backbone, 127/63 crops, 16 channels) that trains on CPU in seconds: for tests
and for trying the tools, never for tracking anything real."""

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "smoke"
    config.model = default_model_config()
    config.model.update(
        backbone="tiny",
        channels=16,
        tower_layers=1,
        tower_channels=16,
        search_size=127,
        exemplar_size=63,
        exemplar_cells=5,
    )
    config.backbone_weights = ""
    config.train.update(batch_size=8, steps=60, warmup_steps=10, lr=0.02, warmup_lr=0.005, final_lr=0.002,
                        unfreeze_step=30, log_every=10, eval_every=30, eval_batches=1, checkpoint_every=20)
    config.search.update(steps=20, batch_size=8, log_every=5, checkpoint_every=10, lr=0.02, final_lr=0.005,
                         arch_lr=0.01)
    config.data.pairs = {"target_min": 18.0, "target_max": 64.0, "shift": 32.0, "distractors": 1}
    return config
