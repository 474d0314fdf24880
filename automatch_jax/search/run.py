"""The search driver behind ``automatch search``: BCM search cells in both branches of either architecture's network
(``config.search.space``, by default every operator of ``model.arch``), bilevel optimisation on the
training and validation splits of the configured data, on :class:`~automatch_jax.train.runner.Runner` (every
local device, every host of a ``jax.distributed`` job, resumable).

Files (``ARCH.json`` is the ``--out`` path)::

    ARCH.json                  the result (:mod:`automatch_jax.search.arch`): kept operators, potentials, history
    ARCH.png                   potentials over the search, one panel per branch
    ARCH_search/checkpoints/   orbax checkpoints of the search state and the data streams' positions
    ARCH_search/history.jsonl  potentials and switched-on channels per operator, every ``log_every`` steps
    ARCH_search/metrics.jsonl  losses, rates, potentials per logged step (and ARCH_search/tensorboard/)

``ARCH.json`` feeds ``automatch train --config CONFIG --arch ARCH.json``, which trains the found network from scratch.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections

from automatch_jax.data.imagery import Imagery
from automatch_jax.models.bcm import ARCH
from automatch_jax.search.arch import (
    BRANCHES,
    branch_summary,
    build_arch,
    history_entry,
    random_architecture,
    write_arch,
)
from automatch_jax.search.bilevel import SearchState, make_search_step
from automatch_jax.search.model import search_network, search_optimizers, tracker_search_loss
from automatch_jax.search.plots import plot_potentials
from automatch_jax.train.config import search_space, validate_config
from automatch_jax.train.runner import (
    JsonLog,
    Runner,
    RunPlan,
    init_variables,
    local_batch_size,
    pair_loaders,
    start_distributed,
    stop_step,
    unreplicate,
)
from automatch_jax.train.step import AXIS


def search(config: ml_collections.ConfigDict, out: Path, max_steps: int | None = None,
           imagery: Imagery | None = None, progress: bool = True) -> dict:
    """Runs (or resumes) the search of ``config`` and writes ``out`` (ARCH.json) and its plot; returns the result.
    In a multi-host job every process calls this with the same arguments; the first writes the files."""
    validate_config(config, "search")  # also search.order: one of search.bilevel.ORDERS (SEARCH_ORDERS)
    sc = config.search
    total = int(sc.steps)
    stop = stop_step("search", total, max_steps)
    start_distributed()
    out = Path(out).absolute()
    chief = jax.process_index() == 0
    if sc.get("random", False):
        result = random_architecture(config)
        if chief:
            write_arch(out, result)
        return result
    work = out.parent / f"{out.stem}_search"
    local_batch = local_batch_size("search", sc.batch_size)
    space = search_space(config)

    net = search_network(config)
    tx, arch_tx, schedule = search_optimizers(sc)
    variables = init_variables(net, config, sc.seed)
    state = SearchState(jnp.zeros((), jnp.int32), variables["params"], variables["batch_stats"], variables[ARCH],
                        tx.init(variables["params"]), arch_tx.init(variables[ARCH]))
    loader, val_loader = pair_loaders(config, net.geometry, imagery, local_batch, sc.seed, sc.workers, progress)
    search_step = jax.pmap(make_search_step(tracker_search_loss(net, dict(config.loss)), tx, arch_tx, sc.order,
                                            schedule, AXIS), axis_name=AXIS, donate_argnums=0)
    devices, hosts = jax.local_device_count(), jax.process_count()

    def step(k: int, state: SearchState, batch: dict, val_batch: dict):
        # one key per device of the job; this process's devices take their slice
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(sc.seed), k), devices * hosts)
        return search_step(state, batch, val_batch, keys[jax.process_index() * devices:][:devices])

    plan = RunPlan(name=f"search ({sc.order} order)", section="search", total=total, stop=stop,
                   log_every=sc.log_every, checkpoint_every=sc.checkpoint_every,
                   diverged="lower search.lr or search.arch_lr", postfix=("loss", "val_loss"), progress=progress)
    with Runner(work, plan, {"train": loader, "validation": val_loader}) as runner:
        state, start = runner.restore(state)
        history = JsonLog(work / "history.jsonl", start, enabled=chief)
        if not history.entries:  # the starting point of the curves
            history.append(history_entry(0, jax.device_get(state.arch)))

        def log(done: int, state: SearchState, values: dict) -> dict[str, float]:
            entry = history_entry(done, unreplicate(state.arch))
            history.append(entry)
            return {f"potential/{b}/{op}": entry[b][i] for b in BRANCHES for i, op in enumerate(space)}

        final = runner.run(state, start, step, log)

    result = build_arch(config, "bcm", branch_summary(final.arch, space, sc.keep), arch=final.arch,
                        history=history.entries, steps=stop, devices=jax.device_count(), seconds=runner.seconds,
                        seconds_per_step=runner.seconds_per_step)
    if chief:
        write_arch(out, result)
        plot_potentials(result, out.with_suffix(".png"))
    return result
