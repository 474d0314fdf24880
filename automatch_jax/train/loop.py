"""``train()``: the tracker's training run on :class:`~automatch_jax.train.runner.Runner`, ending in a tracker
checkpoint.

Out folder::

    OUT/checkpoints/<step>/   orbax checkpoints of the whole train state and the data stream's position
                              (every ``checkpoint_every`` steps, the last 2)
    OUT/metrics.jsonl         one JSON line per logged step (loss, cls_loss, reg_loss, grad_norm, lr, steps_per_s,
                              val_*)
    OUT/tensorboard/          the same scalars for TensorBoard
    OUT/model/                the final tracker checkpoint (``automatch track --model OUT/model``)

Resuming: the state (parameters, BatchNorm statistics, optimiser moments, step) comes from the latest
checkpoint; the learning rate is a function of the step and batch ``k`` is a pure function of ``(seed, k)``, so a
resumed run continues with the same next batch and the same learning rate as the uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from automatch_jax.data.imagery import Imagery
from automatch_jax.models.checkpoint import TrackerCheckpoint, save_checkpoint
from automatch_jax.models.config import build_network, named_dtype
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.train.config import validate_config
from automatch_jax.train.optim import learning_rate, make_optimizer
from automatch_jax.train.runner import (
    Runner,
    RunPlan,
    data_sources,
    init_variables,
    local_batch_size,
    pair_loaders,
    pairs_before,
    start_distributed,
    stop_step,
    to_devices,
)
from automatch_jax.train.step import AXIS, TrainState, make_eval_step, make_train_step

VALIDATION_KEYS = ("loss", "cls_loss", "reg_loss")


def train(
    config: ml_collections.ConfigDict,
    out: Path,
    max_steps: int | None = None,
    imagery: Imagery | None = None,
    progress: bool = True,
) -> Path:
    """Train ``config`` into ``out`` (resuming if ``out`` holds checkpoints); returns the tracker checkpoint path.

    ``max_steps`` stops early (the schedule still spans ``config.train.steps``, so a stopped run resumes exactly).
    In a multi-host job every process calls this with the same arguments.
    """
    validate_config(config, "train")
    tc = config.train
    total = int(tc.steps)
    stop = stop_step("train", total, max_steps)
    start_distributed()
    out = Path(out).absolute()
    local_batch = local_batch_size("train", tc.batch_size)

    net = build_network(config.model)
    net = net.clone(dtype=named_dtype(tc.get("dtype", "auto"), "train.dtype", auto=True))
    tx = make_optimizer(tc, total, config.model.backbone)
    variables = init_variables(net, config, tc.seed)
    state = TrainState(jnp.zeros((), jnp.int32), variables["params"], variables["batch_stats"],
                       tx.init(variables["params"]))
    loader, val_loader = pair_loaders(config, net.geometry, imagery, local_batch, tc.seed, tc.workers, progress)
    try:
        val_batches = [to_devices(batch) for _, batch in val_loader.iterate(0, tc.eval_batches)]
    finally:
        val_loader.close()

    loss_cfg = dict(config.loss)
    frozen_step = jax.pmap(make_train_step(net.clone(freeze_backbone=True), tx, loss_cfg), axis_name=AXIS,
                           donate_argnums=0)
    # no backward pass through the backbone's units that stay frozen
    fine_tuned = net.clone(trunk_frozen_units=int(tc.get("frozen_units", 0)))
    full_step = jax.pmap(make_train_step(fine_tuned, tx, loss_cfg), axis_name=AXIS, donate_argnums=0)
    eval_step = jax.pmap(make_eval_step(net, loss_cfg), axis_name=AXIS)
    schedule = learning_rate(tc, total)

    def step(k: int, state: TrainState, batch: dict):
        return (frozen_step if k < tc.unfreeze_step else full_step)(state, batch)

    def log(done: int, state: TrainState, values: dict) -> dict[str, float]:
        extra = {"lr": float(schedule(done - 1))}
        if done % tc.eval_every == 0 or done == stop:  # every process evaluates: the step is a collective
            val = [eval_step(state, b) for b in val_batches]
            extra.update({f"val_{key}": float(np.mean([float(v[key][0]) for v in val])) for key in VALIDATION_KEYS})
        return extra

    plan = RunPlan(name=config.get("name", "train"), section="train", total=total, stop=stop,
                   log_every=tc.log_every, checkpoint_every=tc.checkpoint_every, diverged="lower train.lr",
                   postfix=("loss", "lr"), progress=progress)
    with Runner(out, plan, {"train": loader}) as runner:
        state, start = runner.restore(state)
        final = runner.run(state, start, step, log)

    model_dir = out / "model"
    before = pairs_before(config)
    info = {"config": config.get("name", ""), "steps": int(final.step), "planned_steps": total,
            "batch_size": tc.batch_size, "pairs": before + int(final.step) * tc.batch_size,
            **({"init_from": {"checkpoint": str(config.init_from), "pairs": before}} if before else {}),
            "devices": jax.device_count(),
            "data": {name: float(spec.get("weight", 1.0)) for name, spec in data_sources(config).items()}}
    # the weights are saved in float32; the model's dtype is the compute dtype they were trained with
    model = {**dict(config.model), "dtype": jnp.dtype(net.dtype).name}
    save_checkpoint(model_dir, TrackerCheckpoint(  # collective: every process enters orbax's save
        name=config.get("name", "automatch"), model=model,
        variables={"params": final.params, "batch_stats": final.batch_stats},
        settings=TrackerSettings.from_dict(dict(config.get("inference", {}))), info=info))
    return model_dir
