"""Where gradients stop: the frozen lower part of a partly fine-tuned trunk."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def freeze_below(x: jnp.ndarray, unit: int, frozen_units: int) -> jnp.ndarray:
    """``x``, the output of trunk unit ``unit`` (0 = the stem), with its gradient stopped when that unit is one of
    the first ``frozen_units``: nothing below it then receives a gradient, nor costs a backward pass."""
    return jax.lax.stop_gradient(x) if unit < frozen_units else x
