"""The network a config describes: ``config.model`` holds the
:class:`~automatch_jax.models.tracker_net.TrackerNet` fields (plus ``dtype``, the compute precision's name)."""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections

from automatch_jax.errors import AutomatchError
from automatch_jax.models.tracker_net import TrackerNet

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def default_model_config() -> ml_collections.ConfigDict:
    """The paper's network: ResNet-50, cls {simple-transformer, FiLM}, reg {FiLM, pairwise-relation}."""
    return ml_collections.ConfigDict(
        {
            "backbone": "resnet50",
            "cls_operators": ("transformer", "film"),
            "reg_operators": ("film", "pairwise"),
            "channels": 256,
            "tower_layers": 4,
            "tower_channels": 256,
            "search_size": 255,
            "exemplar_size": 127,
            "exemplar_cells": 7,
            "dtype": "float32",
        }
    )


def build_network(model_config: ml_collections.ConfigDict | dict):
    """The :class:`TrackerNet` of a ``config.model`` section (unknown keys are an error)."""
    fields = dict(model_config)
    dtype = fields.pop("dtype", "float32")
    if dtype not in DTYPES:
        raise AutomatchError(f"model.dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    known = set(TrackerNet.__dataclass_fields__) - {"parent", "name"}
    unknown = set(fields) - known
    if unknown:
        raise AutomatchError(
            f"unknown model setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for key in ("cls_operators", "reg_operators"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return TrackerNet(dtype=DTYPES[dtype], **fields)
