"""The tracker's losses: balanced BCE (or focal) for classification, IoU loss for regression, and
:func:`pair_loss`, the loss of a batch of training pairs that training and the search both minimise.

Targets come from :func:`automatch_jax.models.geometry.make_targets`, so the label geometry is the one the
tracker decodes with.

The AutoMatch network's loss, :func:`automatch_loss`, is the authors' (JudasDie/SOTS ``lib/models/sot/loss.py``,
``siaminference.py``) on the targets of :func:`automatch_jax.models.targets.automatch_targets`: balanced BCE on
stage 1, :func:`stage2_loss` on stage 2, twice the IoU loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.geometry import make_targets
from automatch_jax.models.targets import automatch_targets

CLS_LOSSES = ("bce", "focal")  # the kinds of classification_loss
IOU_LOSSES = ("log", "linear", "giou")  # the kinds of iou_loss
AUTOMATCH_REG_WEIGHT = 2.0  # the authors' ``2 * self.reg_loss(...)`` (siaminference.py), with REG_WEIGHT 1


def classification_loss(
    logits: jnp.ndarray, labels: jnp.ndarray, kind: str = "bce", gamma: float = 2.0
) -> jnp.ndarray:
    """Scalar loss of (B, S, S) logits against (B, S, S) 0/1 labels.

    ``kind="bce"``: Ocean's balanced binary cross-entropy, the mean over positive cells and the mean over
    negative cells weighted 1/2 each (a batch without positives uses the negatives alone).
    ``kind="focal"``: the focal loss ``-(1 - p_t)^gamma log p_t`` averaged over positives (at least 1).
    """
    per_cell = optax.sigmoid_binary_cross_entropy(logits, labels)
    positive = labels > 0.5
    n_pos = jnp.sum(positive)
    if kind == "focal":
        p = jnp.exp(-per_cell)
        return jnp.sum(per_cell * (1 - p) ** gamma) / jnp.maximum(n_pos, 1)
    if kind != "bce":
        raise ValueError(f"unknown classification loss {kind!r}; known: {', '.join(CLS_LOSSES)}")
    pos_loss = jnp.sum(jnp.where(positive, per_cell, 0)) / jnp.maximum(n_pos, 1)
    neg_loss = jnp.sum(jnp.where(positive, 0, per_cell)) / jnp.maximum(jnp.sum(~positive), 1)
    return jnp.where(n_pos > 0, 0.5 * pos_loss + 0.5 * neg_loss, neg_loss)


def iou_loss(pred: jnp.ndarray, target: jnp.ndarray, weight: jnp.ndarray, kind: str = "log") -> jnp.ndarray:
    """Scalar IoU loss of (B, S, S, 4) predicted distances ``l, t, r, b`` (positive) against the targets,
    averaged over cells with ``weight`` 1.

    Both boxes share the cell as anchor point, so the intersection is ``(min l + min r) x (min t + min b)``.
    ``kind="log"``: ``-ln IoU`` (UnitBox, Ocean); ``kind="linear"``: ``1 - IoU``; ``kind="giou"``: ``1 - GIoU``.
    """
    target = jnp.maximum(target, 0)
    pl, pt, pr, pb = (pred[..., k] for k in range(4))
    tl, tt, tr, tb = (target[..., k] for k in range(4))
    pred_area = (pl + pr) * (pt + pb)
    target_area = (tl + tr) * (tt + tb)
    inter = (jnp.minimum(pl, tl) + jnp.minimum(pr, tr)) * (jnp.minimum(pt, tt) + jnp.minimum(pb, tb))
    union = pred_area + target_area - inter
    iou = (inter + 1.0) / (union + 1.0)
    if kind == "log":
        per_cell = -jnp.log(iou)
    elif kind == "linear":
        per_cell = 1.0 - iou
    elif kind == "giou":
        enclose = (jnp.maximum(pl, tl) + jnp.maximum(pr, tr)) * (jnp.maximum(pt, tt) + jnp.maximum(pb, tb))
        per_cell = 1.0 - (iou - (enclose - union) / (enclose + 1e-7))
    else:
        raise ValueError(f"unknown IoU loss {kind!r}; known: {', '.join(IOU_LOSSES)}")
    return jnp.sum(per_cell * weight) / jnp.maximum(jnp.sum(weight), 1.0)


def tracking_loss(
    outputs: dict[str, jnp.ndarray],
    targets: dict[str, jnp.ndarray],
    reg_weight: float = 1.0,
    cls_kind: str = "bce",
    iou_kind: str = "log",
) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
    """``cls_loss + reg_weight * reg_loss`` for the network's ``{"cls": (B,S,S), "reg": (B,S,S,4)}``;
    returns the total and both parts."""
    cls = classification_loss(outputs["cls"], targets["cls"], cls_kind)
    reg = iou_loss(outputs["reg"], targets["reg"], targets["reg_weight"], iou_kind)
    total = cls + reg_weight * reg
    return total, {"loss": total, "cls_loss": cls, "reg_loss": reg}


def pair_loss(
    net: nn.Module,
    variables: Mapping[str, Any],
    batch: Mapping[str, jnp.ndarray],
    loss_cfg: Mapping[str, Any],
    train: bool,
    rngs: Mapping[str, jax.Array] | None = None,
) -> tuple[jnp.ndarray, tuple[dict[str, jnp.ndarray], Any]]:
    """The loss of ``net`` on a batch of pairs: for an :class:`~automatch_jax.models.automatch.AutoMatchNet` the
    authors' targets (:func:`~automatch_jax.models.targets.automatch_targets`) and loss (:func:`automatch_loss`,
    stage 2 also scoring the jittered boxes), for a :class:`~automatch_jax.models.tracker_net.TrackerNet` Ocean's
    (:func:`~automatch_jax.models.geometry.make_targets`, :func:`tracking_loss`).

    Args:
      variables: ``{"params", "batch_stats"}`` and, for a search network, ``"arch"`` (the manipulators).
      batch: ``z`` (B, Ez, Ez, 3) and ``x`` (B, Es, Es, 3) RGB crops in [0, 255] (uint8 or float), ``z_box`` and
        ``x_box`` (B, 4) ``x0, y0, x1, y1`` in crop pixels, ``positive`` (B,) 1 for a positive pair.
      loss_cfg: ``config.loss``: ``reg_weight``, ``cls`` (bce | focal, stage 1's for an AutoMatchNet), ``iou``
        (log | linear | giou), ``radius`` (Ocean's positive region, see
        :func:`~automatch_jax.models.geometry.make_targets`; the AutoMatch targets use the authors' diamond).
      train: BatchNorm in training mode, its new statistics returned; else the stored ones come back unchanged.
      rngs: the apply's rng streams (``{"gumbel": key}`` for a search cell with noise).

    Returns:
      ``(total, (metrics, batch_stats))``: the scalar loss, ``{"loss", "cls_loss", "reg_loss"}`` (an AutoMatchNet
      adds ``cls_s1_loss``, ``cls_s2_loss``) and the BatchNorm statistics after the batch.
    """
    cls_kind, iou_kind = loss_cfg.get("cls", "bce"), loss_cfg.get("iou", "log")
    authors = isinstance(net, AutoMatchNet)
    if authors:
        targets = automatch_targets(net.geometry, batch["x_box"], batch["positive"])
        extra = {"boxes": targets["jitter_boxes"]}
    else:
        targets = make_targets(net.geometry, batch["x_box"], batch["positive"], loss_cfg.get("radius", 0.5))
        extra = {}
    # uint8 crops (as the pair pipeline sends them) become float32 on the device; the networks cast to their dtype
    inputs = (jnp.asarray(batch["z"], jnp.float32), batch["z_box"], jnp.asarray(batch["x"], jnp.float32))
    if train:
        outputs, updates = net.apply(dict(variables), *inputs, train=True, mutable=["batch_stats"], rngs=rngs,
                                     **extra)
        batch_stats = updates["batch_stats"]
    else:
        outputs, batch_stats = net.apply(dict(variables), *inputs, rngs=rngs, **extra), variables["batch_stats"]
    if authors:
        total, metrics = automatch_loss(outputs, targets, loss_cfg.get("reg_weight", AUTOMATCH_REG_WEIGHT),
                                        cls_kind, iou_kind)
    else:
        total, metrics = tracking_loss(outputs, targets, loss_cfg.get("reg_weight", 1.0), cls_kind, iou_kind)
    return total, (metrics, batch_stats)


def stage2_loss(
    logits: jnp.ndarray, labels: jnp.ndarray, jitter_logits: jnp.ndarray, jitter_iou: jnp.ndarray
) -> jnp.ndarray:
    """The authors' stage-2 loss (``WBCE_ADDPOS``): balanced BCE whose positive half also counts jittered boxes.

    ``logits``/``labels``: stage-2 scores of the scored boxes and their 0/1 labels (any shape, pooled over the batch);
    ``jitter_logits``/``jitter_iou``: scores of the jittered ground-truth boxes and their IoU soft labels. Returns
    ``0.5 (BCE_pos + BCE_jitter) + 0.5 BCE_neg`` (each a mean), or ``BCE_neg`` when no box is positive.
    """
    per_box = optax.sigmoid_binary_cross_entropy(logits, labels)
    positive = labels > 0.5
    n_pos = jnp.sum(positive)
    pos_loss = jnp.sum(jnp.where(positive, per_box, 0)) / jnp.maximum(n_pos, 1)
    neg_loss = jnp.sum(jnp.where(positive, 0, per_box)) / jnp.maximum(jnp.sum(~positive), 1)
    jitter_loss = jnp.mean(optax.sigmoid_binary_cross_entropy(jitter_logits, jitter_iou))
    return jnp.where(n_pos > 0, 0.5 * (pos_loss + jitter_loss) + 0.5 * neg_loss, neg_loss)


def automatch_loss(
    outputs: dict[str, jnp.ndarray], targets: dict[str, jnp.ndarray], reg_weight: float = AUTOMATCH_REG_WEIGHT,
    cls_kind: str = "bce", iou_kind: str = "log",
) -> tuple[jnp.ndarray, dict[str, jnp.ndarray]]:
    """``WBCE(stage 1) + stage2_loss + reg_weight * IoU loss`` for the AutoMatch network's outputs.

    ``outputs``: ``cls`` (B, S, S) stage-1 logits, ``reg`` (B, S, S, 4), ``cls_s2`` stage-2 logits of the scored
    cells (in training (B, 2S) at the flat cells ``s2_cells``; otherwise (B, S, S), every cell), ``cls_boxes``
    (B, 96) logits of the jittered boxes; ``targets`` from :func:`automatch_jax.models.targets.automatch_targets`.
    ``cls_kind``/``iou_kind``: stage 1's classification loss and the IoU loss (the authors': ``bce``, ``log``).
    Returns the total and its parts (``cls_loss`` is stage 1 + stage 2, as the authors log it).
    """
    labels = targets["cls"]
    s1 = classification_loss(outputs["cls"], labels, cls_kind)
    if "s2_cells" in outputs:
        s2_labels = jnp.take_along_axis(labels.reshape(labels.shape[0], -1), outputs["s2_cells"], axis=1)
    else:
        s2_labels = labels
    s2 = stage2_loss(outputs["cls_s2"], s2_labels, outputs["cls_boxes"], targets["jitter_iou"])
    reg = iou_loss(outputs["reg"], targets["reg"], targets["reg_weight"], iou_kind)
    total = s1 + s2 + reg_weight * reg
    parts = {"loss": total, "cls_loss": s1 + s2, "cls_s1_loss": s1, "cls_s2_loss": s2, "reg_loss": reg}
    return total, parts
