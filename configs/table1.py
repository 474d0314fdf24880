"""The paper's Table 1: one matching operator in both branches. Use as ``configs/table1.py:<operator>``,
e.g. ``configs/table1.py:film``; ``:<operator>,lite`` uses the backbone, crops and width of automatch_lite.py,
``:<operator>,lite-fast`` those of automatch_lite_fast.py, ``:<operator>,smoke`` the tiny network of smoke.py (tests of
the study pipeline). The network is the paper-prose one (``arch = "ocean"``: one operator, then Ocean's heads, with
2-layer heads as wide as the neck for the Lite variants), whose operator names these are."""

from pathlib import Path

import ml_collections

from automatch_jax.models.config import default_model_config
from automatch_jax.ops import OPERATOR_NAMES
from automatch_jax.train.config import default_training_config, load_config


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
    if variant in ("lite", "lite-fast"):  # the network, crops and pairs of configs/automatch_lite[_fast].py
        lite = load_config(Path(__file__).with_name(f"automatch_{variant.replace('-', '_')}.py"))
        config.model.update({key: lite.model[key] for key in ("backbone", "channels", "search_size", "exemplar_size")})
        config.model.update(tower_layers=2, tower_channels=lite.model.channels)
        config.data.pairs = dict(lite.data.pairs)
        config.backbone_weights = lite.backbone_weights
    elif variant == "smoke":  # the tiny network of configs/smoke.py: for tests of the study pipeline only
        config.model.update(backbone="tiny", channels=16, tower_layers=1, tower_channels=16, search_size=127,
                            exemplar_size=63, exemplar_cells=5)
        config.train.update(batch_size=8, warmup_steps=2, lr=0.02, warmup_lr=0.005, final_lr=0.002, log_every=5,
                            eval_every=1000, eval_batches=1, checkpoint_every=1000)
        config.search.update(batch_size=8, log_every=5, checkpoint_every=1000, lr=0.02, final_lr=0.005)
        config.data.pairs = {"target_min": 18.0, "target_max": 64.0, "shift": 32.0, "distractors": 1}
    elif variant:
        raise ValueError(f"unknown variant {variant!r}; known: lite, lite-fast, smoke")
    return config
