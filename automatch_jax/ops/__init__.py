"""Matching operators phi(F_z, F_x, M_z) -> R, all NHWC with R of F_x's spatial size, chosen by name.

``OPERATORS`` holds the authors' forms; ``OPERATOR_NAMES`` lists the names of TrackerNet's legacy forms
(:data:`automatch_jax.ops.legacy.LEGACY_OPERATORS`, each also a name in ``OPERATORS``) in the paper's order:
depthwise cross-correlation, concatenation, pointwise-addition, pairwise-relation, FiLM, simple-transformer,
transductive-guidance.
"""

from automatch_jax.ops import add, concat, film, pairwise, pointdw, transductive, transformer, xcorr  # noqa: F401
from automatch_jax.ops.legacy import LEGACY_OPERATORS
from automatch_jax.ops.registry import OPERATORS, get_operator, register

# the names TrackerNet's configs and the BCM search space use, in the paper's order: the legacy registry's names
OPERATOR_NAMES: tuple[str, ...] = LEGACY_OPERATORS.names()
# the authors' search space: the OPERATORS entries registered with a search_index, in that (the paper's) order
SEARCH_SPACE: tuple[str, ...] = tuple(sorted(
    (name for name in OPERATORS if "search_index" in OPERATORS.metadata(name)),
    key=lambda name: OPERATORS.metadata(name)["search_index"]))
# the pair the paper's search found: classification {simple-transformer, FiLM}, regression {FiLM, pairwise-relation}
PAPER_CLS_OPERATORS: tuple[str, ...] = ("transformer", "film")
PAPER_REG_OPERATORS: tuple[str, ...] = ("film", "pairwise")

__all__ = [
    "OPERATORS",
    "OPERATOR_NAMES",
    "PAPER_CLS_OPERATORS",
    "PAPER_REG_OPERATORS",
    "SEARCH_SPACE",
    "get_operator",
    "register",
]
