"""Ocean's optimisation: SGD with momentum, a linear warm-up then an exponential (log-linear) decay, the backbone
frozen for the first steps and then trained at a fraction of the learning rate (``optax.multi_transform``), its
lowest ``frozen_units`` units (stem first) never."""

from __future__ import annotations

import flax
import jax.numpy as jnp
import ml_collections
import optax

from automatch_jax.models.backbones import trunk_unit


def learning_rate(cfg: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
    """Warm-up from ``warmup_lr`` to ``lr`` over ``warmup_steps``, then log-linear decay to ``final_lr``."""
    warmup = optax.linear_schedule(cfg.warmup_lr, cfg.lr, max(cfg.warmup_steps, 1))
    decay_steps = max(total_steps - cfg.warmup_steps, 1)
    decay = optax.exponential_decay(cfg.lr, decay_steps, cfg.final_lr / cfg.lr)
    return optax.join_schedules([warmup, decay], [cfg.warmup_steps])


def parameter_labels(params, backbone: str = "", frozen_units: int = 0) -> dict:
    """``"head"`` for everything outside the trunk; in the trunk (``params["trunk"]``) ``"frozen"`` for the
    parameters of backbone ``backbone``'s first ``frozen_units`` units, ``"backbone"`` for the others."""
    flat = flax.traverse_util.flatten_dict(flax.core.unfreeze(params))

    def label(key: tuple[str, ...]) -> str:
        if key[0] != "trunk":
            return "head"
        return "frozen" if frozen_units and trunk_unit(backbone, key[1:]) < frozen_units else "backbone"

    return flax.traverse_util.unflatten_dict({k: label(k) for k in flat})


def make_optimizer(
    cfg: ml_collections.ConfigDict, total_steps: int, backbone: str = ""
) -> optax.GradientTransformation:
    """SGD(momentum, weight decay) on the heads; on the backbone the same at ``backbone_lr_scale`` times the rate
    from ``unfreeze_step`` on and nothing before (its updates are exactly zero); the backbone's (``backbone``, a
    registry name) first ``cfg.frozen_units`` units are never updated (``optax.set_to_zero``)."""
    schedule = learning_rate(cfg, total_steps)
    frozen_units = int(cfg.get("frozen_units", 0))

    def backbone_schedule(step):
        return jnp.where(step < cfg.unfreeze_step, 0.0, schedule(step) * cfg.backbone_lr_scale)

    def sgd(rate):
        return optax.chain(
            optax.clip_by_global_norm(cfg.grad_clip),
            optax.add_decayed_weights(cfg.weight_decay),
            optax.sgd(rate, momentum=cfg.momentum),
        )

    transforms = {"head": sgd(schedule), "backbone": sgd(backbone_schedule), "frozen": optax.set_to_zero()}
    return optax.multi_transform(transforms, lambda params: parameter_labels(params, backbone, frozen_units))
