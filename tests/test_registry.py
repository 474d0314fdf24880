"""The one registry helper."""

import pytest

from automatch_jax.data.benchmarks import BENCHMARKS
from automatch_jax.data.training_sets import TRAINING_SETS
from automatch_jax.errors import AutomatchError
from automatch_jax.eval.protocols import PROTOCOLS
from automatch_jax.eval.submission import WRITERS
from automatch_jax.models.backbones import BACKBONES
from automatch_jax.models.config import ARCHITECTURES
from automatch_jax.ops import OPERATORS
from automatch_jax.ops.legacy import LEGACY_OPERATORS
from automatch_jax.registry import Registry, UnknownNameError


def test_register_get_metadata_and_order():
    reg: Registry = Registry("widget")

    @reg.register("b", size=2)
    def make_b(scale=1):
        return ("b", scale)

    reg.register("a", make_b, size=1)
    assert reg.names() == ("b", "a")
    assert reg.get("b") is make_b
    assert reg.build("a", scale=3) == ("b", 3)
    assert reg.metadata("a") == {"size": 1}
    reg.metadata("a")["size"] = 9
    assert reg.metadata("a") == {"size": 1}
    assert "a" in reg and "c" not in reg and len(reg) == 2 and list(reg) == ["b", "a"]
    assert list(reg.items()) == [("b", make_b), ("a", make_b)]


def test_unknown_and_duplicate_names():
    reg: Registry = Registry("widget")
    reg.register("a", 1)
    with pytest.raises(AutomatchError, match="unknown widget 'z'; known: a"):
        reg.get("z")
    with pytest.raises(ValueError):
        reg.metadata("z")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a", 2)


@pytest.mark.parametrize("registry", [OPERATORS, LEGACY_OPERATORS, BACKBONES, ARCHITECTURES, TRAINING_SETS, BENCHMARKS,
                                      PROTOCOLS, WRITERS], ids=lambda r: r.kind)
def test_every_name_table_is_a_registry(registry: Registry) -> None:
    assert isinstance(registry, Registry) and len(registry)
    with pytest.raises(UnknownNameError, match=f"unknown {registry.kind} 'nonesuch'; known: {registry.names()[0]}"):
        registry.get("nonesuch")
