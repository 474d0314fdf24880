"""A tiny network (the ``tiny`` backbone, 127/63 crops, 16 channels) that trains on CPU in seconds: for tests
and for trying the tools, never for tracking anything real."""

import ml_collections

from automatch_jax.config import default_model_config


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
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
    return config
