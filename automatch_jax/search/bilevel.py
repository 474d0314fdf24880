"""Bilevel (DARTS-style) optimisation of the BCM manipulators, as pure functions.

The network weights theta (``"params"``) minimise the training loss; the manipulators w (``"arch"``) minimise the
validation loss of the weights trained with them::

    min_w  L_val(theta*(w), w)    s.t.  theta*(w) = argmin_theta L_train(theta, w)

theta*(w) is approximated by one inner optimiser step, ``theta' = theta + inner_step(grad_theta L_train)``.
``arch_gradient`` offers three orders:

``first``      grad_w L_val(theta, w): the alternating first-order update (inner step ignored).
``second``     grad_w L_val(theta'(w), w), exact: ``jax.grad`` differentiates through the inner optax step.
``second-fd``  DARTS' approximation of the same with a finite-difference Hessian-vector product:
               grad_w L_val(theta', w) - xi * (grad_w L_train(theta+, w) - grad_w L_train(theta-, w)) / (2 eps),
               theta+- = theta +- eps * grad_theta' L_val(theta', w), eps = 0.01 / ||grad_theta' L_val||.

A loss is any ``loss(params, arch, batch_stats, batch, rng) -> (scalar, (metrics, new_batch_stats))``;
:func:`make_search_step` builds the per-replica search step (arch step, then weight step) for ``jax.pmap``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from automatch_jax.train.config import SEARCH_ORDERS

ORDERS = SEARCH_ORDERS
LossFn = Callable[[Any, Any, Any, dict, jax.Array], tuple[jnp.ndarray, tuple[dict, Any]]]


@flax.struct.dataclass
class SearchState:
    step: jnp.ndarray
    params: Any
    batch_stats: Any
    arch: Any
    opt_state: Any
    arch_opt_state: Any


def inner_step(loss: LossFn, params, arch, batch_stats, batch: dict, rng: jax.Array, inner_lr) -> Any:
    """theta' = one SGD step (optax) of rate ``inner_lr`` on the training loss; differentiable in ``arch``."""
    grads = jax.grad(lambda p: loss(p, arch, batch_stats, batch, rng)[0])(params)
    inner = optax.sgd(inner_lr)
    updates, _ = inner.update(grads, inner.init(params), params)
    return optax.apply_updates(params, updates)


def arch_gradient(loss: LossFn, params, arch, batch_stats, train_batch: dict, val_batch: dict, rng: jax.Array,
                  order: str = "second", inner_lr: float | jnp.ndarray = 0.01) -> tuple[Any, jnp.ndarray, dict]:
    """The manipulators' gradient of the validation loss: ``(grad_w, val_loss, val_metrics)`` (see the module doc)."""
    if order == "first":
        (val, (metrics, _)), grad = jax.value_and_grad(
            lambda w: loss(params, w, batch_stats, val_batch, rng), has_aux=True)(arch)
        return grad, val, metrics
    if order == "second":
        def unrolled(w):
            updated = inner_step(loss, params, w, batch_stats, train_batch, rng, inner_lr)
            return loss(updated, w, batch_stats, val_batch, rng)

        (val, (metrics, _)), grad = jax.value_and_grad(unrolled, has_aux=True)(arch)
        return grad, val, metrics
    if order == "second-fd":
        updated = inner_step(loss, params, arch, batch_stats, train_batch, rng, inner_lr)
        (val, (metrics, _)), (g_params, g_arch) = jax.value_and_grad(
            lambda p, w: loss(p, w, batch_stats, val_batch, rng), argnums=(0, 1), has_aux=True)(updated, arch)
        eps = 0.01 / jnp.maximum(optax.tree.norm(g_params), 1e-12)

        def train_grad_w(sign: float):
            shifted = jax.tree_util.tree_map(lambda p, g: p + sign * eps * g, params, g_params)
            return jax.grad(lambda w: loss(shifted, w, batch_stats, train_batch, rng)[0])(arch)

        plus, minus = train_grad_w(1.0), train_grad_w(-1.0)
        grad = jax.tree_util.tree_map(lambda g, a, b: g - inner_lr * (a - b) / (2 * eps), g_arch, plus, minus)
        return grad, val, metrics
    raise ValueError(f"unknown bilevel order {order!r}; known: {', '.join(ORDERS)}")


def make_search_step(loss: LossFn, tx: optax.GradientTransformation, arch_tx: optax.GradientTransformation,
                     order: str, inner_lr: Callable[[jnp.ndarray], jnp.ndarray], axis_name: str | None = "batch"):
    """``step(state, train_batch, val_batch, rng) -> (state, metrics)``: one manipulator step on the validation
    batch (``order``), then one weight step on the training batch with the updated manipulators. Gradients and
    BatchNorm statistics are averaged over ``axis_name`` (wrap with ``jax.pmap(..., axis_name=axis_name)``)."""
    if order not in ORDERS:
        raise ValueError(f"unknown bilevel order {order!r}; known: {', '.join(ORDERS)}")

    def mean(tree):
        return jax.lax.pmean(tree, axis_name) if axis_name else tree

    def step(state: SearchState, train_batch: dict, val_batch: dict, rng: jax.Array):
        arch_rng, weight_rng = jax.random.split(rng)
        grad_w, _val, val_metrics = arch_gradient(loss, state.params, state.arch, state.batch_stats, train_batch,
                                                 val_batch, arch_rng, order, inner_lr(state.step))
        grad_w = mean(grad_w)
        arch_updates, arch_opt_state = arch_tx.update(grad_w, state.arch_opt_state, state.arch)
        arch = optax.apply_updates(state.arch, arch_updates)
        (_, (metrics, new_stats)), grads = jax.value_and_grad(
            lambda p: loss(p, arch, state.batch_stats, train_batch, weight_rng), has_aux=True)(state.params)
        grads, new_stats = mean(grads), mean(new_stats)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = mean({**metrics, **{f"val_{k}": v for k, v in val_metrics.items()}})
        metrics["arch_grad_norm"] = optax.tree.norm(grad_w)
        return SearchState(state.step + 1, params, new_stats, arch, opt_state, arch_opt_state), metrics

    return step
