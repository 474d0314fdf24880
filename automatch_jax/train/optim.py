"""Ocean's optimisation: SGD with momentum, a linear warm-up then an exponential (log-linear) decay, the backbone
frozen for the first steps and then trained at a fraction of the learning rate (``optax.multi_transform``)."""

from __future__ import annotations

import flax
import jax.numpy as jnp
import ml_collections
import optax


def learning_rate(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
    """Warm-up from ``warmup_lr`` to ``lr`` over ``warmup_steps``, then log-linear decay to ``final_lr``."""
    warmup = optax.linear_schedule(cfg.warmup_lr, cfg.lr, max(cfg.warmup_steps, 1))
    decay_steps = max(total_steps - cfg.warmup_steps, 1)
    decay = optax.exponential_decay(cfg.lr, decay_steps, cfg.final_lr / cfg.lr)
    return optax.join_schedules([warmup, decay], [cfg.warmup_steps])


def parameter_labels(params) -> dict:
    """``"backbone"`` for the trunk's parameters, ``"head"`` for everything else."""
    flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params))
    labels = {k: "backbone" if k[0] == "trunk" else "head" for k in flat}
    return flax.traverse_util.unflatten_dict(labels)


def make_optimizer(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.GradientTransformation:
    """SGD(momentum, weight decay) on the heads; on the backbone the same at ``backbone_lr_scale`` times the rate
    from ``unfreeze_step`` on and nothing before (its updates are exactly zero)."""
    schedule = learning_rate(cfg, total_steps)

    def backbone_schedule(step):
        return jnp.where(step < cfg.unfreeze_step, 0.0, schedule(step) * cfg.backbone_lr_scale)

    def sgd(rate):
        return optax.chain(
            optax.clip_by_global_norm(cfg.grad_clip),
            optax.add_decayed_weights(cfg.weight_decay),
            optax.sgd(rate, momentum=cfg.momentum),
        )

    return optax.multi_transform({"head": sgd(schedule), "backbone": sgd(backbone_schedule)}, parameter_labels)
