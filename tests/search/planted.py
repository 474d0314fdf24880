"""A planted search problem: in each branch one operator sees the real exemplar and search features, the others
are fed fresh noise; a working search must rank the planted operator first."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from automatch_jax.models.bcm import SearchCell
from automatch_jax.ops import OPERATOR_NAMES

C, HZ, HX = 8, 3, 9


class PlantedNet(nn.Module):
    planted_cls: str = "film"
    planted_reg: str = "pairwise"
    operators: tuple[str, ...] = OPERATOR_NAMES
    hard: bool = True

    @nn.compact
    def __call__(self, batch: dict) -> dict:
        def branch(name: str, planted: str) -> jnp.ndarray:
            zs = [batch["f_z"] if op == planted else batch["noise_z"][i] for i, op in enumerate(self.operators)]
            xs = [batch["f_x"] if op == planted else batch["noise_x"][i] for i, op in enumerate(self.operators)]
            e = SearchCell(self.operators, C, hard=self.hard, name=name)(zs, xs, batch["z_mask"])
            h = nn.relu(nn.Conv(16, (1, 1), name=f"{name}_hidden")(e))
            return nn.Conv(1, (1, 1), name=f"{name}_out")(h)[..., 0]

        return {"cls": branch("cls", self.planted_cls), "reg": branch("reg", self.planted_reg)}


def planted_batch(key: jax.Array, batch: int = 16, operators: int = len(OPERATOR_NAMES)) -> dict:
    """The target is a random vector t (norm sqrt(C)): the exemplar is t on every cell, the search map is noise
    with s * t at one random cell; cls labels mark that cell, reg labels are the scale s there and 0 elsewhere."""
    k = jax.random.split(key, 6)
    t = jax.random.normal(k[0], (batch, 1, 1, C))
    t = t * jnp.sqrt(C) / jnp.linalg.norm(t, axis=-1, keepdims=True)  # |t|^2 = C
    f_z = jnp.broadcast_to(t, (batch, HZ, HZ, C)) + 0.1 * jax.random.normal(k[1], (batch, HZ, HZ, C))
    f_x = jax.random.normal(k[2], (batch, HX, HX, C))
    cell = jax.random.randint(k[3], (batch,), 0, HX * HX)
    onehot = jax.nn.one_hot(cell, HX * HX).reshape(batch, HX, HX)
    scale = jax.random.uniform(k[4], (batch, 1, 1), minval=0.5, maxval=2.0)
    f_x = f_x * (1 - onehot[..., None]) + onehot[..., None] * scale[..., None] * t
    noise = jax.random.split(k[5], 2)
    return {
        "f_z": f_z, "f_x": f_x, "z_mask": jnp.ones((batch, HZ, HZ)),
        "noise_z": jax.random.normal(noise[0], (operators, batch, HZ, HZ, C)),
        "noise_x": jax.random.normal(noise[1], (operators, batch, HX, HX, C)),
        "cls": onehot, "reg": onehot * scale,
    }


def planted_loss(net: PlantedNet):
    """The bilevel loss signature: (params, arch, batch_stats, batch, rng) -> (loss, (metrics, batch_stats))."""

    def loss(params, arch, batch_stats, batch, rng):
        out = net.apply({"params": params, "arch": arch}, batch)
        cls = jnp.mean(optax_bce(out["cls"], batch["cls"]) * (1 + 20 * batch["cls"]))
        reg = 10 * jnp.mean((1 + 20 * batch["cls"]) * (out["reg"] - batch["reg"]) ** 2)
        total = cls + reg
        return total, ({"loss": total, "cls_loss": cls, "reg_loss": reg}, batch_stats)

    return loss


def optax_bce(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
    import optax

    return optax.sigmoid_binary_cross_entropy(logits, labels)
