"""The network a config describes: ``config.model`` holds ``arch`` and the fields of that architecture's network
(plus ``dtype``, the compute precision's name):

- ``arch = "automatch"``: :class:`~automatch_jax.models.automatch.AutoMatchNet`, the network as the authors built it;
- ``arch = "ocean"`` (the default when ``arch`` is absent): :class:`~automatch_jax.models.tracker_net.TrackerNet`,
  the paper-prose network the shipped checkpoints (automatch-lite, automatch-lite-fast) were trained as; it
  remains only for them.
"""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections

from automatch_jax.errors import AutomatchError
from automatch_jax.models.automatch import SEARCH_SPACE, AutoMatchNet
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.ops import OPERATOR_NAMES, PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS
from automatch_jax.registry import Registry

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
ARCHITECTURES: Registry[type[AutoMatchNet] | type[TrackerNet]] = Registry("model.arch")
"""``model.arch`` -> the network class it builds; metadata ``operators``: the operator names it takes (its search
space)."""
ARCHITECTURES.register("automatch", AutoMatchNet, operators=SEARCH_SPACE)
ARCHITECTURES.register("ocean", TrackerNet, operators=OPERATOR_NAMES)


def architecture_operators(arch: str = "ocean") -> tuple[str, ...]:
    """The operator names the network of ``model.arch`` ``arch`` takes: the authors' search space
    (:data:`~automatch_jax.models.automatch.SEARCH_SPACE`) for ``"automatch"``, TrackerNet's
    (:data:`~automatch_jax.ops.OPERATOR_NAMES`) for ``"ocean"`` (the default)."""
    return ARCHITECTURES.metadata(arch)["operators"]


def default_model_config() -> ml_collections.ConfigDict:
    """The paper's network: ResNet-50, cls {simple-transformer, FiLM}, reg {FiLM, pairwise-relation}."""
    return ml_collections.ConfigDict(
        {
            "backbone": "resnet50",
            "cls_operators": PAPER_CLS_OPERATORS,
            "reg_operators": PAPER_REG_OPERATORS,
            "channels": 256,
            "tower_layers": 4,
            "tower_channels": 256,
            "search_size": 255,
            "exemplar_size": 127,
            "exemplar_cells": 7,
            "dtype": "float32",
        }
    )


def automatch_model_config() -> ml_collections.ConfigDict:
    """The authors' network (``arch = "automatch"``): ResNet-50 layer2/layer3, cls {simple-transformer, FiLM} on
    layer2, reg {FiLM, pairwise-relation} on layer3, C = 256, a 3-layer regression tower."""
    return ml_collections.ConfigDict(
        {
            "arch": "automatch",
            "backbone": "resnet50",
            "cls_operators": PAPER_CLS_OPERATORS,
            "reg_operators": PAPER_REG_OPERATORS,
            "channels": 256,
            "reg_tower_layers": 3,
            "search_size": 255,
            "exemplar_size": 127,
            "dtype": "float32",
        }
    )


def build_network(model_config: ml_collections.ConfigDict | dict):
    """The network of a ``config.model`` section: ``arch`` picks :class:`AutoMatchNet` or :class:`TrackerNet`
    (``ocean``, the default); unknown keys are an error."""
    fields = dict(model_config)
    dtype = fields.pop("dtype", "float32")
    if dtype not in DTYPES:
        raise AutomatchError(f"model.dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    arch = fields.pop("arch", "ocean")
    if arch not in ARCHITECTURES:
        raise AutomatchError(f"model.arch {arch!r} is not one of {', '.join(ARCHITECTURES)}")
    network = ARCHITECTURES.get(arch)
    known = set(network.__dataclass_fields__) - {"parent", "name"}
    unknown = set(fields) - known
    if unknown:
        raise AutomatchError(
            f"unknown model setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for key in ("cls_operators", "reg_operators"):
        if key in fields:
            fields[key] = tuple(fields[key])
            outside = [op for op in fields[key] if arch == "automatch" and op not in SEARCH_SPACE]
            if outside:
                raise AutomatchError(
                    f"model.{key}: {', '.join(map(repr, outside))} not in the AutoMatch operators "
                    f"({', '.join(SEARCH_SPACE)}; depthwise correlation is 'pointdw')"
                )
    return network(dtype=DTYPES[dtype], **fields)
