"""AutoMatch as in the paper: ResNet-50 (layer3, stride 8), cls {simple-transformer, FiLM}, reg {FiLM, pairwise}."""

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "automatch-resnet50"
    config.model = default_model_config()
    config.backbone_weights = ""  # a torchvision resnet50 .pth/.npz; none can be downloaded here
    return config
