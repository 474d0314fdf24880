"""One registry of matching operators, chosen by name."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn

OPERATORS: dict[str, type[nn.Module]] = {}


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: registers a matching operator under ``name``."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in OPERATORS:
            raise ValueError(f"matching operator {name!r} is registered twice")
        OPERATORS[name] = cls
        return cls

    return add


def get_operator(operator: str, **kwargs) -> nn.Module:
    """A new instance of the operator registered as ``operator``; ``kwargs`` (``features``, the Flax module
    ``name`` ...) go to its constructor."""
    try:
        cls = OPERATORS[operator]
    except KeyError:
        raise ValueError(f"unknown matching operator {operator!r}; known: {', '.join(OPERATORS)}") from None
    return cls(**kwargs)
