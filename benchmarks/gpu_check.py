"""One prepared device check: every figure a GPU lease should measure, in priority order, within a time budget.

Sections, in this order (each row is printed and appended to a JSON-lines file as soon as it is measured):

1. ``environment``: Python, JAX, jaxlib, the CUDA plugin, Flax, Optax, orbax, Triton versions; the devices; the
   Pallas depthwise-xcorr self-check and what ``dw_xcorr`` dispatches to.
2. ``xcorr``: the Pallas kernel against XLA's grouped convolution and the shifted-slice sum at the tracker's and
   the search's sizes: microseconds per application (a chain of applications inside one compiled function), the
   error of each against XLA at HIGHEST precision, the Pallas path's first- and second-order gradients against
   XLA's; the kernel's channel-block and warp choices; bfloat16.
3. ``tracker``: ``Tracker`` frames/s end to end and p50/p90/p99 latency for the ResNet-50 configuration (random
   weights: none ship) and the shipped lite models, float32 and bfloat16, with compile times.
4. ``multitracker``: ``MultiTracker`` target-frames/s with N = 64 and 256 targets in one frame.
5. ``train``: ResNet-50 training steps/s with the backbone frozen and unfrozen, with memory.
6. ``loader``: pair-loader pairs/s with 16 worker processes.

Each row has a planned time (``Row.needs_s``: its compiles and a short timed loop, which ends by then); the planned
times of all rows plus ``STARTUP_S`` (Python, JAX and the device's start-up) fit the default budget
(``DEFAULT_BUDGET_S``, 270 s: one device call, leaving room for a rerun in 15 minutes of device time). A row that
does not fit in what is left of ``--budget`` is recorded as ``skipped (budget)`` without running; a watchdog ends the
process at the budget (the row under way is recorded as ``stopped (budget)``, the rest as skipped), so the check
never overruns. A row that fails records its error and the check goes on. ``--smoke`` runs every row tiny on a
CPU (the tiny ``configs/smoke.py`` network in place of each model; the test suite runs it).

    python benchmarks/gpu_check.py [--budget 270] [--out gpu_check.jsonl] [--smoke] [--sections S ...]

docs/gpu.md has the command for the device machine and the expected run time.
"""

from __future__ import annotations

import time

START = time.monotonic()  # the budget counts from here, JAX's import and start-up included

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import functools  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SKIPPED, STOPPED = "skipped (budget)", "stopped (budget)"
DEFAULT_BUDGET_S = 270.0  # one device call: with a few minutes' start-up, a rerun still fits in 15 minutes
STARTUP_S = 20.0  # Python, JAX's import and the device's start-up, before the first row (counted in the budget)
RESNET50 = "configs/automatch_resnet50.py"
SMOKE = "configs/smoke.py"


# ------------------------------------------------------------------------------------------ budget and records
@dataclasses.dataclass
class Row:
    """One measurement: ``run(until)`` returns its fields, finishing timed loops by ``until`` (monotonic time).

    ``needs_s``: its planned time on the device (compiles included); it is skipped when less is left, and its timed
    loop ends by ``needs_s`` after its start (or after ``most`` iterations), so rows whose compiles took what was
    planned end on time and the planned times add up to the run's (:func:`planned_seconds`).
    """

    section: str
    name: str
    needs_s: float
    run: Callable[[float], dict[str, Any]]
    cap_s: float = 20.0  # smoke runs (nothing planned): the longest a row runs before its timed loop ends


class Recorder:
    """Prints each record and appends it, flushed, to the JSON-lines ``out``; keeps the budget and its watchdog."""

    def __init__(self, out: Path | None, budget_s: float, smoke: bool, hard_stop: bool = True,
                 on_deadline: Callable[[], None] | None = None):
        self.out, self.smoke = out, smoke
        self.deadline = START + budget_s
        self.lock = threading.Lock()
        self.pending: list[Row] = []
        self.current: Row | None = None
        self.counts: dict[str, int] = {}
        self.records: list[dict[str, Any]] = []
        self.finished = False
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
        self._on_deadline = on_deadline or (lambda: os._exit(0))
        self._timer: threading.Timer | None = None
        if hard_stop:
            self._timer = threading.Timer(max(self.deadline - time.monotonic() - 0.5, 0.0), self._stop_at_budget)
            self._timer.daemon = True
            self._timer.start()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def emit(self, section: str, name: str, status: str, **fields: Any) -> dict[str, Any]:
        record = {"section": section, "row": name, "status": status,
                  "elapsed_s": round(time.monotonic() - START, 2), **fields}
        with self.lock:
            if self.finished:
                return record
            self.counts[status] = self.counts.get(status, 0) + 1
            self.records.append(record)
            text = json.dumps(record, default=_json_default)
            if self.out is not None:
                with open(self.out, "a", encoding="utf-8") as f:
                    f.write(text + "\n")
            shown = " ".join(f"{k}={_show(v)}" for k, v in fields.items())
            print(f"[{section}] {name}: {status} {shown}".rstrip(), flush=True)
        return record

    def run(self, rows: list[Row]) -> None:
        """Every row in order, each within the budget; then one ``summary`` record."""
        self.pending = list(rows)
        while self.pending:
            row = self.pending[0]
            needs = 0.0 if self.smoke else row.needs_s
            if self.remaining() < needs:
                self.pending.pop(0)
                self.emit(row.section, row.name, SKIPPED, needs_s=row.needs_s,
                          left_s=round(max(self.remaining(), 0.0), 1))
                continue
            self.current = row
            started = time.monotonic()
            until = min(self.deadline - 2.0, started + (row.cap_s if self.smoke else row.needs_s))
            try:
                fields, status = row.run(until), "ok"
            except Exception as exc:  # one broken row must not stop the others
                fields, status = {"error": f"{type(exc).__name__}: {_first_line(exc)}"}, "error"
            with self.lock:
                self.current = None
                if self.pending and self.pending[0] is row:
                    self.pending.pop(0)
            self.emit(row.section, row.name, status, seconds=round(time.monotonic() - started, 2), **fields)
        self.summary()

    def summary(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        counts = dict(self.counts)
        self.emit("summary", "total", "ok", seconds=round(time.monotonic() - START, 1), rows=counts)
        with self.lock:
            self.finished = True

    def _stop_at_budget(self) -> None:
        with self.lock:
            current, pending = self.current, list(self.pending)
        if current is not None:
            self.emit(current.section, current.name, STOPPED, seconds=None)
        for row in pending:
            if row is not current:
                self.emit(row.section, row.name, SKIPPED, needs_s=row.needs_s, left_s=0.0)
        with self.lock:
            self.pending = []
        self.summary()
        sys.stdout.flush()
        self._on_deadline()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:400]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=_json_default)
    return str(value)


def _loop(fn: Callable[[], Any], until: float, most: int, least: int = 3) -> list[float]:
    """Seconds of each call of ``fn``: at least ``least`` calls, at most ``most``, none started after ``until``."""
    times: list[float] = []
    while len(times) < most and (len(times) < least or time.monotonic() < until):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _latency(times: list[float], per_step: int = 1) -> dict[str, float]:
    t = np.asarray(times)
    p50, p90, p99 = np.percentile(t * 1e3, [50, 90, 99])
    return {"per_s": round(per_step * len(t) / float(t.sum()), 1), "p50_ms": round(float(p50), 3),
            "p90_ms": round(float(p90), 3), "p99_ms": round(float(p99), 3), "timed": len(t)}


# ------------------------------------------------------------------------------------------------ environment
def _versions() -> dict[str, Any]:
    import jax

    names = ("jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "flax", "optax", "orbax-checkpoint",
             "numpy", "triton", "ml-collections", "grain", "opencv-python-headless", "opencv-contrib-python-headless")
    found = {}
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "backend": jax.default_backend(), "packages": found,
            "env": {k: v for k, v in os.environ.items() if k.startswith(("XLA_", "JAX_", "AUTOMATCH_"))}}


def _devices() -> dict[str, Any]:
    import jax

    device = jax.local_devices()[0]
    stats = device.memory_stats() or {}
    return {"count": jax.device_count(), "kind": device.device_kind, "platform": device.platform,
            "memory_limit_gib": round(stats["bytes_limit"] / 2**30, 1) if "bytes_limit" in stats else None}


def _self_check(on_gpu: bool) -> dict[str, Any]:
    from automatch_jax.ops import xcorr

    passed, detail = xcorr.pallas_self_check(interpret=not on_gpu)
    return {"passed": passed, "detail": detail, "dw_xcorr_auto": _auto_choice()}


def _auto_choice() -> str:
    from automatch_jax.ops import xcorr

    return xcorr.auto_implementation()


# ------------------------------------------------------------------------------------------------------ xcorr
def _rel_error(a: Any, ref: Any) -> float:
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-30))


def _xcorr_inputs(shape: tuple[int, int, int, int], hz: int, dtype: Any, seed: int = 0):
    """Search features (B, H, W, C) and an exemplar (B, hz, hz, C) normalised so each channel's taps sum to 1 in
    absolute value (a chain of applications stays bounded)."""
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    b, _, _, c = shape
    kernel = rng.normal(size=(b, hz, hz, c))
    kernel /= np.abs(kernel).sum(axis=(1, 2), keepdims=True)
    return jnp.asarray(rng.normal(size=shape), dtype), jnp.asarray(kernel, dtype)


def _chain_us(fn: Callable, f_x: Any, kernel: Any, chain: int, until: float, most: int) -> float:
    """Microseconds per application of ``fn``, from ``chain`` dependent applications in one compiled function."""
    import jax

    def chained(x, k):
        for _ in range(chain):
            x = fn(x, k)
        return x

    compiled = jax.jit(chained)
    compiled(f_x, kernel).block_until_ready()
    times = _loop(lambda: compiled(f_x, kernel).block_until_ready(), until, most)
    return round(float(np.median(times)) / chain * 1e6, 2)


def _xcorr_row(shape: tuple[int, int, int, int], hz: int, on_gpu: bool, smoke: bool, dtype_name: str = "float32",
               gradients: bool = True) -> Callable[[float], dict[str, Any]]:
    def run(until: float) -> dict[str, Any]:
        import jax
        import jax.numpy as jnp

        from automatch_jax.ops.xcorr import fast_depthwise_xcorr, shift_depthwise_xcorr, xla_depthwise_xcorr

        dtype = jnp.dtype(dtype_name)
        f_x, kernel = _xcorr_inputs(shape, hz, dtype)
        highest = functools.partial(xla_depthwise_xcorr, precision=jax.lax.Precision.HIGHEST)
        reference = jax.jit(highest)(f_x.astype(jnp.float32), kernel.astype(jnp.float32))
        paths = {"pallas": lambda x, k: fast_depthwise_xcorr(x, k, not on_gpu), "xla": xla_depthwise_xcorr,
                 "shift": shift_depthwise_xcorr}
        chain, most = (1, 3) if smoke else (8, 10)
        fields: dict[str, Any] = {"f_x": list(shape), "f_z": [shape[0], hz, hz, shape[3]], "dtype": dtype_name}
        for name, fn in paths.items():  # one path failing (a Triton compile, say) leaves the others' figures
            try:
                fields[f"{name}_rel_err"] = _rel_error(jax.jit(fn)(f_x, kernel), reference)
                fields[f"{name}_us"] = _chain_us(fn, f_x, kernel, chain, until, most)
            except Exception as exc:
                fields[f"{name}_error"] = f"{type(exc).__name__}: {_first_line(exc)}"
        if gradients and "pallas_error" not in fields:
            fields.update(_gradient_errors(paths["pallas"], highest, f_x, kernel))
        return fields

    return run


def _gradient_errors(fast: Callable, reference: Callable, f_x: Any, kernel: Any) -> dict[str, float]:
    """First-order (d loss / d(F_x, F_z)) and second-order (d |d loss / d F_z|^2 / d(F_x, F_z)) gradients of a
    nonlinear loss through ``fast`` against ``reference``: the largest relative error."""
    import jax
    import jax.numpy as jnp

    def loss(fn):
        return lambda x, k: jnp.sum(jnp.tanh(fn(x, k)) * jnp.cos(x))

    def second(fn):
        return jax.grad(lambda x, k: jnp.sum(jax.grad(loss(fn), 1)(x, k) ** 2), (0, 1))

    out = {}
    for order, build in (("grad1_rel_err", lambda fn: jax.grad(loss(fn), (0, 1))), ("grad2_rel_err", second)):
        got, want = jax.jit(build(fast))(f_x, kernel), jax.jit(build(reference))(f_x, kernel)
        out[order] = max(_rel_error(a, b) for a, b in zip(got, want, strict=True))
    return out


def _variants_row(shape: tuple[int, int, int, int], hz: int, on_gpu: bool, smoke: bool):
    def run(until: float) -> dict[str, Any]:
        import jax.numpy as jnp

        from automatch_jax.ops.xcorr_pallas import pallas_depthwise_xcorr

        f_x, kernel = _xcorr_inputs(shape, hz, jnp.float32)
        choices = [(8, 4), (16, 4), (16, 8), (32, 8)] if not smoke else [(8, 4), (16, 8)]
        chain, most = (1, 3) if smoke else (8, 10)
        timings = {}
        for block, warps in choices:
            fn = functools.partial(pallas_depthwise_xcorr, channel_block=block, num_warps=warps,
                                   interpret=not on_gpu)
            try:
                timings[f"block{block}_warps{warps}_us"] = _chain_us(fn, f_x, kernel, chain, until, most)
            except Exception as exc:
                timings[f"block{block}_warps{warps}_us"] = f"{type(exc).__name__}: {_first_line(exc)[:120]}"
        return {"f_x": list(shape), **timings}

    return run


# ------------------------------------------------------------------------------------------- trackers, frames
def synthetic_frames(count: int, width: int = 640, height: int = 480) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` BGR uint8 frames of a textured square gliding over a fixed noise texture, and its first box."""
    rng = np.random.default_rng(0)
    background = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    target = (rng.random((64, 64, 3)) * 155 + 100).astype(np.uint8)
    frames = []
    for i in range(count):
        frame = background.copy()
        x = int(width / 2 - 32 + 80 * np.sin(i / 15))
        y = int(height / 2 - 32 + 40 * np.cos(i / 20))
        frame[y : y + 64, x : x + 64] = target
        frames.append(frame)
    first_x, first_y = int(width / 2 - 32), int(height / 2 - 32 + 40)
    return frames, np.array([first_x, first_y, 64, 64], np.float64)


def _network(config_path: str, dtype: str):
    """The config, network and random variables of a config (speed only: the weights do not change the work)."""
    from automatch_jax.models.config import build_network
    from automatch_jax.train.config import load_config

    config = load_config(REPO / config_path)
    config.model.dtype = dtype
    return config, build_network(config.model), _random_variables(config_path)


@functools.cache
def _random_variables(config_path: str) -> dict:
    """Initial variables of a config's network, made once per config (float32, as every precision keeps them)."""
    import jax
    import jax.numpy as jnp

    from automatch_jax.models.config import build_network
    from automatch_jax.train.config import load_config

    net = build_network(load_config(REPO / config_path).model)
    g = net.geometry
    return jax.jit(net.init)(jax.random.PRNGKey(0), jnp.zeros((1, g.exemplar_size, g.exemplar_size, 3)),
                             jnp.array([[20.0, 20.0, 40.0, 40.0]]), jnp.zeros((1, g.search_size, g.search_size, 3)))


def _make_tracker(model: str, dtype: str, multi: bool):
    """``model``: a config path (random weights, ``Tracker(net, variables)``) or a shipped model / checkpoint
    folder (``from_pretrained``)."""
    from automatch_jax.tracking import MultiTracker, Tracker

    cls = MultiTracker if multi else Tracker
    if model.endswith(".py"):
        _, net, variables = _network(model, dtype)
        return cls(net, variables, name=model)
    return cls.from_pretrained(model, dtype=dtype)


def _tracker_row(model: str, dtype: str, smoke: bool) -> Callable[[float], dict[str, Any]]:
    def run(until: float) -> dict[str, Any]:
        frames, box = synthetic_frames(12 if smoke else 60)
        start = time.perf_counter()
        tracker = _make_tracker(model, dtype, multi=False)
        built = time.perf_counter()
        tracker.init(frames[0], box)
        tracker.update(frames[1])
        compiled = time.perf_counter()
        for frame in frames[2 : 4 if smoke else 6]:
            tracker.update(frame)
        order = frames + frames[-2:0:-1]  # back and forth: continuous motion
        index = iter(range(10**9))
        times = _loop(lambda: tracker.update(order[next(index) % len(order)]), until, 6 if smoke else 500)
        return {"model": model, "build_s": round(built - start, 2), "compile_s": round(compiled - built, 2),
                "crop_on_device": bool(getattr(tracker, "crop_on_device", False)), **_latency(times)}

    return run


def _multi_row(model: str, dtype: str, targets: int, smoke: bool) -> Callable[[float], dict[str, Any]]:
    def run(until: float) -> dict[str, Any]:
        frames, box = synthetic_frames(8)
        rng = np.random.default_rng(1)
        boxes = np.tile(box, (targets, 1))
        boxes[:, :2] += rng.uniform(-40, 40, (targets, 2))
        start = time.perf_counter()
        tracker = _make_tracker(model, dtype, multi=True)
        built = time.perf_counter()
        tracker.init(frames[0], boxes)
        tracker.update(frames[1])
        compiled = time.perf_counter()
        index = iter(range(10**9))
        times = _loop(lambda: tracker.update(frames[2 + next(index) % 6]), until, 3 if smoke else 100)
        latency = _latency(times, targets)
        latency["target_frames_per_s"] = latency.pop("per_s")
        return {"model": model, "targets": targets, "build_s": round(built - start, 2),
                "compile_s": round(compiled - built, 2), **latency}

    return run


# ---------------------------------------------------------------------------------------------------- training
def _train_row(model: str, frozen: bool, smoke: bool) -> Callable[[float], dict[str, Any]]:
    def run(until: float) -> dict[str, Any]:
        import jax
        import jax.numpy as jnp

        from automatch_jax.train.optim import make_optimizer
        from automatch_jax.train.step import AXIS, TrainState, make_train_step

        dtype = "float32" if jax.default_backend() == "cpu" else "bfloat16"
        config, net, variables = _network(model, dtype)
        batch_size = 2 if smoke else int(config.train.batch_size)
        tx = make_optimizer(config.train, int(config.train.steps))
        step_net = net.clone(freeze_backbone=True) if frozen else net
        step = jax.pmap(make_train_step(step_net, tx, dict(config.loss)), axis_name=AXIS, donate_argnums=0)
        state = TrainState(jnp.zeros((), jnp.int32), variables["params"], variables["batch_stats"],
                           tx.init(variables["params"]))
        # Replicated onto the step's own sharding (a mesh axis named AXIS), so its second call does not compile again.
        state = jax.pmap(lambda s: s, axis_name=AXIS)(jax.tree_util.tree_map(lambda a: np.asarray(a)[None], state))
        batch = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], _train_batch(net.geometry, batch_size))
        start = time.perf_counter()
        state, metrics = step(state, batch)
        loss = float(metrics["loss"][0])
        first = time.perf_counter()
        state, metrics = step(state, batch)  # no second compile: timed to show it
        metrics["loss"].block_until_ready()
        compiled = time.perf_counter()
        holder = [state]

        def one() -> None:
            holder[0], m = step(holder[0], batch)
            m["loss"].block_until_ready()

        times = _loop(one, until, 2 if smoke else 30)
        stats = jax.local_devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return {"model": model, "dtype": dtype, "batch": batch_size, "compile_s": round(first - start, 2),
                "second_step_s": round(compiled - first, 2),
                "first_loss": round(loss, 4), "steps_per_s": round(len(times) / sum(times), 2),
                "pairs_per_s": round(batch_size * len(times) / sum(times), 1),
                "peak_gib_so_far": round(peak / 2**30, 2) if peak is not None else None}

    return run


def _train_batch(geometry: Any, batch_size: int) -> dict[str, np.ndarray]:
    """Random pairs shaped like the pair loader's: ``z`` (B, E, E, 3), ``x`` (B, S, S, 3) float32 RGB, boxes, labels."""
    rng = np.random.default_rng(0)
    e, s = geometry.exemplar_size, geometry.search_size
    z_side, x_side = e / 2, rng.uniform(0.25, 0.5, (batch_size, 1)) * s
    centre = s / 2 + rng.uniform(-16, 16, (batch_size, 2))
    x_box = np.concatenate([centre - x_side / 2, centre + x_side / 2], axis=1)
    z_box = np.tile([e / 2 - z_side / 2, e / 2 - z_side / 2, e / 2 + z_side / 2, e / 2 + z_side / 2], (batch_size, 1))
    return {"z": (rng.random((batch_size, e, e, 3)) * 255).astype(np.float32),
            "x": (rng.random((batch_size, s, s, 3)) * 255).astype(np.float32),
            "z_box": z_box.astype(np.float32), "x_box": x_box.astype(np.float32),
            "positive": (rng.random(batch_size) > 0.2).astype(np.float32)}


# ----------------------------------------------------------------------------------------------------- loader
def _loader_row(workers: int, smoke: bool) -> Callable[[float], dict[str, Any]]:
    def run(until: float) -> dict[str, Any]:
        from automatch_jax.data.imagery import Imagery
        from automatch_jax.data.pairs import PairConfig, PairLoader, SceneSource

        batch = 4 if smoke else 32
        loader = PairLoader(SceneSource(Imagery.builtin()), PairConfig(), batch, seed=0, workers=workers)
        try:
            start = time.perf_counter()
            stream = loader.iterate(0, 3 if smoke else 10**6)
            next(stream)
            first = time.perf_counter()
            times = _loop(lambda: next(stream), until, 2 if smoke else 20, least=2)
        finally:
            loader.close()
        return {"workers": workers, "batch": batch, "first_batch_s": round(first - start, 2),
                "pairs_per_s": round(batch * len(times) / sum(times), 1), "batches": len(times)}

    return run


# -------------------------------------------------------------------------------------------------------- plan
SECTIONS = ("environment", "xcorr", "tracker", "multitracker", "train", "loader")


def planned_seconds(rows: list[Row]) -> float:
    """What a run of ``rows`` is planned to take on the device, start-up included: ``STARTUP_S`` plus each row's
    ``needs_s``. The full plan fits ``DEFAULT_BUDGET_S`` (tests/benchmarks/test_gpu_check.py)."""
    return STARTUP_S + sum(row.needs_s for row in rows)


def plan(smoke: bool, on_gpu: bool, smoke_checkpoint: str | None = None) -> list[Row]:
    """The rows in priority order, with each one's planned time on the device (compiles included; estimates, to be
    corrected from a run's ``seconds``): 240 s in all, 260 s with ``STARTUP_S``, within ``DEFAULT_BUDGET_S``.

    In ``smoke`` every model is the tiny smoke network (its config where the full run builds a config with random
    weights, a checkpoint folder of it where the full run loads a shipped model) and every size is tiny.
    """
    rows = [Row("environment", "versions", 0.0, lambda until: _versions()),
            Row("environment", "devices", 0.0, lambda until: _devices()),
            Row("environment", "pallas self-check", 5.0, lambda until: _self_check(on_gpu))]
    tiny = ((2, 8, 8, 16), 3)
    sizes = {  # name: (F_x shape, exemplar cells, dtype)
        "tracker 1x32x32x256 (ResNet-50, one stream)": ((1, 32, 32, 256), 7, "float32"),
        "search 32x32x32x256 (training/search batch)": ((32, 32, 32, 256), 7, "float32"),
        "multi 256x32x32x64 (lite, 256 targets)": ((256, 32, 32, 64), 7, "float32"),
        "lite-fast 1x24x24x48": ((1, 24, 24, 48), 7, "float32"),
        "tracker 1x32x32x256 bfloat16": ((1, 32, 32, 256), 7, "bfloat16"),
    }
    for index, (name, (shape, hz, dtype)) in enumerate(sizes.items()):
        shape, hz = tiny if smoke else (shape, hz)
        # gradients (4 more compiles) at the tracker's and the search's sizes; smoke: the sizes are all the same
        gradients = index < (1 if smoke else 2)
        rows.append(Row("xcorr", name, 6.0 if gradients else 4.0,
                        _xcorr_row(shape, hz, on_gpu, smoke, dtype, gradients), cap_s=3.0))
    for shape in ((1, 32, 32, 256), (32, 32, 32, 256)):
        label = "pallas blocks " + "x".join(map(str, shape))
        rows.append(Row("xcorr", label, 5.0, _variants_row(tiny[0] if smoke else shape, tiny[1] if smoke else 7,
                                                           on_gpu, smoke), cap_s=4.0))

    def model(name: str) -> str:
        if not smoke:
            return name
        return SMOKE if name.endswith(".py") else str(smoke_checkpoint)

    def label(name: str) -> str:
        return "resnet50" if name == RESNET50 else name

    # ResNet-50's random variables are made once (its first row); each row compiles the tracker's init and update
    for name, dtype, needs in ((RESNET50, "float32", 24.0), (RESNET50, "bfloat16", 18.0),
                               ("automatch-lite", "float32", 12.0), ("automatch-lite", "bfloat16", 10.0),
                               ("automatch-lite-fast", "float32", 10.0)):
        rows.append(Row("tracker", f"{label(name)} {dtype}", needs, _tracker_row(model(name), dtype, smoke),
                        cap_s=4.0))
    for name, dtype, targets, needs in ((RESNET50, "bfloat16", 256, 22.0), ("automatch-lite", "float32", 256, 12.0),
                                        (RESNET50, "bfloat16", 64, 16.0), ("automatch-lite", "float32", 64, 9.0)):
        rows.append(Row("multitracker", f"{label(name)} {dtype} N={targets}", needs,
                        _multi_row(model(name), dtype, 2 if smoke else targets, smoke), cap_s=4.0))
    for frozen in (True, False):
        rows.append(Row("train", f"resnet50 {'frozen' if frozen else 'unfrozen'} backbone", 28.0,
                        _train_row(SMOKE if smoke else RESNET50, frozen, smoke), cap_s=6.0))
    rows.append(Row("loader", "pairs, 16 workers", 12.0, _loader_row(1 if smoke else 16, smoke), cap_s=8.0))
    return rows


def _write_smoke_checkpoint(folder: Path) -> str:
    """The smoke network (random weights) saved as a checkpoint folder: the smoke stand-in for a shipped model."""
    from automatch_jax.tracking import TrackerCheckpoint, TrackerSettings, save_checkpoint

    config, _, variables = _network(SMOKE, "float32")
    return str(save_checkpoint(folder / "smoke-model",
                               TrackerCheckpoint("smoke", dict(config.model), variables, TrackerSettings())))


def main(argv: list[str] | None = None, hard_stop: bool = True) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                        help="seconds for the whole check, start-up included")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.jsonl"), help="JSON-lines file (appended)")
    parser.add_argument("--smoke", action="store_true", help="every row tiny, on CPU (the test suite's run)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="only these sections (a second run: the ones the first skipped)")
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error(f"--budget must be positive, got {args.budget}")
    if args.smoke:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    recorder = Recorder(args.out, args.budget, args.smoke, hard_stop=hard_stop)
    import jax

    on_gpu = jax.default_backend() == "gpu"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        checkpoint = None
        if args.smoke and {"tracker", "multitracker"} & set(args.sections):
            try:
                checkpoint = _write_smoke_checkpoint(Path(tmp))
            except Exception as exc:  # the rows that load it record the failure too
                recorder.emit("environment", "smoke checkpoint", "error", error=f"{type(exc).__name__}: {exc}")
        recorder.run([r for r in plan(args.smoke, on_gpu, checkpoint) if r.section in args.sections])
    return recorder.records


if __name__ == "__main__":
    main()
