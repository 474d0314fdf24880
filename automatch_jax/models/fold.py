"""BatchNorm folding for inference: every BatchNorm that directly follows a convolution is folded into it.

At inference BatchNorm is the per-channel affine map ``y = (x - mean) * s + beta`` with
``s = scale / sqrt(var + eps)``. After a convolution ``x = conv(u, K) [+ b]`` that is the same as
``y = conv(u, K * s) + b * s + (beta - mean * s)``: the convolution's kernel absorbs the scale and the BatchNorm
shrinks to a bias add, which compilers fuse with the following activation (XLA CPU: one elementwise pass less
arithmetic; GPU: convolution + bias + activation epilogues).

Which BatchNorm follows which convolution is read off the network itself, not off a table of names: one abstract
trace (:func:`jax.eval_shape`) records each module call's output, and a BatchNorm is folded when its input is
exactly the output of a convolution (:func:`is_convolution`) holding one kernel. Any other BatchNorm is left as
it was. The one assumption: such a convolution's output feeds nothing but its BatchNorm (true of every network
here: ResNet-50, EfficientNet-Lite, the tiny backbone, the neck and the heads' towers; tests check each).

    folded = fold_batchnorm(lambda: net.apply(variables, *example_inputs), variables)
    with folded_batchnorm():
        out = net.apply(folded, *inputs)        # equal to net.apply(variables, *inputs) up to rounding

The folded tree keeps the original structure except that a folded BatchNorm holds only ``params/.../bias`` (the
fused shift) and no ``batch_stats``; :func:`folded_batchnorm` makes such BatchNorms add that bias and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import flax.linen as nn
import jax
import numpy as np


def _path(module: nn.Module) -> tuple[str, ...]:
    return tuple(module.scope.path)


def _subtree(tree: dict, path: tuple[str, ...]) -> dict | None:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _kernel_path(params: dict, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The path of the single ``kernel`` leaf under ``path`` (a convolution module, or one wrapping exactly one)."""
    sub = _subtree(params, path)
    if not isinstance(sub, dict):
        return None
    found = [p for p, _ in jax.tree_util.tree_flatten_with_path(sub)[0] if p[-1].key == "kernel"]
    if len(found) != 1:
        return None
    return path + tuple(k.key for k in found[0][:-1])


def is_convolution(module: nn.Module) -> bool:
    """Whether ``module``'s output is linear in its one kernel, output channels last: ``nn.Conv``, ``nn.Dense``, or a
    module that says so with a true class attribute ``FOLDABLE`` (a convolution computed another way)."""
    return isinstance(module, nn.Conv | nn.Dense) or bool(getattr(module, "FOLDABLE", False))


def batchnorm_pairs(trace: Callable[[], Any], params: dict) -> dict[tuple[str, ...], tuple[tuple[str, ...], float]]:
    """``{batchnorm path: (convolution module path, the BatchNorm's epsilon)}`` for every BatchNorm whose input is
    a convolution's output, found by tracing ``trace`` (a function applying the network) abstractly."""
    producers: dict[int, tuple[str, ...]] = {}
    pairs: dict[tuple[str, ...], tuple[tuple[str, ...], float]] = {}
    keep: list = []  # keeps traced outputs alive so that their ids stay unique during the trace

    def record(next_fun, args, kwargs, context):
        module = context.module
        calling = context.method_name == "__call__"
        if calling and isinstance(module, nn.BatchNorm) and args and id(args[0]) in producers:
            pairs[_path(module)] = (producers[id(args[0])], float(module.epsilon))
        out = next_fun(*args, **kwargs)
        if calling and is_convolution(module) and hasattr(out, "shape") and id(out) not in producers:
            conv = _kernel_path(params, _path(module))
            if conv is not None:
                producers[id(out)] = conv
                keep.append(out)
        return out

    with folded_batchnorm(), nn.intercept_methods(record):  # folded BatchNorms (if any) run as bias adds
        jax.eval_shape(trace)
    return pairs


def fold_batchnorm(trace: Callable[[], Any], variables: dict) -> dict:
    """``variables`` with each BatchNorm that follows a convolution folded into it (see the module docstring).

    ``trace``: a function without arguments that applies the network to example inputs with ``variables`` (only
    traced abstractly, never run). The result is meant for :func:`folded_batchnorm` inference, not for training.
    Folding folded variables changes nothing.
    """
    params = _plain(variables["params"])
    stats = _plain(variables.get("batch_stats", {}))
    for bn_path, (conv_path, epsilon) in batchnorm_pairs(trace, variables["params"]).items():
        bn, bn_stats, conv = _subtree(params, bn_path), _subtree(stats, bn_path), _subtree(params, conv_path)
        if bn_stats is None:  # folded already
            continue
        s = bn.get("scale", 1.0) / np.sqrt(bn_stats["var"] + epsilon)  # use_scale / use_bias may be off
        shift = bn.get("bias", 0.0) - bn_stats["mean"] * s
        if "bias" in conv:  # the module still adds its own bias: scale it with the kernel
            conv["bias"] = (conv["bias"] * s).astype(np.float32)
        conv["kernel"] = (conv["kernel"] * s).astype(np.float32)
        bn.clear()
        bn["bias"] = shift.astype(np.float32)
        _drop(stats, bn_path)
    folded = {k: v for k, v in variables.items() if k not in ("params", "batch_stats")}
    folded["params"] = params
    if stats:
        folded["batch_stats"] = stats
    return folded


def _plain(tree: Any) -> Any:
    """A mutable copy: nested plain dicts of float numpy arrays."""
    if hasattr(tree, "items"):
        return {k: _plain(v) for k, v in tree.items()}
    return np.asarray(tree)


def _drop(tree: dict, path: tuple[str, ...]) -> None:
    """Removes ``path`` from ``tree`` and the dictionaries it leaves empty."""
    parents = [tree]
    for key in path[:-1]:
        parents.append(parents[-1][key])
    parents[-1].pop(path[-1])
    for parent, key in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
        if not parent[key]:
            parent.pop(key)


@contextlib.contextmanager
def folded_batchnorm() -> Iterator[None]:
    """Within this context a BatchNorm without running statistics (one :func:`fold_batchnorm` folded) adds its
    ``bias`` and does nothing else; every other module runs unchanged."""

    def intercept(next_fun, args, kwargs, context):
        module = context.module
        if (isinstance(module, nn.BatchNorm) and context.method_name == "__call__"
                and not module.has_variable("batch_stats", "mean")):
            x = args[0]
            return x + module.get_variable("params", "bias").astype(module.dtype or x.dtype)
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(intercept):
        yield


def apply_folded(module: nn.Module, variables: dict, *args: Any, **kwargs: Any) -> Any:
    """``module.apply(variables, *args, **kwargs)`` under :func:`folded_batchnorm` (``variables`` folded or not)."""
    with folded_batchnorm():
        return module.apply(variables, *args, **kwargs)
