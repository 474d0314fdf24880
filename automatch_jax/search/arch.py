"""``ARCH.json``: what a search found, in one schema for the BCM search and its random ablation.

Schema (``format`` ``automatch-arch``, ``version`` 1)::

    config, arch (model.arch: "automatch" | "ocean"), method ("bcm" | "random"),
    space (the operators searched, in order), keep,
    settings          {batch_size, seed, lr, final_lr, weight_decay, arch_lr, arch_weight_decay, tau, noise, init}
    order, scalar     the bilevel order and the per-operator ablation (order None for "random")
    steps, planned_steps, devices, seconds, seconds_per_step      (0 / None for "random")
    cls, reg          per branch: operators (the kept ones, in the space's order), potentials {op: p},
                      channels_on {op: channels whose manipulator is > 0}   (empty dicts for "random")
    manipulators      per branch: the final (m, C) manipulators   (empty for "random")
    history           [{step, cls: [p per op], reg: [...], cls_on: [channels on per op], reg_on: [...]}]

:func:`load_arch` reads any file with ``format``, ``version`` and both branches' ``operators`` (the rest is a record
of the search; a file without ``arch`` may name the operators of either architecture); :func:`apply_arch` puts the
found operators into a config of the same architecture for ``automatch train --arch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ml_collections
import numpy as np

from automatch_jax.errors import AutomatchError
from automatch_jax.models.bcm import MANIPULATORS, potentials, top_operators
from automatch_jax.models.config import ARCHITECTURES, architecture_operators, model_arch
from automatch_jax.train.config import ALL_OPERATORS, check_keep, search_space

ARCH_FORMAT = "automatch-arch"
ARCH_VERSION = 1
BRANCHES = ("cls", "reg")
# search settings written into the result, so that an ARCH.json says how it was searched
SETTINGS_RECORDED = ("batch_size", "seed", "lr", "final_lr", "weight_decay", "arch_lr", "arch_weight_decay", "tau",
                     "noise", "init")


def branch_manipulators(arch: Mapping[str, Any], branch: str) -> np.ndarray:
    """The (m, C) (or (m, 1) in scalar mode) manipulators of ``branch`` in the ``"arch"`` collection: TrackerNet's
    ``{branch}_matching`` is the search cell, AutoMatchNet's holds it as ``cell``."""
    matching = arch[f"{branch}_matching"]
    return np.asarray((matching if MANIPULATORS in matching else matching["cell"])[MANIPULATORS])


def branch_summary(arch: Mapping[str, Any], space: Sequence[str], keep: int) -> dict[str, dict]:
    """Per branch: the ``keep`` operators of largest potential, every potential, the channels switched on."""
    summary = {}
    for branch in BRANCHES:
        w = branch_manipulators(arch, branch)
        summary[branch] = {
            "operators": list(top_operators(w, tuple(space), keep)),
            "potentials": {op: float(p) for op, p in zip(space, potentials(w), strict=True)},
            "channels_on": {op: int(n) for op, n in zip(space, (w > 0).sum(axis=-1), strict=True)},
        }
    return summary


def history_entry(step: int, arch: Mapping[str, Any]) -> dict:
    """One line of the search history: per branch the potential and the channels on of every operator (in the
    search space's order)."""
    entry: dict[str, Any] = {"step": int(step)}
    for branch in BRANCHES:
        w = branch_manipulators(arch, branch)
        entry[branch] = [float(p) for p in potentials(w)]
        entry[f"{branch}_on"] = [int(n) for n in (w > 0).sum(axis=-1)]
    return entry


def build_arch(config: ml_collections.ConfigDict, method: str, branches: Mapping[str, dict], *,
               arch: Mapping[str, Any] | None = None, history: Sequence[dict] = (), steps: int = 0,
               devices: int = 0, seconds: float = 0.0, seconds_per_step: float | None = None) -> dict:
    """The ``ARCH.json`` result (see the module doc) of a search of ``config`` by ``method``: ``branches`` is
    :func:`branch_summary`'s dict (or the chosen operators with empty potentials), ``arch`` the final manipulators
    (None for the random ablation)."""
    sc = config.search
    return {
        "format": ARCH_FORMAT, "version": ARCH_VERSION, "config": config.get("name", ""),
        "arch": model_arch(config.model), "method": method,
        "space": list(search_space(config)), "keep": int(sc.keep),
        "settings": {key: sc[key] for key in SETTINGS_RECORDED},
        "order": sc.order if method == "bcm" else None, "scalar": bool(sc.scalar),
        "steps": int(steps), "planned_steps": int(sc.steps) if method == "bcm" else 0, "devices": int(devices),
        "seconds": round(float(seconds), 2), "seconds_per_step": seconds_per_step,
        **{branch: dict(branches[branch]) for branch in BRANCHES},
        "manipulators": {} if arch is None else {b: branch_manipulators(arch, b).round(5).tolist() for b in BRANCHES},
        "history": list(history),
    }


def random_architecture(config: ml_collections.ConfigDict, seed: int | None = None) -> dict:
    """The paper's random-search ablation: ``search.keep`` operators per branch drawn uniformly (seeded), no
    training."""
    sc = config.search
    space = search_space(config)
    check_keep(sc.keep, space)
    rng = np.random.default_rng(sc.seed if seed is None else seed)
    branches = {}
    for branch in BRANCHES:
        chosen = sorted(rng.choice(len(space), size=sc.keep, replace=False).tolist())
        branches[branch] = {"operators": [space[i] for i in chosen], "potentials": {}, "channels_on": {}}
    result = build_arch(config, "random", branches)
    if seed is not None:
        result["settings"]["seed"] = int(seed)
    return result


def write_arch(path: Path, result: Mapping[str, Any]) -> Path:
    """Writes ``result`` to ``path`` (JSON) and returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return path


def load_arch(path: Path | str) -> dict:
    """An ``ARCH.json`` written by ``automatch search``; a clear error for a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise AutomatchError(f"{path}: architecture file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AutomatchError(f"{path}: not a JSON architecture file (corrupt or truncated)") from None
    if not isinstance(data, dict) or data.get("format") != ARCH_FORMAT:
        raise AutomatchError(f"{path}: not an automatch architecture file (no format {ARCH_FORMAT!r})")
    if data.get("version") != ARCH_VERSION:
        raise AutomatchError(f"{path}: architecture format version {data.get('version')}, expected {ARCH_VERSION}")
    arch = data.get("arch")
    if arch is not None and arch not in ARCHITECTURES:
        raise AutomatchError(f"{path}: arch {arch!r} is not one of {', '.join(ARCHITECTURES)}")
    known = ALL_OPERATORS if arch is None else architecture_operators(arch)
    for branch in BRANCHES:
        ops = data.get(branch, {}).get("operators") if isinstance(data.get(branch), dict) else None
        if not ops or any(op not in known for op in ops):
            raise AutomatchError(f"{path}: branch {branch!r} has no valid operator list ({ops!r})")
    return data


def apply_arch(config: ml_collections.ConfigDict, arch: Mapping[str, Any]) -> ml_collections.ConfigDict:
    """``config`` with the found operators as the matching networks of both branches; one line when ``arch``
    records an architecture other than ``config.model.arch``."""
    found, target = arch.get("arch"), model_arch(config.model)
    if found is not None and found != target:
        raise AutomatchError(f"architecture file searched a model.arch {found!r} network; the config builds "
                             f"{target!r} (train it with a config of model.arch {found!r})")
    config.model.cls_operators = tuple(arch["cls"]["operators"])
    config.model.reg_operators = tuple(arch["reg"]["operators"])
    return config
