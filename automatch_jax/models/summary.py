"""Parameters and FLOPs of a :class:`TrackerNet`, per part (backbone, neck, matching, heads).

FLOPs are XLA's own count of the compiled computation (``cost_analysis()``: a multiply-add counts 2), per
tracked frame on one search crop; the exemplar branch, run once per target, is reported separately.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.models.tracker_net import TrackerNet, example_inputs

PARTS = {
    "backbone": ("trunk",),
    "neck": ("neck",),
    "matching": ("cls_matching", "reg_matching"),
    "heads": ("cls_head", "reg_head"),
}


@dataclasses.dataclass(frozen=True)
class PartCost:
    part: str
    params: int
    flops_per_frame: float
    flops_exemplar: float = 0.0


def _count(tree) -> int:
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(tree)))


def _flops(fn, *args) -> float:
    analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    if isinstance(analysis, list):  # older jax returns one dict per device
        analysis = analysis[0]
    return float(analysis.get("flops", 0.0)) if analysis else 0.0


def network_costs(net: TrackerNet) -> list[PartCost]:
    """One :class:`PartCost` per part and a ``total`` row, for one exemplar and one search crop (batch 1)."""
    z, box, x = example_inputs(net)
    variables = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), z, box, x))
    variables = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), variables)
    params = variables["params"]

    def trunk(v, images):
        return net.apply(v, images, method=lambda m, i: m.trunk(i))

    def neck(v, feats):
        return net.apply(v, feats, method=lambda m, f: m.neck(f))

    trunk_x = jax.eval_shape(trunk, variables, x)
    exemplar = jax.eval_shape(lambda v: net.apply(v, z, box, method=TrackerNet.template), variables)
    f_x = jax.ShapeDtypeStruct((*trunk_x.shape[:-1], net.channels), jnp.float32)
    responses = jax.eval_shape(
        lambda v, e, f: net.apply(v, e, f, method=TrackerNet.match), variables, exemplar, f_x
    )
    trunk_z = jax.eval_shape(trunk, variables, z)

    flops = {
        "backbone": (_flops(trunk, variables, x), _flops(trunk, variables, z)),
        "neck": (_flops(neck, variables, trunk_x), _flops(neck, variables, trunk_z)),
        "matching": (
            _flops(lambda v, e, f: net.apply(v, e, f, method=TrackerNet.match), variables, exemplar, f_x),
            0.0,
        ),
        "heads": (
            _flops(lambda v, c, r: net.apply(v, c, r, method=TrackerNet.heads), variables, *responses),
            0.0,
        ),
    }
    rows = [
        PartCost(part, sum(_count(params.get(k, {})) for k in keys), *flops[part])
        for part, keys in PARTS.items()
    ]
    rows.append(
        PartCost(
            "total", _count(params), sum(r.flops_per_frame for r in rows), sum(r.flops_exemplar for r in rows)
        )
    )
    return rows


def format_costs(rows: list[PartCost]) -> str:
    """A plain-text table of :func:`network_costs`."""
    lines = [f"{'part':<10} {'params':>12} {'GFLOPs/frame':>13} {'GFLOPs exemplar':>16}"]
    for r in rows:
        lines.append(
            f"{r.part:<10} {r.params:>12,} {r.flops_per_frame / 1e9:>13.3f} {r.flops_exemplar / 1e9:>16.3f}"
        )
    return "\n".join(lines)
