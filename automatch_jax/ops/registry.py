"""One registry of matching operators, chosen by name (on the package's :class:`~automatch_jax.registry.Registry`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn

from automatch_jax.registry import Registry

OPERATORS: Registry[type[nn.Module]] = Registry("matching operator")


def register(name: str, **metadata: Any) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: registers a matching operator under ``name`` (``metadata``: facts kept with the entry)."""
    return OPERATORS.register(name, **metadata)


def get_operator(operator: str, **kwargs) -> nn.Module:
    """A new instance of the operator registered as ``operator``; ``kwargs`` (``features``, the Flax module
    ``name`` ...) go to its constructor. An unknown name is an :class:`~automatch_jax.registry.UnknownNameError`
    (a ``ValueError``) listing the known ones."""
    return OPERATORS.build(operator, **kwargs)
