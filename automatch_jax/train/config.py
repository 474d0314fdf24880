"""Loading ml_collections configs by path, and the training, data, loss, inference and search sections.

A config is a Python file under ``configs/`` whose ``get_config(arg=None)`` returns a ``ConfigDict``; on the
command line ``configs/table1.py:film`` passes ``"film"`` as ``arg`` (the ml_collections ``config_flags``
convention). ``config.model`` is the network (:mod:`automatch_jax.models.config`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_collections

from automatch_jax.errors import AutomatchError


def default_training_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Adds Ocean-style training, data, loss and inference sections to ``config`` (values a config may change)."""
    config.backbone_weights = config.get("backbone_weights", "")
    config.train = ml_collections.ConfigDict({
        "seed": 0,
        "batch_size": 32,
        "steps": 20000,
        "lr": 0.005,
        "warmup_lr": 0.001,
        "warmup_steps": 1000,
        "final_lr": 0.00005,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "grad_clip": 10.0,
        "unfreeze_step": 10000,
        "backbone_lr_scale": 0.1,
        "log_every": 50,
        "eval_every": 500,
        "eval_batches": 4,
        "checkpoint_every": 500,
        "workers": 2,
        "dtype": "auto",  # bfloat16 on GPU/TPU, float32 on CPU
    })
    # data.sources: name -> {"weight": mixing weight, "root": dataset folder, reader options}; see
    # automatch_jax.data.pair_sources. The default trains on still scenes synthesised from the imagery cache.
    config.data = ml_collections.ConfigDict({"imagery": "", "validation_fraction": 0.1, "pairs": {},
                                             "sources": {"synthetic": {"weight": 1.0}}})
    config.loss = ml_collections.ConfigDict({"reg_weight": 1.0, "cls": "bce", "iou": "log", "radius": 0.5})
    config.inference = ml_collections.ConfigDict({})
    # The BCM search (automatch search): the paper's 5 epochs of 6e5 pairs at batch 128 are ~23k steps;
    # weights: SGD, lr 1e-3 -> 1e-4; manipulators: Adam as in DARTS; tau 1 and no Gumbel noise as in the paper.
    config.search = ml_collections.ConfigDict({
        "space": ("dw_xcorr", "concat", "add", "pairwise", "film", "transformer", "transductive"),
        "keep": 2,
        "order": "second",  # first | second (exact, through the inner optax step) | second-fd (DARTS' approximation)
        "steps": 23000,
        "batch_size": 32,
        "seed": 0,
        "lr": 1e-3,
        "final_lr": 1e-4,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "grad_clip": 10.0,
        "arch_lr": 3e-4,
        "arch_weight_decay": 1e-3,
        "arch_b1": 0.5,
        "arch_b2": 0.999,
        "tau": 1.0,
        "noise": 0.0,
        "init": 0.5,
        "scalar": False,  # ablation: one manipulator per operator
        "random": False,  # ablation: two random operators per branch, no search
        "freeze_backbone": True,
        "log_every": 50,
        "checkpoint_every": 500,
        "workers": 2,
        "dtype": "auto",
    })
    return config


def load_config(spec: str | Path) -> ml_collections.ConfigDict:
    """The config of ``path/to/file.py[:arg]``; a clear :class:`AutomatchError` for a missing or broken file."""
    text = str(spec)
    path_text, _, arg = text.partition(":") if not Path(text).is_file() else (text, "", "")
    path = Path(path_text)
    if not path.is_file():
        raise AutomatchError(f"{path}: config file not found")
    module_spec = importlib.util.spec_from_file_location(f"automatch_config_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise AutomatchError(f"{path}: config file fails to load ({type(exc).__name__}: {exc})") from None
    if not hasattr(module, "get_config"):
        raise AutomatchError(f"{path}: config file has no get_config()")
    try:
        config = module.get_config(arg) if arg else module.get_config()
    except (KeyError, ValueError, TypeError) as exc:
        raise AutomatchError(f"{path}: get_config({arg!r}) failed ({exc})") from None
    if "model" not in config:
        raise AutomatchError(f"{path}: config has no 'model' section")
    return config
