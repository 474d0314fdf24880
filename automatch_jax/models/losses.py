"""The tracker's losses: balanced BCE (or focal) for classification, IoU loss for regression.

Targets come from :func:`automatch_jax.models.geometry.make_targets`, so the label geometry is the one the
tracker decodes with.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax


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
        raise ValueError(f"unknown classification loss {kind!r}; known: bce, focal")
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
        raise ValueError(f"unknown IoU loss {kind!r}; known: log, linear, giou")
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
