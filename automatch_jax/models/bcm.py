"""Binary Channel Manipulation (BCM): the search cell of one branch (paper Sec. 4, ``docs/search.md``).

Every operator of the search space is applied to the same (F_z, F_x); operator ``i``'s response channel ``j`` is
multiplied by a binary decision ``d_i^j`` drawn from a learnable manipulator ``w_i^j``, and the manipulated responses
are concatenated for the branch's head::

    y_i^j = sigmoid((w_i^j + g1 - g2) / tau)        g1, g2 ~ Gumbel(0, 1) scaled by ``noise`` (paper: noise 0)
    d_i^j = 1[y_i^j > 0.5]  forward,  dy/dw  backward   (straight-through)
    E     = concat_i (d_i * r_i)                       (B, Hx, Wx, m * C)
    p_i   = sum_j sigmoid(w_i^j)                       operator potential; the top two are kept per branch

The manipulators live in the ``"arch"`` variable collection, apart from the network weights in ``"params"``, so the
bilevel optimisation (:mod:`automatch_jax.search.bilevel`) differentiates each level on its own.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.ops import get_operator
from automatch_jax.ops.legacy import get_legacy_operator

ARCH = "arch"
MANIPULATORS = "manipulators"


def binary_straight_through(w: jnp.ndarray, key: jax.Array | None = None, tau: float = 1.0, noise: float = 0.0,
                            hard: bool = True) -> jnp.ndarray:
    """Decisions ``d`` of manipulators ``w`` (any shape): exactly 0/1 forward when ``hard``, with the gradient of
    ``sigmoid((w + noise * (g1 - g2)) / tau)``; ``hard=False`` gives the continuous relaxation itself."""
    logits = w
    if key is not None and noise > 0:
        k1, k2 = jax.random.split(key)
        logits = w + noise * (jax.random.gumbel(k1, w.shape, w.dtype) - jax.random.gumbel(k2, w.shape, w.dtype))
    y = jax.nn.sigmoid(logits / tau)
    if not hard:
        return y
    decision = (y > 0.5).astype(y.dtype)
    return decision + (y - jax.lax.stop_gradient(y))  # exactly `decision` forward: y - y == 0 in floating point


def potentials(w: jnp.ndarray | np.ndarray) -> np.ndarray:
    """Operator potentials p_i = sum_j sigmoid(w_i^j): (m, C) or (m, 1) manipulators -> (m,)."""
    w = np.asarray(w, np.float64)
    return (1.0 / (1.0 + np.exp(-w))).sum(axis=-1)


def top_operators(w: jnp.ndarray | np.ndarray, operators: SequenceOf[str], keep: int = 2) -> tuple[str, ...]:
    """The ``keep`` operators with the largest potential, in the search space's order (ties: the earlier)."""
    p = potentials(w)
    order = sorted(range(len(operators)), key=lambda i: (-p[i], i))[:keep]
    return tuple(operators[i] for i in sorted(order))


class SearchCell(nn.Module):
    """One branch's search cell: ``(B, Hz, Wz, C), (B, Hx, Wx, C), (B, Hz, Wz)[, (B, 1, 1, C)] -> (B, Hx, Wx, m * C)``.

    It takes the operators' own inputs (template map, search map, template mask, optionally the template vector;
    see :mod:`automatch_jax.ops`) and sits where a fixed branch combines its operators' responses.

    Attributes:
      operators: the search space (operator names), m of them.
      channels: C, the response channels of every operator.
      scalar: one manipulator per operator instead of one per channel (the paper's ablation).
      tau, noise: the Gumbel temperature and noise scale (paper: 1 and 0, i.e. the forward is ``1[w > 0]``).
      init_value: initial value of every manipulator (> 0: every channel starts switched on).
      hard: binary forward (BCM); False uses the sigmoid relaxation (a smooth variant, used to test the bilevel
        gradient against finite differences).
      legacy: True: the paper-prose operator forms of :mod:`automatch_jax.ops.legacy`, by the names of
        ``OPERATOR_NAMES`` (TrackerNet's search); False: the registry's authors' forms (the AutoMatch network's
        cells, whose space is :data:`automatch_jax.ops.SEARCH_SPACE`).

    ``f_z`` and ``f_x`` may also be sequences of m arrays, one input pair per operator (for planted experiments).
    The Gumbel key comes from the ``"gumbel"`` rng stream when ``noise > 0``.
    """

    operators: SequenceOf[str]
    channels: int = 256
    scalar: bool = False
    tau: float = 1.0
    noise: float = 0.0
    init_value: float = 0.5
    hard: bool = True
    legacy: bool = True

    @nn.compact
    def __call__(
        self, f_z, f_x, z_mask: jnp.ndarray, z_vector: jnp.ndarray | None = None, train: bool = False
    ) -> jnp.ndarray:
        m = len(self.operators)
        shape = (m, 1) if self.scalar else (m, self.channels)
        w = self.variable(ARCH, MANIPULATORS, lambda: jnp.full(shape, self.init_value, jnp.float32)).value
        key = self.make_rng("gumbel") if (self.noise > 0 and self.has_rng("gumbel")) else None
        d = binary_straight_through(w, key, self.tau, self.noise, self.hard)
        per_op_z = f_z if isinstance(f_z, (list, tuple)) else [f_z] * m
        per_op_x = f_x if isinstance(f_x, (list, tuple)) else [f_x] * m
        build = get_legacy_operator if self.legacy else get_operator
        extra = () if z_vector is None else (z_vector,)
        responses = []
        for i, name in enumerate(self.operators):
            r = build(name, features=self.channels, name=name)(per_op_z[i], per_op_x[i], z_mask, *extra)
            responses.append(r * d[i].astype(r.dtype))
        return jnp.concatenate(responses, axis=-1)
