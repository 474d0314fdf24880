"""A stand-in network for the tracker core: its score map and box sizes are planted in its ``params``."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from automatch_jax.models.geometry import decode_boxes, geometry_for
from automatch_jax.tracking import Network

GEOMETRY = geometry_for("tiny", 127, 63, 5)  # 16 x 16 score cells, as the smoke network's


def planted_params(cell: tuple[int, int] | None, size: tuple[float, float], score: float = 0.9) -> dict:
    """A score map of 0.01 peaked at ``cell`` (row, column; none: nothing scores), every box ``size`` crop pixels."""
    s = GEOMETRY.score_size
    scores = np.full((s, s), 0.01, np.float32)
    if cell is not None:
        scores[cell] = score
    distances = np.broadcast_to(np.array([size[0] / 2, size[1] / 2] * 2, np.float32), (s, s, 4))
    return {"scores": jnp.asarray(scores), "distances": jnp.asarray(distances)}


def planted_network(cell: tuple[int, int] | None = None, size: tuple[float, float] = (30.0, 15.0),
                    score: float = 0.9) -> Network:
    """The planted network: the same score map and boxes for every crop (:func:`planted_params`)."""

    def template(params: dict, z: jnp.ndarray, z_box: jnp.ndarray) -> dict:
        return {"z_box": z_box}

    def track(params: dict, exemplar: dict, x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, None]:
        batch, s = x.shape[0], GEOMETRY.score_size
        boxes = decode_boxes(GEOMETRY, params["distances"])
        return jnp.broadcast_to(params["scores"], (batch, s, s)), jnp.broadcast_to(boxes, (batch, s, s, 4)), None

    return Network(GEOMETRY, template, track, planted_params(cell, size, score))


def plant(tracker, cell: tuple[int, int] | None, size: tuple[float, float], score: float = 0.9) -> None:
    """Plant another map in ``tracker``'s planted network (its ``params`` are read at every step)."""
    tracker.network = dataclasses.replace(tracker.network, params=planted_params(cell, size, score))
