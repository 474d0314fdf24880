"""The one loop behind ``automatch train`` and ``automatch search``: data-parallel over every local device
(``pmap``), multi-host through ``jax.distributed``, resumable exactly after a kill.

A run supplies its state (a Flax struct with a ``step`` field), a pure step function and what it logs; the runner
owns the rest::

    start_distributed()                                  # join a multi-host job when the environment asks
    plan = RunPlan(...)                                  # steps, stop, cadences
    with Runner(work, plan, {"train": loader}) as runner:
        state, start = runner.restore(state)            # the latest checkpoint (checked against the state first)
        state = runner.run(state, start, step, log)     # -> the final state, on the host
    leave_distributed()                                  # the CLI's exit: every process at the shutdown barrier

Work folder::

    WORK/checkpoints/<step>/   orbax: ``state`` (the whole state) and ``data`` (the loaders' positions, JSON)
    WORK/metrics.jsonl         one JSON line per logged step
    WORK/tensorboard/          the same scalars for TensorBoard

Every process of a multi-host job enters every collective: the steps, the checkpoint saves (orbax writes
collectively; only the first process writes files that are not arrays) and the final checks. Only the first
process writes logs and shows progress. A resumed run drops the log lines past its checkpoint (they are logged
again), so ``metrics.jsonl`` never repeats a step. SIGTERM (a pre-emption) stops the run at a step every process
agrees on, with a checkpoint there, and raises :class:`RunStopped`; under ``jax.distributed`` a SIGTERM to any one
process stops them all. A process that dies ends the others within about ``AUTOMATCH_HEARTBEAT_S`` seconds
(:func:`start_distributed`), and restarting every process with the same command resumes the job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from tqdm import tqdm

from automatch_jax.data.imagery import Imagery
from automatch_jax.data.pair_sources import IMAGERY_SOURCES, build_source
from automatch_jax.data.pairs import PairConfig, PairLoader
from automatch_jax.errors import AutomatchError
from automatch_jax.models.backbones import pretrained_backbone_variables
from automatch_jax.models.checkpoint import load_checkpoint, load_manifest
from automatch_jax.models.tracker_net import example_inputs

PREFETCH = 2  # batches placed on the devices ahead of the step that uses them
STATE, DATA = "state", "data"  # the items of a run checkpoint


class RunStopped(AutomatchError):
    """The run was asked to stop (SIGTERM) and saved a checkpoint where it stopped; the same command resumes."""

    exit_code = 128 + signal.SIGTERM


# --- joining a job and splitting its work -----------------------------------------------------------------------


# seconds (environment variable, default) that bound a multi-host job's waits on its processes: joining the job,
# a process gone silent (killed, crashed, its host lost: every other process then exits non-zero instead of waiting
# in a collective), and the final barrier of a finishing job
DISTRIBUTED_TIMEOUTS = {
    "initialization_timeout": ("AUTOMATCH_INIT_TIMEOUT_S", 300),
    "heartbeat_timeout_seconds": ("AUTOMATCH_HEARTBEAT_S", 60),
    "shutdown_timeout_seconds": ("AUTOMATCH_SHUTDOWN_TIMEOUT_S", 120),
}


def distributed_timeouts() -> dict[str, int]:
    """``jax.distributed.initialize``'s time bounds in seconds (:data:`DISTRIBUTED_TIMEOUTS`, each overridden by
    its environment variable); an :class:`AutomatchError` for a value that is not a whole number of seconds >= 1."""
    bounds = {}
    for argument, (variable, default) in DISTRIBUTED_TIMEOUTS.items():
        text = os.environ.get(variable, "").strip()
        try:
            bounds[argument] = int(text) if text else default
        except ValueError:
            bounds[argument] = 0
        if bounds[argument] < 1:
            raise AutomatchError(f"{variable}={text!r} is not a whole number of seconds >= 1")
    return bounds


def start_distributed() -> None:
    """Join a multi-host job when asked (see ``launch/multi_host.sh``): ``AUTOMATCH_DISTRIBUTED=1`` (TPU pods and
    SLURM are detected by JAX) or ``JAX_COORDINATOR_ADDRESS`` with ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``.
    Collectives between CPU processes go through gloo (``jax_cpu_collectives_implementation``).

    Every wait on the other processes is bounded (:func:`distributed_timeouts`): when a process dies, the job's
    coordination service misses its heartbeats for ``AUTOMATCH_HEARTBEAT_S`` seconds (60) and then ends every
    other process (JAX aborts it: exit status 134), wherever it waits; ``AUTOMATCH_INIT_TIMEOUT_S`` (300) bounds
    the wait for every process to join, ``AUTOMATCH_SHUTDOWN_TIMEOUT_S`` (120) the final barrier at exit."""
    if not (os.environ.get("AUTOMATCH_DISTRIBUTED") or os.environ.get("JAX_COORDINATOR_ADDRESS")):
        return
    if jax.distributed.is_initialized():
        return
    count, index = os.environ.get("JAX_NUM_PROCESSES"), os.environ.get("JAX_PROCESS_ID")
    jax.distributed.initialize(num_processes=int(count) if count else None, process_id=int(index) if index else None,
                               **distributed_timeouts())
    _JOINED.append(True)


_JOINED: list[bool] = []  # one entry while this process is in a job that start_distributed joined


def leave_distributed() -> None:
    """Leave the job :func:`start_distributed` joined (a no-op otherwise): every process meets at JAX's shutdown
    barrier now, while nothing else runs, instead of in JAX's exit handler after the interpreter has begun to join
    its threads and run other modules' exit handlers, whose order and duration differ between processes."""
    if _JOINED:
        _JOINED.clear()
        jax.distributed.shutdown()


def local_batch_size(section: str, batch_size: int) -> int:
    """This process's share of the global ``batch_size``: the same number of pairs on every device of every host."""
    devices = jax.local_device_count() * jax.process_count()
    if batch_size < 1 or batch_size % devices:
        raise AutomatchError(f"{section}.batch_size {batch_size} is not divisible by {devices} devices")
    return batch_size // jax.process_count()


def stop_step(section: str, total: int, max_steps: int | None) -> int:
    """The step a run stops at: ``total`` (the planned ``<section>.steps``), or ``max_steps`` when smaller."""
    if total < 1:
        raise AutomatchError(f"{section}.steps {total}: a run needs at least 1 step")
    if max_steps is not None and max_steps < 1:
        raise AutomatchError(f"--max-steps {max_steps}: a run needs at least 1 step")
    return min(total, max_steps) if max_steps is not None else total


def init_variables(net, config: ml_collections.ConfigDict, seed: int) -> dict:
    """Random variables for ``net``, with the backbone's pretrained weights when ``config.backbone_weights``
    names them (``"imagenet"``: the bundled EfficientNet-Lite weights; a path: a weight file), or every weight of
    the tracker checkpoint ``config.init_from`` (a folder or a shipped model's name) when it names one."""
    z, box, x = example_inputs(net)
    if config.get("init_from", ""):
        start = load_checkpoint(config.init_from).variables
        shapes = flax.core.unfreeze(jax.eval_shape(net.init, jax.random.PRNGKey(seed), z, box, x))  # no weights drawn
        detail = shape_mismatch(start, {kind: shapes[kind] for kind in ("params", "batch_stats")})
        if detail:
            raise AutomatchError(f"init_from {config.init_from}: its weights do not fit this config's network "
                                 f"({detail})")
        return jax.tree_util.tree_map(jnp.asarray, start)
    variables = flax.core.unfreeze(jax.jit(net.init)(jax.random.PRNGKey(seed), z, box, x))
    weights = config.get("backbone_weights", "")
    if weights:
        pretrained = pretrained_backbone_variables(net.backbone, None if weights == "imagenet" else weights)
        for kind in ("params", "batch_stats"):
            variables[kind]["trunk"] = jax.tree_util.tree_map(jnp.asarray, pretrained[kind])
    return variables


def pairs_before(config: ml_collections.ConfigDict) -> int:
    """Training pairs behind ``config.init_from``'s weights (0 without it): its recorded ``pairs``, else its steps
    times its batch size."""
    if not config.get("init_from", ""):
        return 0
    info = load_manifest(config.init_from)[1].get("info", {})
    return int(info.get("pairs", int(info.get("steps", 0)) * int(info.get("batch_size", 0))))


def data_sources(config: ml_collections.ConfigDict) -> dict[str, dict]:
    """``config.data.sources`` as plain dicts (default: synthetic still scenes only)."""
    sources = config.data.get("sources")
    sources = sources.to_dict() if hasattr(sources, "to_dict") else dict(sources or {})
    return sources or {"synthetic": {"weight": 1.0}}


def pair_loaders(config: ml_collections.ConfigDict, geometry, imagery: Imagery | None, local_batch: int,
                 seed: int, workers: int, progress: bool = True) -> tuple[PairLoader, PairLoader]:
    """(training, validation) pair loaders over ``config.data.sources`` at the network's crop sizes, each drawing
    this process's disjoint share of every global batch; the imagery cache is loaded when a source drawn from it
    needs it and split into its training and validation parts."""
    sources = data_sources(config)
    if imagery is None and any(name in IMAGERY_SOURCES for name in sources):
        imagery = Imagery.load(config.data.get("imagery") or None)
    train_imagery, val_imagery = imagery.split(config.data.validation_fraction) if imagery else (None, None)
    pair_cfg = PairConfig(**{**dict(config.data.pairs), "exemplar_size": geometry.exemplar_size,
                             "search_size": geometry.search_size})
    hosts, index = jax.process_count(), jax.process_index()
    train_source = build_source(sources, train_imagery, "train", progress=progress)
    val_source = build_source(sources, val_imagery, "validation", progress=False)
    return (PairLoader(train_source, pair_cfg, local_batch, seed, workers, index, hosts),
            PairLoader(val_source, pair_cfg, local_batch, seed + 1, workers, index, hosts))


# --- replicas and batches on the devices -------------------------------------------------------------------------


def replicate(state: Any) -> Any:
    """One copy of ``state`` per local device (the leading axis ``pmap`` maps over)."""
    devices = jax.local_device_count()
    return jax.tree_util.tree_map(lambda a: np.broadcast_to(np.asarray(a), (devices, *np.shape(a))), state)


def unreplicate(state: Any) -> Any:
    """The first device's copy of a replicated ``state``, on the host."""
    return jax.device_get(jax.tree_util.tree_map(lambda a: a[0], state))


def to_devices(batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """(B, ...) host arrays -> (devices, B / devices, ...) arrays, slice ``i`` on local device ``i`` (for ``pmap``)."""
    devices = jax.local_devices()
    sharding = jax.NamedSharding(jax.sharding.Mesh(np.array(devices), ("devices",)), jax.P("devices"))
    return {k: jax.device_put(np.reshape(v, (len(devices), v.shape[0] // len(devices), *v.shape[1:])), sharding)
            for k, v in batch.items()}


def prefetch_to_devices(steps: Iterable[tuple[int, tuple[dict, ...]]], size: int = PREFETCH
                        ) -> Iterator[tuple[int, tuple[dict, ...]]]:
    """``(step, host batches)`` -> ``(step, device batches)`` with ``size`` steps' batches copied ahead (the copies
    are asynchronous, so input transfer overlaps the running step)."""
    queue: list[tuple[int, tuple[dict, ...]]] = []
    iterator = iter(steps)
    for step, batches in iterator:
        queue.append((step, tuple(to_devices(b) for b in batches)))
        if len(queue) > size:
            yield queue.pop(0)
    yield from queue


def params_digest(tree: Any) -> np.ndarray:
    """(32,) uint8 SHA-256 of every leaf's bytes, in tree order: equal trees, equal digests."""
    digest = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(tree):
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return np.frombuffer(digest.digest(), np.uint8)


def assert_replicas_agree(tree: Any, what: str = "parameters") -> None:
    """Every process of a multi-host job holds the same ``tree``; an :class:`AutomatchError` when they differ."""
    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils

    digest = params_digest(tree)
    gathered = np.asarray(multihost_utils.process_allgather(digest))
    if not (gathered == digest[None]).all():
        raise AutomatchError(f"the processes of this job ended with different {what}; their runs diverged")


# --- logs -------------------------------------------------------------------------------------------------------


class JsonLog:
    """A JSON-lines log of ``{"step": ..., ...}`` entries for a run that resumes at ``resume_step``: the entries
    past it (logged by the interrupted run after its last checkpoint) and a torn last line are dropped, so every
    step appears once. Writes nothing when not ``enabled`` (processes other than the first)."""

    def __init__(self, path: Path, resume_step: int, enabled: bool = True):
        self.path, self.enabled = path, enabled
        self.entries: list[dict] = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and entry.get("step", 0) <= resume_step:
                    self.entries.append(entry)
        if enabled:
            path.write_text("".join(json.dumps(e) + "\n" for e in self.entries), encoding="utf-8")

    def append(self, entry: dict) -> None:
        self.entries.append(entry)
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")


class MetricsLogger:
    """Scalars per step to ``WORK/metrics.jsonl`` (a :class:`JsonLog`) and TensorBoard (``WORK/tensorboard``, the
    events past ``resume_step`` purged); does nothing when not ``enabled``."""

    def __init__(self, work: Path, resume_step: int, enabled: bool):
        self.enabled = enabled
        self._log = JsonLog(work / "metrics.jsonl", resume_step, enabled)
        self._tb = None
        if enabled:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(work / "tensorboard"), purge_step=resume_step + 1 if resume_step else None)

    def log(self, step: int, values: Mapping[str, float]) -> None:
        if not self.enabled:
            return
        self._log.append({"step": step, **values})
        for key, value in values.items():
            self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


# --- stopping on request ----------------------------------------------------------------------------------------


class StopRequest:
    """Whether the run should stop after a step because SIGTERM arrived. Under ``jax.distributed`` JAX's
    pre-emption service catches the signal on any process and every process sees the request at the same step
    (``reached_preemption_sync_point``); a single process catches it here while the run lasts."""

    def __init__(self) -> None:
        self._signalled = False
        self._previous = None

    def __enter__(self) -> StopRequest:
        if jax.process_count() == 1:
            try:
                self._previous = signal.signal(signal.SIGTERM, self._catch)
            except ValueError:  # not the main thread: leave the signal alone
                self._previous = None
        return self

    def _catch(self, signum, frame) -> None:
        self._signalled = True

    def __call__(self, step: int) -> bool:
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            return multihost_utils.reached_preemption_sync_point(step)
        return self._signalled

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


# --- the loop ---------------------------------------------------------------------------------------------------


class StepFn(Protocol):
    def __call__(self, step: int, state: Any, *batches: dict) -> tuple[Any, dict]: ...


LogFn = Callable[[int, Any, dict], Mapping[str, float]]


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """How long a run lasts and how often it logs and saves.

    Attributes:
      name: the progress bar's label.
      section: the config section (``train`` or ``search``), named in messages.
      total: the planned steps (schedules span them); stop: where this invocation stops (<= total).
      log_every, checkpoint_every: cadences in steps (the last step always logs and saves).
      diverged: the advice when the loss turns non-finite.
      postfix: metric names shown beside the progress bar.
      progress: show a progress bar (on the first process).
    """

    name: str
    section: str
    total: int
    stop: int
    log_every: int
    checkpoint_every: int
    diverged: str
    postfix: tuple[str, ...] = ("loss",)
    progress: bool = True


class Runner:
    """Checkpoints, logs, progress and the step loop of one run in ``work`` (see the module doc); ``loaders`` are
    drawn in lockstep, one batch each per step, and closed with the runner."""

    def __init__(self, work: Path, plan: RunPlan, loaders: Mapping[str, PairLoader]):
        self.work, self.plan, self.loaders = Path(work), plan, dict(loaders)
        self.work.mkdir(parents=True, exist_ok=True)
        self.directory = self.work / "checkpoints"
        self.manager = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=2),
            item_handlers={STATE: ocp.StandardCheckpointHandler(), DATA: ocp.JsonCheckpointHandler()})
        self.seconds = 0.0
        self.seconds_per_step: float | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.manager.close()
        for loader in self.loaders.values():
            loader.close()

    # checkpoints

    def restore(self, state: Any) -> tuple[Any, int]:
        """``(state, step)`` from the latest checkpoint, or ``(state, 0)`` when there is none; an
        :class:`AutomatchError` when the checkpoints are of another model or another version, or when the loaders'
        data settings differ from the ones the checkpoint was drawn with."""
        step = self.manager.latest_step()
        if step is None:
            return state, 0
        template = flax.serialization.to_state_dict(state)
        items = self.manager.item_metadata(step)
        if STATE not in items:
            raise AutomatchError(f"{self.directory}: its checkpoints were written by another version of automatch; "
                                 "use another output folder")
        self._check_fits(step, items[STATE], template)
        args = {STATE: ocp.args.StandardRestore(template)}
        if DATA in items:
            args[DATA] = ocp.args.JsonRestore()
        restored = self.manager.restore(step, args=ocp.args.Composite(**args))
        positions = dict(restored[DATA] or {}) if DATA in args else {}
        for name, loader in self.loaders.items():
            saved = positions.get(name)
            if saved is not None and hasattr(loader, "check_state"):
                loader.check_state(saved)
        state = flax.serialization.from_state_dict(state, restored[STATE])
        return state, int(state.step)

    def _check_fits(self, step: int, metadata: Any, template: Any) -> None:
        detail = shape_mismatch(getattr(metadata, "tree", metadata), template)
        if detail:
            raise AutomatchError(f"{self.directory} holds checkpoints of a different model ({detail}); "
                                 "use another output folder or the config it was trained with")

    def save(self, step: int, state: Any) -> None:
        """A checkpoint of the replicated ``state`` and the loaders' positions after ``step`` steps (entered by
        every process)."""
        args = {STATE: ocp.args.StandardSave(flax.serialization.to_state_dict(unreplicate(state)))}
        positions = {name: loader.state(step) for name, loader in self.loaders.items() if hasattr(loader, "state")}
        if positions:
            args[DATA] = ocp.args.JsonSave(positions)
        self.manager.save(step, args=ocp.args.Composite(**args))

    # the loop

    def run(self, state: Any, start: int, step_fn: StepFn, log_fn: LogFn | None = None) -> Any:
        """Steps ``start .. plan.stop`` of ``step_fn(step, replicated state, *device batches) -> (state,
        metrics)``; ``log_fn(done, replicated state, metrics) -> more values`` runs on every process every
        ``log_every`` steps (it may enter collectives). Returns the final state on the host."""
        plan, chief = self.plan, jax.process_index() == 0
        state = replicate(state)
        logger = MetricsLogger(self.work, start, chief)
        bar = tqdm(total=plan.stop, initial=start, desc=plan.name, unit="step", disable=not (plan.progress and chief))
        steps = zip(*(loader.iterate(start, plan.stop) for loader in self.loaders.values()), strict=True)
        batches = prefetch_to_devices((drawn[0][0], tuple(b for _, b in drawn)) for drawn in steps)
        began = last = time.perf_counter()
        timed_from = None
        try:
            with StopRequest() as stop_requested:
                for step, device_batches in batches:
                    state, metrics = step_fn(step, state, *device_batches)
                    done = step + 1
                    bar.update(1)
                    if timed_from is None:  # the first step compiles; time the ones after it
                        jax.block_until_ready(metrics)
                        timed_from = (time.perf_counter(), done)
                    if done % plan.log_every == 0 or done == plan.stop:
                        values = {k: float(v[0]) for k, v in metrics.items()}
                        if log_fn is not None:
                            values.update(log_fn(done, state, values))
                        now = time.perf_counter()
                        values["steps_per_s"] = plan.log_every / max(now - last, 1e-9)
                        last = now
                        logger.log(done, values)
                        bar.set_postfix({k: f"{values[k]:.3g}" for k in plan.postfix if k in values})
                        if not np.isfinite(values["loss"]):
                            raise AutomatchError(f"{plan.section} diverged at step {done} (loss {values['loss']}); "
                                                 f"{plan.diverged}")
                    stopping = stop_requested(done)
                    if done % plan.checkpoint_every == 0 or done == plan.stop or stopping:
                        self.save(done, state)
                    if stopping and done < plan.stop:
                        self.manager.wait_until_finished()
                        raise RunStopped(f"{plan.section} stopped by SIGTERM at step {done}; its checkpoint is in "
                                         f"{self.directory} and the same command resumes")
            self.manager.wait_until_finished()
        finally:
            bar.close()
            logger.close()
        final = unreplicate(state)
        assert_replicas_agree(final)
        end = time.perf_counter()
        self.seconds = end - began
        if timed_from is not None and plan.stop > timed_from[1]:
            self.seconds_per_step = (end - timed_from[0]) / (plan.stop - timed_from[1])
        return final


def shape_mismatch(saved: Any, wanted: Any) -> str:
    """The first leaf where the trees ``saved`` (a checkpoint's arrays or orbax metadata) and ``wanted`` differ in
    path or shape, in words (``""`` when they match)."""
    saved, wanted = _leaf_shapes(saved), _leaf_shapes(wanted)
    if saved == wanted:
        return ""
    key = (sorted(set(saved) ^ set(wanted)) or sorted(k for k in wanted if saved[k] != wanted[k]))[0]
    if key in saved and key in wanted:
        return f"{key}: {saved[key]} in the checkpoint, {wanted[key]} here"
    return f"{key} only {'in the checkpoint' if key in saved else 'here'}"


def _leaf_shapes(tree: Any) -> dict[str, tuple[int, ...]]:
    """``{"params/cls_head/kernel": shape}`` of every leaf (arrays, or orbax's array metadata)."""
    shapes = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        name = "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        shapes[name] = tuple(getattr(leaf, "shape", np.shape(leaf)))
    return shapes
