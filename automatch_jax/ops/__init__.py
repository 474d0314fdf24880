"""Matching operators phi(F_z, F_x, M_z) -> R, all NHWC with R of F_x's spatial size, chosen by name.

``OPERATOR_NAMES`` lists them in the paper's order: depthwise cross-correlation, concatenation,
pointwise-addition, pairwise-relation, FiLM, simple-transformer, transductive-guidance.
"""

from automatch_jax.ops import add, concat, film, pairwise, pointdw, transductive, transformer, xcorr  # noqa: F401
from automatch_jax.ops.legacy import LEGACY_OPERATORS
from automatch_jax.ops.registry import OPERATORS, get_operator, register

# the names TrackerNet's configs and the BCM search space use, in the paper's order (the legacy table's order)
OPERATOR_NAMES: tuple[str, ...] = tuple(LEGACY_OPERATORS)
# the pair the paper's search found: classification {simple-transformer, FiLM}, regression {FiLM, pairwise-relation}
PAPER_CLS_OPERATORS: tuple[str, ...] = ("transformer", "film")
PAPER_REG_OPERATORS: tuple[str, ...] = ("film", "pairwise")

__all__ = [
    "OPERATORS",
    "OPERATOR_NAMES",
    "PAPER_CLS_OPERATORS",
    "PAPER_REG_OPERATORS",
    "get_operator",
    "register",
]
