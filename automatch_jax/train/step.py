"""The data-parallel training step: one replica per local device (``pmap``), gradients and BatchNorm statistics
averaged across all devices of all hosts (``lax.pmean`` over the ``"batch"`` axis)."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from automatch_jax.models.losses import pair_loss
from automatch_jax.models.tracker_net import TrackerNet

AXIS = "batch"


@flax.struct.dataclass
class TrainState:
    """What a training checkpoint holds: the step (int32 scalar), parameters, BatchNorm statistics, SGD moments."""

    step: jnp.ndarray
    params: Any
    batch_stats: Any
    opt_state: Any


def make_train_step(net: TrackerNet, tx: optax.GradientTransformation, loss_cfg: dict):
    """``step(state, batch) -> (state, metrics)`` for one replica; wrap with ``jax.pmap(..., axis_name=AXIS)``."""

    def step(state: TrainState, batch: dict):
        def loss(params):
            return pair_loss(net, {"params": params, "batch_stats": state.batch_stats}, batch, loss_cfg, train=True)

        grad_fn = jax.value_and_grad(loss, has_aux=True)
        (_, (metrics, new_stats)), grads = grad_fn(state.params)
        grads = jax.lax.pmean(grads, AXIS)
        new_stats = jax.lax.pmean(new_stats, AXIS)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = jax.lax.pmean(metrics, AXIS)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return TrainState(state.step + 1, params, new_stats, opt_state), metrics

    return step


def make_eval_step(net: TrackerNet, loss_cfg: dict):
    """``step(state, batch) -> metrics``: the loss of one replica's batch in inference mode, averaged over
    ``AXIS``; wrap with ``jax.pmap(..., axis_name=AXIS)``."""

    def step(state: TrainState, batch: dict):
        variables = {"params": state.params, "batch_stats": state.batch_stats}
        _, (metrics, _) = pair_loss(net, variables, batch, loss_cfg, train=False)
        return jax.lax.pmean(metrics, AXIS)

    return step
