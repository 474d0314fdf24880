"""The search driver behind ``automatch search``: BCM search cells in both branches, bilevel optimisation on the
training and validation splits of the configured data, data-parallel over every local device, resumable.

Files (``ARCH.json`` is the ``--out`` path)::

    ARCH.json                  the result: per branch the kept operators, every potential, the history, settings
    ARCH.png                   potentials over the search, one panel per branch
    ARCH_search/checkpoints/   orbax checkpoints of the search state (resume after a kill)
    ARCH_search/history.jsonl  potentials and switched-on channels per operator, every ``log_every`` steps

``ARCH.json`` feeds ``automatch train --config CONFIG --arch ARCH.json``, which trains the found network from scratch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
from tqdm import tqdm

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pairs import PairLoader
from automatch_jax.errors import AutomatchError
from automatch_jax.models.bcm import ARCH, MANIPULATORS, potentials, top_operators
from automatch_jax.models.config import build_network
from automatch_jax.models.geometry import make_targets
from automatch_jax.models.losses import tracking_loss
from automatch_jax.ops import OPERATOR_NAMES
from automatch_jax.search.bilevel import ORDERS, SearchState, make_search_step
from automatch_jax.train.loop import (
    MetricsLogger,
    compute_dtype,
    host_state_dict,
    init_variables,
    pair_loaders,
    replicate,
    restore_latest,
    shard_batch,
    unreplicate,
)
from automatch_jax.train.optim import parameter_labels
from automatch_jax.train.step import AXIS

ARCH_FORMAT = "automatch-arch"
# search settings written into the result, so that an ARCH.json says how it was searched
SETTINGS_RECORDED = ("batch_size", "seed", "lr", "final_lr", "weight_decay", "arch_lr", "arch_weight_decay", "tau",
                     "noise", "init")
ARCH_VERSION = 1
BRANCHES = ("cls", "reg")


def search_network(config: ml_collections.ConfigDict):
    """The config's network with a search cell over ``config.search.space`` in both branches."""
    sc = config.search
    space = tuple(sc.space)
    unknown = [op for op in space if op not in OPERATOR_NAMES]
    if unknown or len(space) < sc.keep:
        raise AutomatchError(f"search.space {space}: unknown operator or fewer than {sc.keep} operators")
    net = build_network(config.model)
    return net.clone(search_cell=True, cls_operators=space, reg_operators=space, search_scalar=bool(sc.scalar),
                     search_tau=float(sc.tau), search_noise=float(sc.noise), search_init=float(sc.init),
                     freeze_backbone=bool(sc.freeze_backbone), dtype=compute_dtype(sc.get("dtype", "auto")))


def tracker_search_loss(net, loss_cfg: dict):
    """The bilevel loss of the tracker: ``(params, arch, batch_stats, batch, rng) -> (loss, (metrics, stats))``."""

    def loss(params, arch, batch_stats, batch, rng):
        targets = make_targets(net.geometry, batch["x_box"], batch["positive"], loss_cfg.get("radius", 0.5))
        out, updates = net.apply({"params": params, ARCH: arch, "batch_stats": batch_stats}, batch["z"],
                                 batch["z_box"], batch["x"], train=True, mutable=["batch_stats"],
                                 rngs={"gumbel": rng})
        total, metrics = tracking_loss(out, targets, loss_cfg.get("reg_weight", 1.0), loss_cfg.get("cls", "bce"),
                                       loss_cfg.get("iou", "log"))
        return total, (metrics, updates["batch_stats"])

    return loss


def search_optimizers(sc: ml_collections.ConfigDict) -> tuple[optax.GradientTransformation,
                                                              optax.GradientTransformation, optax.Schedule]:
    """(weights' SGD with exponential decay ``lr -> final_lr``, frozen backbone untouched; manipulators' Adam with
    L2 as in DARTS; the weights' schedule, also the inner step's rate)."""
    schedule = optax.exponential_decay(sc.lr, max(sc.steps, 1), sc.final_lr / sc.lr)
    sgd = optax.chain(optax.clip_by_global_norm(sc.grad_clip), optax.add_decayed_weights(sc.weight_decay),
                      optax.sgd(schedule, momentum=sc.momentum))
    backbone = optax.set_to_zero() if sc.freeze_backbone else sgd
    tx = optax.multi_transform({"head": sgd, "backbone": backbone}, parameter_labels)
    arch_tx = optax.chain(optax.add_decayed_weights(sc.arch_weight_decay),
                          optax.adam(sc.arch_lr, b1=sc.arch_b1, b2=sc.arch_b2))
    return tx, arch_tx, schedule


def _branch_summary(arch: dict, space: tuple[str, ...], keep: int) -> dict:
    summary = {}
    for branch in BRANCHES:
        w = np.asarray(arch[f"{branch}_matching"][MANIPULATORS])
        p = potentials(w)
        summary[branch] = {
            "operators": list(top_operators(w, space, keep)),
            "potentials": {op: float(v) for op, v in zip(space, p, strict=True)},
            "channels_on": {op: int(n) for op, n in zip(space, (w > 0).sum(axis=-1), strict=True)},
        }
    return summary


def _history_entry(step: int, arch: dict, space: tuple[str, ...], keep: int) -> dict:
    summary = _branch_summary(arch, space, keep)
    return {"step": step, **{b: [summary[b]["potentials"][op] for op in space] for b in BRANCHES},
            **{f"{b}_on": [summary[b]["channels_on"][op] for op in space] for b in BRANCHES}}


def random_architecture(config: ml_collections.ConfigDict, seed: int | None = None) -> dict:
    """The paper's random-search ablation: two operators per branch drawn uniformly (seeded), no training."""
    sc = config.search
    space = tuple(sc.space)
    rng = np.random.default_rng(sc.seed if seed is None else seed)
    result = {"format": ARCH_FORMAT, "version": ARCH_VERSION, "config": config.get("name", ""), "method": "random",
              "seed": int(sc.seed if seed is None else seed), "space": list(space), "history": []}
    for branch in BRANCHES:
        chosen = sorted(rng.choice(len(space), size=sc.keep, replace=False).tolist())
        result[branch] = {"operators": [space[i] for i in chosen], "potentials": {}, "channels_on": {}}
    return result


def search(config: ml_collections.ConfigDict, out: Path, max_steps: int | None = None,
           imagery: Imagery | None = None, progress: bool = True) -> dict:
    """Runs (or resumes) the search of ``config`` and writes ``out`` (ARCH.json) and its plot; returns the result."""
    sc = config.search
    out = Path(out).absolute()
    if sc.order not in ORDERS:
        raise AutomatchError(f"search.order {sc.order!r} unknown; known: {', '.join(ORDERS)}")
    if sc.get("random", False):
        result = random_architecture(config)
        write_arch(out, result)
        return result
    work = out.parent / f"{out.stem}_search"
    work.mkdir(parents=True, exist_ok=True)
    devices, hosts = jax.local_device_count(), jax.process_count()
    if sc.batch_size % (devices * hosts):
        raise AutomatchError(f"search.batch_size {sc.batch_size} is not divisible by {devices * hosts} devices")
    total = int(sc.steps)
    stop = min(total, max_steps) if max_steps is not None else total
    space = tuple(sc.space)

    net = search_network(config)
    tx, arch_tx, schedule = search_optimizers(sc)
    variables = init_variables(net, config, sc.seed)
    state = SearchState(jnp.zeros((), jnp.int32), variables["params"], variables["batch_stats"], variables[ARCH],
                        tx.init(variables["params"]), arch_tx.init(variables[ARCH]))
    manager = ocp.CheckpointManager(work / "checkpoints", options=ocp.CheckpointManagerOptions(max_to_keep=2))
    state, start = restore_latest(manager, state)
    history_path = work / "history.jsonl"
    history = [json.loads(line) for line in history_path.read_text().splitlines()] if history_path.is_file() else []
    history = [h for h in history if h["step"] <= start]
    if not history:  # the starting point of the curves
        history = [_history_entry(0, jax.device_get(state.arch), space, sc.keep)]
    history_path.write_text("".join(json.dumps(h) + "\n" for h in history))

    loader, val_loader = pair_loaders(config, net.geometry, imagery, sc.batch_size // hosts, sc.seed, sc.workers,
                                      progress)

    step_fn = jax.pmap(make_search_step(tracker_search_loss(net, dict(config.loss)), tx, arch_tx, sc.order, schedule,
                                        AXIS), axis_name=AXIS, donate_argnums=0)
    state = replicate(state, devices)
    chief = jax.process_index() == 0
    logger = MetricsLogger(work, chief)
    bar = tqdm(total=stop, initial=start, desc=f"search ({sc.order} order)", unit="step",
               disable=not (progress and chief))
    began, timed_from = time.perf_counter(), None
    try:
        for step, (batch, val_batch) in zip(range(start, stop), _pairs(loader, val_loader, start, stop),
                                            strict=False):
            keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(sc.seed), step), devices)
            state, metrics = step_fn(state, shard_batch(batch, devices), shard_batch(val_batch, devices), keys)
            done = step + 1
            bar.update(1)
            if timed_from is None:
                jax.block_until_ready(metrics)
                timed_from = (time.perf_counter(), done)
            if done % sc.log_every == 0 or done == stop:
                values = {k: float(v[0]) for k, v in metrics.items()}
                arch = unreplicate(state.arch)
                entry = _history_entry(done, arch, space, sc.keep)
                if chief:
                    with history_path.open("a") as handle:
                        handle.write(json.dumps(entry) + "\n")
                history.append(entry)
                logger.log(done, {**values, **{f"potential/{b}/{op}": entry[b][i]
                                               for b in BRANCHES for i, op in enumerate(space)}})
                bar.set_postfix(loss=f"{values['loss']:.3f}", val=f"{values['val_loss']:.3f}")
                if not np.isfinite(values["loss"]):
                    raise AutomatchError(f"search diverged at step {done}; lower search.lr or search.arch_lr")
            if done % sc.checkpoint_every == 0 or done == stop:
                manager.save(done, args=ocp.args.StandardSave(host_state_dict(state)))
        manager.wait_until_finished()
    finally:
        bar.close()
        logger.close()
        loader.close()
        val_loader.close()
        manager.close()

    arch = unreplicate(state.arch)
    elapsed = time.perf_counter() - began
    per_step = None
    if timed_from is not None and stop - timed_from[1] > 0:
        per_step = (time.perf_counter() - timed_from[0]) / (stop - timed_from[1])
    result = {"format": ARCH_FORMAT, "version": ARCH_VERSION, "config": config.get("name", ""), "method": "bcm",
              "order": sc.order, "scalar": bool(sc.scalar), "steps": int(stop), "planned_steps": total,
              "settings": {k: sc[k] for k in SETTINGS_RECORDED},
              "space": list(space), "devices": devices * hosts, "seconds": round(elapsed, 2),
              "seconds_per_step": per_step, **_branch_summary(arch, space, sc.keep),
              "manipulators": {b: np.asarray(arch[f"{b}_matching"][MANIPULATORS]).round(5).tolist()
                               for b in BRANCHES},
              "history": history}
    if chief:
        write_arch(out, result)
        plot_potentials(result, out.with_suffix(".png"))
    return result


def _pairs(loader: PairLoader, val_loader: PairLoader, start: int, stop: int):
    for (_, batch), (_, val_batch) in zip(loader.iterate(start, stop), val_loader.iterate(start, stop), strict=True):
        yield batch, val_batch


def write_arch(path: Path, result: dict) -> Path:
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
    for branch in BRANCHES:
        ops = data.get(branch, {}).get("operators")
        if not ops or any(op not in OPERATOR_NAMES for op in ops):
            raise AutomatchError(f"{path}: branch {branch!r} has no valid operator list ({ops!r})")
    return data


def apply_arch(config: ml_collections.ConfigDict, arch: dict) -> ml_collections.ConfigDict:
    """``config`` with the found operators as the matching networks of both branches."""
    config.model.cls_operators = tuple(arch["cls"]["operators"])
    config.model.reg_operators = tuple(arch["reg"]["operators"])
    return config


def plot_potentials(result: dict, path: Path) -> Path | None:
    """Potentials over the search steps, one panel per branch (PNG); None without history."""
    history = result.get("history") or []
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, branch in zip(axes, BRANCHES, strict=True):
        values = np.array([h[branch] for h in history])
        for i, op in enumerate(result["space"]):
            kept = op in result[branch]["operators"]
            ax.plot(steps, values[:, i], label=op + (" (kept)" if kept else ""), linewidth=2.2 if kept else 1.0)
        ax.set_title(f"{branch} branch")
        ax.set_xlabel("search step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("potential  sum_j sigmoid(w_ij)")
    axes[1].legend(fontsize=8, loc="best")
    fig.suptitle(f"BCM search, {result.get('order', '')} order ({result.get('config', '')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
