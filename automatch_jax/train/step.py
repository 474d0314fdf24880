"""The data-parallel training step: one replica per local device (``pmap``), gradients and BatchNorm statistics
averaged across all devices of all hosts (``lax.pmean`` over the ``"batch"`` axis)."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from automatch_jax.models.geometry import make_targets
from automatch_jax.models.losses import tracking_loss
from automatch_jax.models.tracker_net import TrackerNet

AXIS = "batch"


@flax.struct.dataclass
class TrainState:
    step: jnp.ndarray
    params: Any
    batch_stats: Any
    opt_state: Any


def loss_fn(net: TrackerNet, params, batch_stats, batch: dict, train: bool, loss_cfg: dict):
    """Scalar loss and ``(metrics, new batch_stats)`` of one batch (see :func:`tracking_loss`)."""
    targets = make_targets(net.geometry, batch["x_box"], batch["positive"], loss_cfg.get("radius", 0.5))
    variables = {"params": params, "batch_stats": batch_stats}
    if train:
        out, updates = net.apply(variables, batch["z"], batch["z_box"], batch["x"], train=True, mutable=["batch_stats"])
        new_stats = updates["batch_stats"]
    else:
        out, new_stats = net.apply(variables, batch["z"], batch["z_box"], batch["x"]), batch_stats
    total, metrics = tracking_loss(out, targets, loss_cfg.get("reg_weight", 1.0), loss_cfg.get("cls", "bce"),
                                   loss_cfg.get("iou", "log"))
    return total, (metrics, new_stats)


def make_train_step(net: TrackerNet, tx: optax.GradientTransformation, loss_cfg: dict):
    """``step(state, batch) -> (state, metrics)`` for one replica; wrap with ``jax.pmap(..., axis_name=AXIS)``."""

    def step(state: TrainState, batch: dict):
        grad_fn = jax.value_and_grad(lambda p: loss_fn(net, p, state.batch_stats, batch, True, loss_cfg), has_aux=True)
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
    def step(state: TrainState, batch: dict):
        _, (metrics, _) = loss_fn(net, state.params, state.batch_stats, batch, False, loss_cfg)
        return jax.lax.pmean(metrics, AXIS)

    return step
