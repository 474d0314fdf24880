"""Searching a benchmark's inference settings with optuna (``automatch tune``).

A study lives in one SQLite file. Each trial picks values of the searched settings with optuna's TPE sampler, tracks
every sequence of the benchmark once (one-pass, from the first frame's ground truth) and scores the run by the mean
of the per-sequence success AUCs, each computed with the benchmark's own protocol. The best trial's settings are
written as a preset file that ``automatch track --preset FILE`` and ``run-benchmark --preset FILE`` apply.

How the pieces fit:

- **Budget.** ``trials`` is the study's total of finished trials (a rerun of the same command only runs what is
  missing; a larger number searches further); ``minutes`` bounds this run's wall-clock time (a trial that started
  before the end runs to its end, and every worker runs at least one). Either or both.
- **Resuming.** Rerunning against the same file continues the same study: finished trials are never run again.
  A trial that a killed run left unfinished is marked failed and its settings are queued to run first.
  The study remembers what it searches (benchmark, model, fixed and searched settings, seed) and refuses to
  continue with other ones.
- **Workers.** ``workers`` processes (spawned, each with its own tracker) share the SQLite storage; a lock file
  beside it (``<study>.ask.lock``) makes "count the trials, ask for the next one" atomic, so the trial budget is met
  exactly. Another lock file (``<study>.lock``) keeps a second ``automatch tune`` off a study in use.
- **Seeding.** Trial *k* is sampled by a TPE sampler seeded with ``(seed, k)``: one worker gives the same trials
  whether or not the run was interrupted; with several workers the order in which trials finish varies.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import queue
import sqlite3
import time
from collections.abc import Callable, Mapping
from collections.abc import Sequence as SequenceOf
from pathlib import Path
from typing import Any

from automatch_jax.data import otb_table
from automatch_jax.data.sequence import BenchmarkDataset, Sequence
from automatch_jax.errors import AutomatchError
from automatch_jax.models.settings import RANGES, TrackerSettings

STUDY_NAME = "automatch-tune"
OBJECTIVE = "mean success AUC"

DEFAULT_SPACE: dict[str, tuple[float, float]] = {
    "penalty_k": (0.0, 0.3),
    "window_influence": (0.0, 1.0),
    "lr": (0.0, 1.0),
    "context": (0.25, 1.0),
    "lost_score": (0.0, 0.5),
    "search_growth": (1.0, 2.0),
}
"""The settings searched by default and their intervals: the authors' three (penalty, window, size rate, their
``TEST.HYPERS``) with the context margin and the lost-target rule; every interval lies inside :data:`RANGES`
(the presets' values lie inside them too)."""

TEST_SPLITS = frozenset({"lasot", "got10k-test", "trackingnet", "tnl2k", "vot", "otb100", "otb2015", "otb2013",
                         "otb50"})
"""Benchmarks (registry names) whose sequences are a test set: numbers on them are what papers report."""


# ------------------------------------------------------------------------------------------------- arguments
def parse_param(text: str) -> tuple[str, tuple[float, float]]:
    """``"name=lo:hi"`` -> ``(name, (lo, hi))``, an interval inside the setting's :data:`RANGES` with ``lo < hi``.

    Raises:
      AutomatchError: one line naming ``--param`` and the problem.
    """
    name, sep, interval = (part.strip() for part in text.partition("="))
    low_text, colon, high_text = interval.partition(":")
    if not sep or not colon:
        raise AutomatchError(f"--param {text!r}: expected NAME=LOW:HIGH (e.g. penalty_k=0.0:0.3)")
    if name not in RANGES:
        raise AutomatchError(f"--param {text!r}: unknown setting {name!r}; known: {', '.join(RANGES)}")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise AutomatchError(f"--param {text!r}: LOW and HIGH must be numbers") from None
    allowed_low, allowed_high = RANGES[name]
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise AutomatchError(f"--param {text!r}: expected finite LOW < HIGH")
    if low < allowed_low or high > allowed_high or (name == "min_size" and low <= 0):
        if name == "min_size":
            rule = "above 0"
        elif allowed_high == math.inf:
            rule = f"at least {allowed_low:g}"
        else:
            rule = f"between {allowed_low:g} and {allowed_high:g}"
        raise AutomatchError(f"--param {text!r}: {name} must be {rule}")
    return name, (low, high)


def search_space(params: SequenceOf[str] = (), fixed: Mapping[str, Any] = ()) -> dict[str, tuple[float, float]]:
    """The searched settings: :data:`DEFAULT_SPACE` without the ``fixed`` ones (``--set``), then each ``--param``
    text (``name=lo:hi``) adding a setting or replacing its interval.

    Raises:
      AutomatchError: a malformed ``--param``, one given twice, or one that is also fixed.
    """
    space = {name: bounds for name, bounds in DEFAULT_SPACE.items() if name not in fixed}
    given: set[str] = set()
    for text in params:
        name, bounds = parse_param(text)
        if name in given:
            raise AutomatchError(f"--param {name} is given twice")
        if name in fixed:
            raise AutomatchError(f"{name} is both fixed (--set) and searched (--param): give one of them")
        given.add(name)
        space[name] = bounds
    return space


def dataset_split(name: str, dataset: BenchmarkDataset) -> str:
    """``"test"``, ``"train"`` or ``"validation"``: the part of a benchmark ``dataset`` (registry ``name``) is.

    OTB-format folders read as ``otb`` are a test set when they hold any OTB sequence, else (a benchmark that
    ``automatch synth`` wrote, one's own sequences) a validation set."""
    key = name.lower().replace("_", "-")
    if key in TEST_SPLITS:
        return "test"
    if key == "lasot-train":
        return "train"
    if key == "otb" and any(n in otb_table.TABLE for n in dataset.sequence_names):
        return "test"
    return "validation"


def benchmark_sequences(dataset: BenchmarkDataset) -> list[Sequence]:
    """Every sequence of ``dataset``, each with complete ground truth (a private test split is refused)."""
    sequences = [dataset[name] for name in dataset.sequence_names]
    if not sequences:
        raise AutomatchError(f"{dataset.name}: the benchmark holds no sequence")
    for seq in sequences:
        if not seq.fully_annotated:
            raise AutomatchError(
                f"{dataset.name}: the ground truth of {seq.name} is private (test split): tuning needs every frame's"
            )
    return sequences


# ---------------------------------------------------------------------------------------------------- study
@dataclasses.dataclass(frozen=True)
class TuneJob:
    """One search: what every worker needs (plain values, so that it pickles into spawned processes).

    Attributes:
      study: the SQLite file of the study.
      dataset, root: the benchmark's registry name and folder.
      model: the model name or checkpoint folder (None: the default model); dtype: its compute precision.
      fixed: settings applied on top of the model's before the searched ones (a preset's values and ``--set``).
      space: searched setting -> (low, high), sampled uniformly.
      seed: the sampler's seed.
      trials: the study's total of finished trials to reach (None: no limit).
      deadline: ``time.time()`` after which no trial starts (None: no limit).
      sequences: how many sequences the benchmark holds (for the record only).
    """

    study: Path
    dataset: str
    root: Path
    model: str | None
    dtype: str | None
    fixed: dict[str, float]
    space: dict[str, tuple[float, float]]
    seed: int = 0
    trials: int | None = None
    deadline: float | None = None
    sequences: int = 0

    def identity(self) -> dict[str, Any]:
        """What the study searches, stored with it: a rerun must search the same."""
        return {
            "objective": OBJECTIVE,
            "dataset": self.dataset,
            "root": str(Path(self.root).resolve()),
            "model": str(Path(self.model).resolve()) if self.model and Path(self.model).exists() else self.model or "",
            "dtype": self.dtype or "",
            "fixed": {k: float(v) for k, v in sorted(self.fixed.items())},
            "space": {k: [float(lo), float(hi)] for k, (lo, hi) in sorted(self.space.items())},
            "seed": int(self.seed),
        }

    def lock_path(self, kind: str) -> Path:
        """The lock file of the study: ``"run"`` (one ``automatch tune`` at a time) or ``"ask"`` (one ask)."""
        return Path(f"{self.study}.lock") if kind == "run" else Path(f"{self.study}.ask.lock")


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def storage_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def check_study_file(path: Path) -> None:
    """Refuses a ``--study`` file that exists but is not an SQLite database of optuna studies (one line)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb") as f:
        header = f.read(16)
    if header != b"SQLite format 3\x00":
        raise AutomatchError(f"--study {path}: not an SQLite database (give a new file name or an earlier study)")
    try:
        with sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise AutomatchError(f"--study {path}: unreadable SQLite database ({exc})") from None
    if tables and "studies" not in tables:
        raise AutomatchError(f"--study {path}: an SQLite database that holds no optuna study")


def open_study(job: TuneJob, create: bool = False):
    """The job's optuna study in its SQLite file (created with ``create``; then its identity is checked).

    Raises:
      AutomatchError: the file holds another study, one that searched something else, or an unreadable one.
    """
    optuna = _optuna()
    storage = optuna.storages.RDBStorage(storage_url(job.study), engine_kwargs={"connect_args": {"timeout": 120}})
    try:
        names = [s.study_name for s in storage.get_all_studies()]
        if names and names != [STUDY_NAME]:
            raise AutomatchError(f"--study {job.study}: holds studies {', '.join(names)}, not one of automatch tune")
        if create and not names:
            study = optuna.create_study(storage=storage, study_name=STUDY_NAME, direction="maximize")
            for key, value in job.identity().items():
                study.set_user_attr(key, value)
            return study
        study = optuna.load_study(storage=storage, study_name=STUDY_NAME)
    except AutomatchError:
        raise
    except Exception as exc:  # optuna's and SQLAlchemy's errors for a database it cannot use
        raise AutomatchError(f"--study {job.study}: cannot be used as an optuna study ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]})") from None
    stored = study.user_attrs
    different = [key for key, value in job.identity().items() if stored.get(key) != value]
    if different:
        raise AutomatchError(
            f"--study {job.study} searched with another {', '.join(different)}; give a new --study file, or "
            "repeat the arguments the study was started with"
        )
    return study


def requeue_unfinished(study) -> int:
    """Marks the trials a killed run left running as failed and queues their settings to run first; returns how
    many. Only called while this run holds the study's run lock, so no other run owns them."""
    optuna = _optuna()
    unfinished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in unfinished:  # optuna has no public call that ends another process's trial
        study._storage.set_trial_state_values(trial._trial_id, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"requeued_from": trial.number})
    return len(unfinished)


def counts(study) -> tuple[int, int]:
    """``(finished, running)`` trials of the study."""
    optuna = _optuna()
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(states.COMPLETE, states.RUNNING))
    finished = sum(t.state == states.COMPLETE for t in trials)
    return finished, len(trials) - finished


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``."""
    return (int(seed) * 1_000_003 + int(number) * 7919 + 17) % (2**32)


def ask(study, job: TuneJob, first: bool = False):
    """The next trial, its settings sampled, or None once the budget is spent. Atomic across workers (file lock):
    a trial is only started while finished + running trials stay below ``job.trials``, and before ``job.deadline``
    unless it is a worker's ``first`` (a worker that started late still contributes one trial)."""
    from filelock import FileLock

    optuna = _optuna()
    with FileLock(str(job.lock_path("ask"))):
        if job.deadline is not None and not first and time.time() >= job.deadline:
            return None
        if job.trials is not None and sum(counts(study)) >= job.trials:
            return None
        number = len(study.get_trials(deepcopy=False))
        study.sampler = optuna.samplers.TPESampler(seed=trial_seed(job.seed, number), constant_liar=True)
        distributions = {name: optuna.distributions.FloatDistribution(lo, hi) for name, (lo, hi) in job.space.items()}
        return study.ask(fixed_distributions=distributions)


# -------------------------------------------------------------------------------------------------- scoring
def sequence_auc(boxes, seq: Sequence, times) -> float:
    """The success AUC of one run on ``seq`` under its benchmark's protocol (GOT-10k: the area under its pooled
    success curve, which is its AO up to the curve's sampling)."""
    from automatch_jax.eval import metrics
    from automatch_jax.eval.protocols import get_protocol

    evaluation = get_protocol(seq.dataset).evaluate_sequence(boxes, seq, times)
    if "success_auc" in evaluation.metrics:
        return float(evaluation.metrics["success_auc"])
    return metrics.area_under_curve(evaluation.success_curve)


def score_settings(tracker, sequences: SequenceOf[Sequence]) -> dict[str, float]:
    """Tracks every sequence once with ``tracker`` -> ``{sequence: success AUC}``."""
    from automatch_jax.tracking.run import track_frames
    from automatch_jax.tracking.sources import read_image

    scores = {}
    for seq in sequences:
        frames = (read_image(f) for f in seq.frames)
        result = track_frames(tracker, frames, seq.init_box, progress=False, total=len(seq))
        scores[seq.name] = sequence_auc(result.boxes, seq, result.times)
    return scores


def run_worker(
    job: TuneJob, on_trial: Callable[[], None] | None = None, keep_going: Callable[[], bool] | None = None
) -> int:
    """Runs trials of ``job`` until its budget is spent (or ``keep_going()`` turns False before a trial); returns
    how many this worker finished.

    Each trial tracks with a fresh tracker over the same loaded network (settings are compiled into the tracking
    step, so one tracker would keep every trial's program); a trial that raises is marked failed and the error
    is raised.
    """
    from automatch_jax.data.benchmarks import load_benchmark
    from automatch_jax.tracking.tracker import Tracker

    optuna = _optuna()
    sequences = benchmark_sequences(load_benchmark(job.dataset, job.root))
    base = Tracker.from_pretrained(job.model, dtype=job.dtype, **job.fixed)
    study = open_study(job)
    done = 0
    while (keep_going is None or keep_going()) and (trial := ask(study, job, first=done == 0)) is not None:
        try:
            settings = base.settings.replace(**trial.params)
            tracker = Tracker(base.network, settings=settings, name=base.name, crop_on_device=base.crop_on_device)
            scores = score_settings(tracker, sequences)
        except Exception:  # an interrupted trial stays running: the next run queues it again
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        trial.set_user_attr("sequence_auc", scores)
        study.tell(trial, float(sum(scores.values()) / len(scores)))
        done += 1
        if on_trial is not None:
            on_trial()
    return done


def _worker_process(job: TuneJob, index: int, results: Any) -> None:
    """A spawned worker: runs :func:`run_worker` and reports ``("done", index, n)`` or ``("error", index, text,
    is_user_error)`` on ``results``. Accelerator memory is allocated as needed, so that workers can share one.
    A worker whose parent has gone (killed) starts no further trial."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    parent = os.getppid()
    try:
        results.put(("done", index, run_worker(job, keep_going=lambda: os.getppid() == parent)))
    except AutomatchError as exc:
        results.put(("error", index, str(exc), True))
    except Exception as exc:  # reported to the parent, which raises it
        results.put(("error", index, f"{type(exc).__name__}: {exc}", False))


# ------------------------------------------------------------------------------------------------------ run
@dataclasses.dataclass(frozen=True)
class TuneResult:
    """The study after a run: ``best_value`` (mean success AUC), ``best_settings`` (fixed + searched values of the
    best trial), ``best_trial`` (its number), ``finished`` (the study's finished trials), ``ran`` (this run's),
    ``requeued`` (unfinished trials of a killed run queued again)."""

    best_value: float
    best_settings: dict[str, float]
    best_trial: int
    finished: int
    ran: int
    requeued: int


class _Progress:
    """A tqdm bar over the study's finished trials (total: the trial budget), showing the best value so far."""

    def __init__(self, study, job: TuneJob, enabled: bool):
        from tqdm import tqdm

        self.study = study
        finished, _ = counts(study)
        self.start = finished
        self.bar = tqdm(total=job.trials, initial=finished, desc="tune", unit="trial", disable=not enabled)

    def refresh(self) -> None:
        finished, running = counts(self.study)
        self.bar.update(finished - self.bar.n)
        best = _best(self.study)
        self.bar.set_postfix_str(f"best {best.value:.4f}, running {running}" if best else f"running {running}")

    def close(self) -> None:
        self.bar.close()


def _best(study):
    optuna = _optuna()
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None


def _run_processes(job: TuneJob, workers: int, progress: _Progress) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_worker_process, args=(job, i, results), daemon=True) for i in range(workers)]
    for process in processes:
        process.start()
    pending = set(range(workers))
    try:
        while pending:
            try:
                message = results.get(timeout=1.0)
            except queue.Empty:
                progress.refresh()
                if not any(p.is_alive() for p in processes) and results.empty():
                    raise AutomatchError("a tune worker ended without reporting (out of memory?)") from None
                continue
            pending.discard(message[1])
            if message[0] == "error":
                if message[3]:
                    raise AutomatchError(message[2])
                raise RuntimeError(f"tune worker {message[1]}: {message[2]}")
            progress.refresh()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()


def tune(job: TuneJob, workers: int = 1, progress: bool = True) -> TuneResult:
    """Runs the search ``job`` with ``workers`` processes (1: in this process) and returns the study's best.

    Raises:
      AutomatchError: the study is in use by another run, or cannot be used (see :func:`open_study`), or no trial
        has finished (every worker runs at least one trial, however short the time budget).
    """
    from filelock import FileLock, Timeout

    run_lock = FileLock(str(job.lock_path("run")))
    try:
        run_lock.acquire(timeout=0)
    except Timeout:
        raise AutomatchError(f"--study {job.study}: another automatch tune is using this study") from None
    try:
        study = open_study(job, create=True)
        requeued = requeue_unfinished(study)
        bar = _Progress(study, job, progress)
        try:
            if workers == 1:
                run_worker(job, on_trial=bar.refresh)
            else:
                _run_processes(job, workers, bar)
            bar.refresh()
        finally:
            bar.close()
        best = _best(study)
        finished, _ = counts(study)
        if best is None:
            raise AutomatchError(f"--study {job.study}: no trial has finished; give a larger budget")
        settings = {**job.fixed, **best.params}
        return TuneResult(float(best.value), settings, best.number, finished, finished - bar.start, requeued)
    finally:
        run_lock.release()


def preset_record(job: TuneJob, result: TuneResult) -> dict[str, Any]:
    """The ``tune`` section of the preset file: what was searched, on what, and what the best trial scored."""
    import optuna

    return {
        "objective": OBJECTIVE,
        "value": result.best_value,
        "best_trial": result.best_trial,
        "trials": result.finished,
        "dataset": job.dataset,
        "sequences": job.sequences,
        "model": job.model or "",
        "dtype": job.dtype or "",
        "searched": {k: [lo, hi] for k, (lo, hi) in job.space.items()},
        "fixed": dict(job.fixed),
        "seed": job.seed,
        "sampler": "TPE",
        "optuna": optuna.__version__,
    }


def check_model(model: str | None, fixed: Mapping[str, float], space: Mapping[str, tuple[float, float]]) -> None:
    """Refuses, before any weights are loaded, a model that is not a checkpoint, and fixed values or searched
    intervals that its settings do not accept (both ends of every interval are tried)."""
    import json

    from automatch_jax.models.checkpoint import MANIFEST, CheckpointError, resolve

    manifest_path = resolve(model) / MANIFEST
    try:
        stored = json.loads(manifest_path.read_text(encoding="utf-8"))["settings"]
        settings = TrackerSettings.from_dict(stored)
    except (OSError, ValueError, KeyError, TypeError, AutomatchError):
        raise CheckpointError(f"{manifest_path.parent}: not a readable automatch checkpoint (see {MANIFEST})") from None
    for end in (0, 1):
        settings.replace(**{**fixed, **{name: bounds[end] for name, bounds in space.items()}})
