"""The network as the tracker runs it: pure functions and the arrays they take (:class:`Network`), built from a
Flax network (an :class:`~automatch_jax.models.automatch.AutoMatchNet` or a
:class:`~automatch_jax.models.tracker_net.TrackerNet`) and its variables (:func:`flax_network`) or from an export
folder (:func:`automatch_jax.tracking.export.exported_network`); and the one check that a checkpoint's weights fit
its config (:func:`checkpoint_network`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.models.automatch import AutoMatchNet
from automatch_jax.models.checkpoint import CheckpointError, TrackerCheckpoint
from automatch_jax.models.config import build_network, named_dtype
from automatch_jax.models.fold import apply_folded, fold_batchnorm
from automatch_jax.models.geometry import ScoreGeometry, decode_boxes
from automatch_jax.models.tracker_net import TrackerNet, example_inputs


@dataclasses.dataclass(frozen=True)
class Network:
    """What the tracker core calls, inside its compiled steps (both functions must be traceable):

    - ``template(params, z, z_box) -> exemplar``: ``z`` (B, Ez, Ez, 3) float32 RGB exemplar crops on 0..255,
      ``z_box`` (B, 4) float32 ``x0, y0, x1, y1`` in crop pixels; ``exemplar`` a pytree of (B, ...) arrays.
    - ``track(params, exemplar, x) -> (scores, boxes, features)``: ``x`` (B, Es, Es, 3) float32 RGB search crops on
      0..255; ``scores`` (B, S, S) target probabilities, ``boxes`` (B, S, S, 4) ``x0, y0, x1, y1`` in search-crop
      pixels, ``features`` a pytree of (B, ...) arrays for ``rescore`` (``None`` without one).
    - ``rescore(params, features, boxes) -> probabilities`` (optional): (B, K, 4) search-crop boxes scored on a
      frame's ``features``, (B, K) probabilities (the AutoMatch network's stage 2, for the zoom refinement).

    Attributes:
      geometry: crop sizes and where the S x S score cells lie in the search crop.
      template, track, rescore: the functions above (``rescore`` ``None``: the network has no box re-scoring).
      params: the arrays passed to them as ``params`` (device arrays; ``None`` where the weights are inside the
        functions, as in an export). Read at every call, so weights of the same shapes can be swapped in.
      module: the Flax network when built from one (``None`` otherwise).
      resize: ``resize(search_size) -> Network``, the same network (the same ``params``) for search crops of
        another side (``None``: the crop sizes are fixed, as in an export); see :meth:`at_search_size`.
    """

    geometry: ScoreGeometry
    template: Callable[[Any, jnp.ndarray, jnp.ndarray], Any]
    track: Callable[[Any, Any, jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray, Any]]
    params: Any = None
    module: TrackerNet | AutoMatchNet | None = None
    rescore: Callable[[Any, Any, jnp.ndarray], jnp.ndarray] | None = None
    resize: Callable[[int], Network] | None = None

    def at_search_size(self, size: int) -> Network:
        """This network for (B, ``size``, ``size``, 3) search crops, sharing its weights: the exemplar crop and the
        exemplar state stay as they are, the geometry (and the S x S score map) follows ``size``.

        Raises:
          AutomatchError: one line when the network has fixed crop sizes or ``size`` gives it no valid geometry.
        """
        g = self.geometry
        if size == g.search_size:
            return self
        if self.resize is None:
            raise AutomatchError(f"this network's crop sizes are fixed ({g.search_size}-pixel search crops)")
        if size < g.exemplar_size:
            raise AutomatchError(f"a {size}-pixel search crop is smaller than the {g.exemplar_size}-pixel exemplar")
        return self.resize(size)


def inference_variables(net: TrackerNet | AutoMatchNet, variables: dict, fold: bool = True) -> dict:
    """``variables`` as device arrays, with every BatchNorm folded into the convolution before it when ``fold``
    (:func:`~automatch_jax.models.fold.fold_batchnorm`; run them with
    :func:`~automatch_jax.models.fold.apply_folded`)."""
    if fold:
        z, z_box, x = example_inputs(net)
        variables = fold_batchnorm(lambda: net.apply(variables, z, z_box, x), variables)
    return jax.tree_util.tree_map(jnp.asarray, variables)


def predict(net: TrackerNet | AutoMatchNet, variables: dict, exemplar: dict, x: jnp.ndarray) -> tuple:
    """(B, Es, Es, 3) RGB search crops -> (B, S, S) target probabilities, (B, S, S, 4) boxes ``x0, y0, x1, y1`` in
    crop pixels and the features :func:`rescore` takes (BatchNorm folded or not).

    An AutoMatchNet's probability is the authors' ``0.5 sigmoid(stage 1) + 0.5 sigmoid(stage 2)``, its features
    stage 1's encoded maps and vectors; a TrackerNet's is ``sigmoid(cls)``, without features (``None``)."""
    out = apply_folded(net, variables, exemplar, x, method=type(net).track)
    boxes = decode_boxes(net.geometry, out["reg"])
    if isinstance(net, AutoMatchNet):
        scores = 0.5 * jax.nn.sigmoid(out["cls"]) + 0.5 * jax.nn.sigmoid(out["cls_s2"])
        return scores, boxes, out["s2_features"]
    return jax.nn.sigmoid(out["cls"]), boxes, None


def rescore(net: AutoMatchNet, variables: dict, features: dict, boxes: jnp.ndarray) -> jnp.ndarray:
    """(B, K) stage-2 probabilities of (B, K, 4) search-crop boxes on a frame's ``features`` (from :func:`predict`)."""
    return jax.nn.sigmoid(apply_folded(net, variables, features, boxes, method=AutoMatchNet.score_boxes))


def template(net: TrackerNet | AutoMatchNet, variables: dict, z: jnp.ndarray, z_box: jnp.ndarray) -> dict:
    """The exemplar state of (B, Ez, Ez, 3) RGB crops and their (B, 4) boxes (a dict of (B, ...) arrays: see the
    network's ``template``)."""
    return apply_folded(net, variables, z, z_box, method=type(net).template)


def flax_network(net: TrackerNet | AutoMatchNet, variables: dict, fold: bool = True) -> Network:
    """The :class:`Network` of a Flax ``net`` and its ``variables`` (BatchNorm folded when ``fold``); its
    ``resize`` clones ``net`` with another ``search_size`` over the same arrays (no weight depends on it)."""
    return module_network(net, inference_variables(net, variables, fold))


def module_network(net: TrackerNet | AutoMatchNet, params: dict) -> Network:
    """The :class:`Network` of a Flax ``net`` over ready inference ``params`` (see :func:`flax_network`)."""

    def resize(size: int) -> Network:
        other = net.clone(search_size=size)
        try:
            other.geometry  # noqa: B018  (checks the crop sizes against the backbone)
        except ValueError as exc:
            raise AutomatchError(str(exc)) from None
        return module_network(other, params)

    return Network(
        geometry=net.geometry,
        template=lambda params, z, z_box: template(net, params, z, z_box),
        track=lambda params, exemplar, x: predict(net, params, exemplar, x),
        params=params,
        module=net,
        rescore=(lambda params, features, boxes: rescore(net, params, features, boxes))
        if isinstance(net, AutoMatchNet) else None,
        resize=resize,
    )


def checkpoint_network(checkpoint: TrackerCheckpoint, dtype: str | None = None) -> TrackerNet | AutoMatchNet:
    """The checkpoint's network, computing in ``dtype`` (``float32`` | ``bfloat16`` | ``float16``; default: the
    checkpoint's), once its config is valid and its weights fit it: one :class:`CheckpointError` line otherwise."""
    model = dict(checkpoint.model)
    if dtype is not None:
        named_dtype(dtype)  # a bad ``dtype`` is the caller's error, named as such, not the checkpoint's
        model["dtype"] = dtype
    try:
        net = build_network(model)
        z, z_box, x = example_inputs(net)  # also checks the crop geometry
    except (AutomatchError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {checkpoint.name}: invalid model config ({exc})") from None
    expected = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), z, z_box, x))
    got = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), jnp.float32), checkpoint.variables)
    same_tree = jax.tree_util.tree_structure(expected) == jax.tree_util.tree_structure(got)
    if not same_tree or any(
        a.shape != b.shape
        for a, b in zip(jax.tree_util.tree_leaves(expected), jax.tree_util.tree_leaves(got), strict=True)
    ):
        raise CheckpointError(f"checkpoint {checkpoint.name}: its weights do not fit its model config")
    return net
