"""Parameters and FLOPs of a tracker network, per part.

:class:`TrackerNet`: backbone, neck, matching, heads. :class:`AutoMatchNet`: backbone, necks (both levels), template
(the template vectors, exemplar only), matching (both branches), regression (head and tower), stage 1, stage 2
(every cell's predicted box scored once per frame; the zoom refinement's boxes are a further stage-2 call each).

FLOPs are XLA's own count of the compiled computation (``cost_analysis()``: a multiply-add counts 2), per
tracked frame on one search crop; the exemplar branch, run once per target, is reported separately.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.models.automatch import AutoMatchNet
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


def _zero_variables(net, z, box, x) -> dict:
    variables = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), z, box, x))
    return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), variables)


def _rows(params: dict, parts: dict[str, tuple[str, ...]], flops: dict[str, tuple[float, float]]) -> list[PartCost]:
    rows = [PartCost(part, sum(_count(params.get(k, {})) for k in keys), *flops[part]) for part, keys in parts.items()]
    rows.append(
        PartCost(
            "total", _count(params), sum(r.flops_per_frame for r in rows), sum(r.flops_exemplar for r in rows)
        )
    )
    return rows


AUTOMATCH_PARTS = {
    "backbone": ("trunk",),
    "necks": ("neck_low", "neck_high"),
    "template": ("template_low", "template_high"),
    "matching": ("cls_matching", "reg_matching"),
    "regression": ("reg_head",),
    "stage 1": ("stage1",),
    "stage 2": ("stage2",),
}


def automatch_costs(net: AutoMatchNet) -> list[PartCost]:
    """:func:`network_costs` of an :class:`AutoMatchNet` (parts :data:`AUTOMATCH_PARTS`)."""
    z, box, x = example_inputs(net)
    variables = _zero_variables(net, z, box, x)

    def part(fn):
        """``fn(module, *args)`` as ``(variables, *args) -> outputs``, the variables an argument (not a constant)."""
        return lambda v, *args: net.apply(v, *args, method=fn)

    trunk = part(lambda m, i: m.trunk(i, False))
    necks = part(lambda m, f: (m.neck_low(f[0]), m.neck_high(f[1])))
    vectors = part(lambda m, f, b: (m.template_low(f[0], b), m.template_high(f[1], b)))
    matching = part(lambda m, e, f: m.match(e, *f))
    regression = part(lambda m, r: m.reg_head(r))
    stage1 = part(lambda m, e, t, c: m.stage1(t, c, e["v_high"], e["v_low"]))
    stage2 = part(lambda m, e, b: m.stage2(e, b))

    def shape(fn, *args):
        return jax.eval_shape(fn, variables, *args)

    trunk_x, trunk_z = shape(trunk, x), shape(trunk, z)
    maps_x, maps_z = shape(necks, trunk_x), shape(necks, trunk_z)
    exemplar = shape(part(lambda m, i, b: m.template(i, b)), z, box)
    cls_response, reg_response = shape(matching, exemplar, maps_x)
    _, tower = shape(regression, reg_response)
    _, encoded = shape(stage1, exemplar, tower, cls_response)
    s = net.geometry.score_size
    boxes = jax.ShapeDtypeStruct((1, s * s, 4), jnp.float32)

    def flops(fn, *args) -> float:
        return _flops(fn, variables, *args)

    costs = {
        "backbone": (flops(trunk, x), flops(trunk, z)),
        "necks": (flops(necks, trunk_x), flops(necks, trunk_z)),
        "template": (0.0, flops(vectors, maps_z, box)),
        "matching": (flops(matching, exemplar, maps_x), 0.0),
        "regression": (flops(regression, reg_response), 0.0),
        "stage 1": (flops(stage1, exemplar, tower, cls_response), 0.0),
        "stage 2": (flops(stage2, encoded, boxes), 0.0),
    }
    return _rows(variables["params"], AUTOMATCH_PARTS, costs)


def network_costs(net: TrackerNet | AutoMatchNet) -> list[PartCost]:
    """One :class:`PartCost` per part and a ``total`` row, for one exemplar and one search crop (batch 1)."""
    if isinstance(net, AutoMatchNet):
        return automatch_costs(net)
    z, box, x = example_inputs(net)
    variables = _zero_variables(net, z, box, x)

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
    return _rows(variables["params"], PARTS, flops)


def format_costs(rows: list[PartCost]) -> str:
    """A plain-text table of :func:`network_costs`."""
    lines = [f"{'part':<10} {'params':>12} {'GFLOPs/frame':>13} {'GFLOPs exemplar':>16}"]
    for r in rows:
        lines.append(
            f"{r.part:<10} {r.params:>12,} {r.flops_per_frame / 1e9:>13.3f} {r.flops_exemplar / 1e9:>16.3f}"
        )
    return "\n".join(lines)
