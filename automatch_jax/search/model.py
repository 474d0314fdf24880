"""What the search optimises: the config's network (either architecture: ``model.arch`` ``"automatch"``, the authors'
operators of :data:`~automatch_jax.ops.SEARCH_SPACE`, or ``"ocean"``, TrackerNet's
:data:`~automatch_jax.ops.OPERATOR_NAMES`) with a BCM search cell in both branches, its bilevel loss (the training
pair loss, :func:`~automatch_jax.models.losses.pair_loss`) and the optimisers of both levels."""

from __future__ import annotations

import jax
import ml_collections
import optax

from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.bcm import ARCH
from automatch_jax.models.config import build_network, named_dtype
from automatch_jax.models.losses import pair_loss
from automatch_jax.models.tracker_net import TrackerNet
from automatch_jax.search.bilevel import LossFn
from automatch_jax.train.config import check_keep, search_space
from automatch_jax.train.optim import parameter_labels


def search_network(config: ml_collections.ConfigDict) -> AutoMatchNet | TrackerNet:
    """The config's network with a search cell in both branches over ``config.search.space``, by default every
    operator of ``model.arch`` (:func:`~automatch_jax.train.config.search_space`)."""
    sc = config.search
    space = search_space(config)
    check_keep(sc.keep, space)
    net = build_network(config.model)
    dtype = named_dtype(sc.get("dtype", "auto"), "search.dtype", auto=True)
    return net.clone(search_cell=True, cls_operators=space, reg_operators=space, search_scalar=bool(sc.scalar),
                     search_tau=float(sc.tau), search_noise=float(sc.noise), search_init=float(sc.init),
                     freeze_backbone=bool(sc.freeze_backbone), dtype=dtype)


def tracker_search_loss(net: AutoMatchNet | TrackerNet, loss_cfg: dict) -> LossFn:
    """The bilevel loss of the tracker: ``(params, arch, batch_stats, batch, rng) -> (loss, (metrics, stats))``,
    the training pair loss with the manipulators ``arch`` (and ``rng`` as the search cell's Gumbel key)."""

    def loss(params, arch, batch_stats, batch: dict, rng: jax.Array):
        variables = {"params": params, ARCH: arch, "batch_stats": batch_stats}
        return pair_loss(net, variables, batch, loss_cfg, train=True, rngs={"gumbel": rng})

    return loss


def search_optimizers(sc: ml_collections.ConfigDict) -> tuple[optax.GradientTransformation,
                                                              optax.GradientTransformation, optax.Schedule]:
    """(weights' SGD with exponential decay ``lr -> final_lr``, frozen backbone untouched; manipulators' Adam with
    L2 as in DARTS; the weights' schedule, also the inner step's rate)."""
    schedule = optax.exponential_decay(sc.lr, max(sc.steps, 1), sc.final_lr / sc.lr)
    sgd = optax.chain(optax.clip_by_global_norm(sc.grad_clip), optax.add_decayed_weights(sc.weight_decay),
                      optax.sgd(schedule, momentum=sc.momentum))
    backbone = optax.set_to_zero() if sc.freeze_backbone else sgd
    tx = optax.multi_transform({"head": sgd, "backbone": backbone}, parameter_labels)
    arch_tx = optax.chain(optax.add_decayed_weights(sc.arch_weight_decay),
                          optax.adam(sc.arch_lr, b1=sc.arch_b1, b2=sc.arch_b2))
    return tx, arch_tx, schedule
