"""The network a config describes: ``config.model`` holds ``arch`` and the fields of that architecture's network
(plus ``dtype``, the compute precision's name):

- ``arch = "automatch"``: :class:`~automatch_jax.models.automatch.AutoMatchNet`, the network as the authors built it;
- ``arch = "ocean"`` (the default when ``arch`` is absent): :class:`~automatch_jax.models.tracker_net.TrackerNet`,
  the paper-prose network with Ocean's heads: the Ocean-head comparison network (``configs/ocean_lite.py``), the
  Table 1 / operator-study networks (``configs/table1.py``), ``configs/automatch_lite_fast.py`` and the shipped
  checkpoints whose ``model`` section names no other ``arch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from automatch_jax.errors import AutomatchError
from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.ops import OPERATOR_NAMES, PAPER_CLS_OPERATORS, PAPER_REG_OPERATORS, SEARCH_SPACE
from automatch_jax.registry import Registry

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
"""The compute dtypes a network takes (``model.dtype``, ``--dtype``), by name."""
COMPUTE_DTYPES = ("auto", *DTYPES)
"""``train.dtype`` / ``search.dtype``: a :data:`DTYPES` name, or ``"auto"`` (bfloat16 on GPU/TPU, float32 on CPU)."""
DEFAULT_ARCH = "ocean"
"""``model.arch`` when a ``config.model`` section (or a checkpoint's ``model``) names none."""
DEFAULT_BACKBONE = "resnet50"
"""The backbone of the paper's network (:func:`default_model_config`), and either network's when ``model`` names
none."""
ARCHITECTURES: Registry[type[AutoMatchNet] | type[TrackerNet]] = Registry("model.arch")
"""``model.arch`` -> the network class it builds; metadata ``operators``: the operator names it takes (its search
space)."""
ARCHITECTURES.register("automatch", AutoMatchNet, operators=SEARCH_SPACE)
ARCHITECTURES.register("ocean", TrackerNet, operators=OPERATOR_NAMES)


def named_dtype(name: str, where: str = "dtype", auto: bool = False) -> Any:
    """The dtype of the name ``name`` (a :data:`DTYPES` key; with ``auto``, also ``"auto"``: bfloat16 on GPU/TPU,
    float32 on CPU); one :class:`AutomatchError` line naming ``where`` for any other. The one parser of dtype names:
    ``model.dtype``, ``train.dtype``, ``search.dtype`` and ``--dtype`` all go through it."""
    if auto and name == "auto":
        return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16
    if name not in DTYPES:
        choices = COMPUTE_DTYPES if auto else tuple(DTYPES)
        raise AutomatchError(f"{where} {name!r} is not one of {', '.join(choices)}")
    return DTYPES[name]


def model_arch(model_config: Mapping[str, Any]) -> str:
    """The ``model.arch`` of a ``config.model`` section: :data:`DEFAULT_ARCH` when it names none."""
    return model_config.get("arch", DEFAULT_ARCH)


def architecture_operators(arch: str = DEFAULT_ARCH) -> tuple[str, ...]:
    """The operator names the network of ``model.arch`` ``arch`` takes (its :data:`ARCHITECTURES` entry's
    ``operators``): the authors' search space (:data:`~automatch_jax.ops.SEARCH_SPACE`) for
    ``"automatch"``; for ``"ocean"`` (the default) TrackerNet's, the legacy operator registry's names
    (:data:`~automatch_jax.ops.OPERATOR_NAMES`)."""
    return ARCHITECTURES.metadata(arch)["operators"]


def check_operators(names: Iterable[str], arch: str, where: str) -> None:
    """One :class:`AutomatchError` line for the first of ``names`` the network of ``model.arch`` ``arch`` does not
    take (:func:`architecture_operators`), ``where`` naming the setting; nothing for an unknown ``arch`` (which
    :func:`build_network` names). The one check of operator names, for ``model.*_operators`` and ``search.space``."""
    if arch not in ARCHITECTURES:
        return
    known = architecture_operators(arch)
    outside = [name for name in names if name not in known]
    if not outside:
        return
    # the depthwise correlation's two names: TrackerNet's and the authors'
    twin = {"dw_xcorr": "pointdw", "pointdw": "dw_xcorr"}.get(outside[0])
    hint = f" (depthwise correlation is {twin!r})" if twin in known else ""
    raise AutomatchError(f"{where}: {outside[0]!r} is not an operator of model.arch {arch!r}; "
                         f"known: {', '.join(known)}{hint}")


def default_model_config() -> ml_collections.ConfigDict:
    """The paper's network: ResNet-50, cls {simple-transformer, FiLM}, reg {FiLM, pairwise-relation}."""
    return ml_collections.ConfigDict(
        {
            "backbone": DEFAULT_BACKBONE,
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
            "backbone": DEFAULT_BACKBONE,
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
    (``ocean``, the default); unknown keys and operators the architecture does not take are an error."""
    fields = dict(model_config)
    dtype = named_dtype(fields.pop("dtype", "float32"), "model.dtype")
    arch = model_arch(fields)
    fields.pop("arch", None)
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
            check_operators(fields[key], arch, f"model.{key}")
    return network(dtype=dtype, **fields)
