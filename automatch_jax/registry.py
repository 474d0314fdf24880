"""One small registry for everything chosen by name.

Its instances: ``OPERATORS`` (:mod:`automatch_jax.ops.registry`, the authors' matching operators),
``LEGACY_OPERATORS`` (:mod:`automatch_jax.ops.legacy`, TrackerNet's operator forms), ``BACKBONES``
(:mod:`automatch_jax.models.backbones`), ``ARCHITECTURES`` (:mod:`automatch_jax.models.config`, ``model.arch``),
``TRAINING_SETS`` (:mod:`automatch_jax.data.training_sets`), ``IMAGERY_SOURCES``
(:mod:`automatch_jax.data.pair_sources`), ``BENCHMARKS`` (:mod:`automatch_jax.data.benchmarks`),
``PROTOCOLS`` (:mod:`automatch_jax.eval.protocols`) and ``WRITERS`` (:mod:`automatch_jax.eval.submission`).

Entries carry their metadata (timm's taste): ``register("resnet50", offset=0.0)`` stores the value together with
keyword facts a caller can read back without building it. An unknown name is one :class:`AutomatchError` that
lists the known ones::

    BACKBONES = Registry("backbone")

    @BACKBONES.register("tiny", pretrained=False)
    class TinyBackbone(nn.Module): ...

    BACKBONES.get("tiny")            # the class
    BACKBONES.metadata("tiny")       # {"pretrained": False}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from automatch_jax.errors import AutomatchError

T = TypeVar("T")


class UnknownNameError(AutomatchError, ValueError):
    """A name that no registry entry has (also a ``ValueError``, as a bad argument value)."""


class Registry(Generic[T]):
    """Name -> value, with per-entry metadata, in registration order."""

    def __init__(self, kind: str):
        self.kind = kind
        self._values: dict[str, T] = {}
        self._metadata: dict[str, dict[str, Any]] = {}

    def register(self, name: str, value: T | None = None, **metadata: Any) -> Any:
        """Adds ``value`` under ``name``; without ``value``, returns a decorator that adds what it decorates."""

        def add(item: T) -> T:
            if name in self._values:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._values[name] = item
            self._metadata[name] = dict(metadata)
            return item

        return add if value is None else add(value)

    def get(self, name: str) -> T:
        """The value registered as ``name``; an :class:`UnknownNameError` naming the known ones otherwise."""
        try:
            return self._values[name]
        except (KeyError, TypeError):
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {', '.join(self._values)}") from None

    def build(self, name: str, /, **kwargs: Any) -> Any:
        """``get(name)(**kwargs)``: a new instance of the entry ``name``."""
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        return factory(**kwargs)

    def metadata(self, name: str) -> dict[str, Any]:
        """The keyword facts ``name`` was registered with (a copy)."""
        self.get(name)
        return dict(self._metadata[name])

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order."""
        return tuple(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, value)`` pairs, in registration order."""
        return iter(self._values.items())
