"""Matching operators phi(F_z, F_x, M_z) -> R, all NHWC with R of F_x's spatial size, chosen by name.

``OPERATOR_NAMES`` lists them in the paper's order: depthwise cross-correlation, concatenation,
pointwise-addition, pairwise-relation, FiLM, simple-transformer, transductive-guidance.
"""

from automatch_jax.ops import add, concat, film, pairwise, transductive, transformer, xcorr  # noqa: F401
from automatch_jax.ops.registry import OPERATORS, get_operator, register

OPERATOR_NAMES = ("dw_xcorr", "concat", "add", "pairwise", "film", "transformer", "transductive")

__all__ = ["OPERATORS", "OPERATOR_NAMES", "get_operator", "register"]
