"""The paper's Table 1: one matching operator in both branches. Use as ``configs/table1.py:<operator>``,
e.g. ``configs/table1.py:film``; ``:<operator>,lite`` uses the EfficientNet-Lite0 network of automatch_lite.py."""

import ml_collections

from automatch_jax.config import default_model_config, default_training_config
from automatch_jax.ops import OPERATOR_NAMES


def get_config(arg: str = "dw_xcorr") -> ml_collections.ConfigDict:
    operator, _, variant = arg.partition(",")
    if operator not in OPERATOR_NAMES:
        raise ValueError(f"unknown operator {operator!r}; known: {', '.join(OPERATOR_NAMES)}")
    config = default_training_config(ml_collections.ConfigDict())
    config.name = f"table1-{operator}" + (f"-{variant}" if variant else "")
    config.model = default_model_config()
    config.model.cls_operators = (operator,)
    config.model.reg_operators = (operator,)
    config.backbone_weights = ""
    if variant == "lite":
        config.model.backbone = "efficientnet_lite0"
        config.model.channels = config.model.tower_channels = 128
        config.model.tower_layers = 2
        config.backbone_weights = "imagenet"
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; known: lite")
    return config
