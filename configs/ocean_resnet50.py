"""The Ocean baseline (offline): ResNet-50 with depthwise cross-correlation in both branches."""

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "ocean-resnet50"
    config.model = default_model_config()
    config.model.cls_operators = ("dw_xcorr",)
    config.model.reg_operators = ("dw_xcorr",)
    config.backbone_weights = ""
    return config
