"""Multi-host ``automatch train`` and ``automatch search``: two real processes on this machine joined by
``jax.distributed`` (CPU collectives through gloo) finish, end with the same state, write one set of files; when one
process is killed with SIGKILL the other exits non-zero within a bound (``AUTOMATCH_HEARTBEAT_S``) instead of
hanging, and the restarted job resumes to the uninterrupted job's parameters (and, for a search, its result)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.errors import AutomatchError
from automatch_jax.tracking import load_checkpoint
from automatch_jax.train import runner
from automatch_jax.train.runner import params_digest
from tests.data.fixtures import save_imagery

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 240  # seconds, per process
HEARTBEAT_S = 10  # AUTOMATCH_HEARTBEAT_S of the jobs a test kills a process of
BOUND_S = 60  # the survivor of such a job exits within this many seconds of the kill (HEARTBEAT_S and a margin)

# the real CLI in each process; Runner.run is wrapped only to print a digest of the final state of that process
DRIVER = textwrap.dedent(
    """
    import sys
    import jax
    import numpy as np
    import automatch_jax.train.runner as runner
    from automatch_jax.cli.main import main

    run = runner.Runner.run

    def run_and_report(self, *args, **kwargs):
        final = run(self, *args, **kwargs)
        print("state-digest", runner.params_digest(final).tobytes().hex(), flush=True)
        model = {"params": final.params, "batch_stats": final.batch_stats}
        model = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float32), model)
        print("model-digest", runner.params_digest(model).tobytes().hex(), flush=True)
        return final

    runner.Runner.run = run_and_report
    sys.exit(main(sys.argv[1:]))
    """
)

CONFIG = textwrap.dedent(
    """
    from automatch_jax.train.config import load_config

    def get_config():
        config = load_config({smoke!r})
        config.train.update(steps=4, checkpoint_every=2, log_every=2, eval_every=4, workers=0)
        config.search.update(steps=4, checkpoint_every=2, log_every=1, workers=0, order="first")
        return config
    """
)


def test_joining_a_job_bounds_every_wait_on_the_other_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(runner.jax.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(runner.jax.distributed, "initialize", lambda **kwargs: calls.append(kwargs))
    for name in ("AUTOMATCH_DISTRIBUTED", "AUTOMATCH_INIT_TIMEOUT_S", "AUTOMATCH_SHUTDOWN_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    monkeypatch.setenv("AUTOMATCH_HEARTBEAT_S", " 15 ")
    runner.start_distributed()
    assert calls == [{"num_processes": 2, "process_id": 1, "initialization_timeout": 300,
                      "heartbeat_timeout_seconds": 15, "shutdown_timeout_seconds": 120}]
    left = []
    monkeypatch.setattr(runner.jax.distributed, "shutdown", lambda: left.append(True))
    runner.leave_distributed()
    runner.leave_distributed()  # once only: the job it joined is left
    assert left == [True]
    for bad in ("0", "-5", "1.5", "soon"):
        monkeypatch.setenv("AUTOMATCH_HEARTBEAT_S", bad)
        with pytest.raises(AutomatchError, match="AUTOMATCH_HEARTBEAT_S"):
            runner.start_distributed()
    assert len(calls) == 1


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config file, imagery cache) for the jobs: the smoke network, a few steps, no loader workers."""
    folder = tmp_path_factory.mktemp("multihost")
    config = folder / "multihost.py"
    config.write_text(CONFIG.format(smoke=str(REPO / "configs" / "smoke.py")))
    return config, save_imagery(Imagery.builtin(cutouts=12), folder / "imagery")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], **env_vars: str) -> list[subprocess.Popen]:
    port = _free_port()
    procs = []
    for index in range(2):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
               "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(index),
               "PYTHONFAULTHANDLER": "1", **env_vars}  # a process JAX aborts prints where its threads were
        env.pop("XLA_FLAGS", None)  # one device per process
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, cwd=REPO, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    return procs


def _finish(procs: list[subprocess.Popen], what: str = "a process of the two-host job") -> list[str]:
    """Every process's output once they exit 0 (killed and failed after TIMEOUT seconds, naming ``what``)."""
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(f"{what} hung:\n" + "\n".join(p.communicate()[0][-3000:] for p in procs))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    statuses = [proc.returncode for proc in procs]
    assert statuses == [0] * len(procs), "\n".join(
        f"--- process {i} (exit status {status}):\n{out[-3000:]}" for i, (status, out) in
        enumerate(zip(statuses, outputs, strict=True)))
    return outputs


def _kill_one_after_checkpoint(procs: list[subprocess.Popen], checkpoint: Path) -> tuple[int, float, str]:
    """SIGKILL process 1 of a running job once ``checkpoint`` is complete (orbax renames it into place); ->
    (process 0's exit status, its seconds from the kill to its exit, its output). Both end here whatever happens."""
    try:
        deadline = time.monotonic() + TIMEOUT
        while not checkpoint.is_dir():
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), f"no {checkpoint}"
            time.sleep(0.2)
        procs[1].kill()  # a host dies
        killed = time.monotonic()
        try:
            output = procs[0].communicate(timeout=BOUND_S)[0]
        except subprocess.TimeoutExpired:
            procs[0].kill()
            pytest.fail(f"process 0 still runs {BOUND_S} s after process 1 was killed:\n"
                        + procs[0].communicate()[0][-3000:])
        seconds = time.monotonic() - killed
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    # process 1 died mid-run (had it finished first, the kill and the restart would test nothing)
    assert procs[1].returncode == -signal.SIGKILL
    return procs[0].returncode, seconds, output


def _digests(outputs: list[str], kind: str) -> list[str]:
    return [re.findall(rf"^{kind}-digest (\w+)$", out, re.M)[-1] for out in outputs]


def _args(command: str, setup: tuple[Path, Path], out: Path) -> list[str]:
    """``automatch COMMAND`` (train or search) of the test config into ``out``."""
    config, imagery = setup
    return [command, "--config", str(config), "--out", str(out), "--imagery", str(imagery), "--quiet"]


@pytest.fixture(scope="module")
def trained(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("train") / "run"
    return out, _finish(_start(_args("train", setup, out)))


def test_two_host_training_finishes_with_identical_parameters(trained: tuple[Path, list[str]]) -> None:
    out, outputs = trained
    states, models = _digests(outputs, "state"), _digests(outputs, "model")
    assert states[0] == states[1] and models[0] == models[1]
    # the chief's tracker checkpoint holds those parameters; one checkpoint folder per saved step, one log
    assert params_digest(load_checkpoint(out / "model").variables).tobytes().hex() == models[0]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["2", "4"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert len(list((out / "tensorboard").iterdir())) == 1


@pytest.fixture(scope="module")
def killed_training(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
                    ) -> tuple[Path, int, float, str]:
    """A two-host training job whose process 1 was killed after the checkpoint of step 2: (its output folder,
    process 0's exit status, its seconds from the kill to its exit, its output)."""
    out = tmp_path_factory.mktemp("killed") / "run"
    procs = _start(_args("train", setup, out), AUTOMATCH_HEARTBEAT_S=str(HEARTBEAT_S))
    return out, *_kill_one_after_checkpoint(procs, out / "checkpoints" / "2")


def test_a_killed_host_ends_the_other_within_the_heartbeat_bound(
        killed_training: tuple[Path, int, float, str]) -> None:
    out, status, seconds, output = killed_training
    assert status != 0, output[-3000:]  # it fails (a gloo error, or JAX's abort when the heartbeats stop: -6)
    assert seconds < BOUND_S
    assert not (out / "model").exists()


def test_a_job_restarted_after_a_host_died_resumes_to_the_uninterrupted_parameters(
        setup: tuple[Path, Path], trained: tuple[Path, list[str]],
        killed_training: tuple[Path, int, float, str]) -> None:
    out = killed_training[0]
    outputs = _finish(_start(_args("train", setup, out)))  # every process, the same command
    assert _digests(outputs, "model") == _digests(trained[1], "model")
    assert _digests(outputs, "state") == _digests(trained[1], "state")
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [2, 4]


def _result(arch: Path) -> dict:
    """ARCH.json without its timings."""
    return {k: v for k, v in json.loads(arch.read_text()).items() if k not in ("seconds", "seconds_per_step")}


@pytest.fixture(scope="module")
def searched(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    arch = tmp_path_factory.mktemp("search") / "arch.json"
    return arch, _finish(_start(_args("search", setup, arch)))


def test_two_host_search_finishes_with_identical_state(searched: tuple[Path, list[str]]) -> None:
    arch, outputs = searched
    states = _digests(outputs, "state")
    assert states[0] == states[1]
    assert all("architecture written to" in out for out in outputs)
    assert sorted(p.name for p in arch.parent.iterdir()) == ["arch.json", "arch.png", "arch_search"]
    assert sorted(p.name for p in (arch.parent / "arch_search" / "checkpoints").iterdir()) == ["2", "4"]
    assert _result(arch)["steps"] == 4


@pytest.mark.slow  # ~90 s: two more two-host searches (tracing the search step costs ~30 s a job); by default the
# training tests above kill a host and resume through the same Runner, and tests/search resumes a one-process search
def test_a_search_killed_on_one_host_and_restarted_resumes_to_the_uninterrupted_result(
        setup: tuple[Path, Path], searched: tuple[Path, list[str]], tmp_path: Path) -> None:
    arch = tmp_path / "arch.json"
    procs = _start(_args("search", setup, arch), AUTOMATCH_HEARTBEAT_S=str(HEARTBEAT_S))
    status, _, output = _kill_one_after_checkpoint(procs, tmp_path / "arch_search" / "checkpoints" / "2")
    assert status != 0, output[-3000:]
    assert not arch.exists()
    outputs = _finish(_start(_args("search", setup, arch)))
    assert _digests(outputs, "state") == _digests(searched[1], "state")
    assert _result(arch) == _result(searched[0])
    history = (tmp_path / "arch_search" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in history] == [0, 1, 2, 3, 4]


@pytest.mark.slow  # ~70 s: two more two-host jobs; by default one host is killed and the job restarted (above)
def test_killed_two_host_training_resumes_to_the_uninterrupted_parameters(
        setup: tuple[Path, Path], trained: tuple[Path, list[str]], tmp_path: Path) -> None:
    out = tmp_path / "run"
    procs = _start(_args("train", setup, out))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "checkpoints" / "2").is_dir():  # orbax renames the finished checkpoint into place
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "no checkpoint of step 2"
            time.sleep(0.2)
        procs[1].kill()  # SIGKILL: a host dies; the scheduler then stops the rest of the job
        procs[0].kill()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    # both died mid-run (had either finished first, the restart below would test nothing)
    assert [proc.returncode for proc in procs] == [-signal.SIGKILL] * 2
    assert not (out / "model").exists()
    outputs = _finish(_start(_args("train", setup, out)))
    assert _digests(outputs, "model") == _digests(trained[1], "model")
    assert _digests(outputs, "state") == _digests(trained[1], "state")


@pytest.mark.slow  # ~40 s: a two-host job of 200 planned steps, stopped after its first checkpoint
def test_sigterm_to_one_host_stops_every_host_at_one_checkpointed_step(setup: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    config, imagery = setup
    long = tmp_path / "long.py"
    long.write_text(config.read_text().replace("steps=4,", "steps=200,", 1))
    out = tmp_path / "run"
    procs = _start(["train", "--config", str(long), "--out", str(out), "--imagery", str(imagery), "--quiet"])
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "checkpoints" / "2").is_dir():
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "no checkpoint of step 2"
            time.sleep(0.2)
        procs[1].send_signal(signal.SIGTERM)  # JAX's pre-emption service tells every process of the job
        outputs = [proc.communicate(timeout=BOUND_S)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    assert [proc.returncode for proc in procs] == [128 + signal.SIGTERM] * 2, outputs[0][-3000:]
    steps = [int(re.findall(r"stopped by SIGTERM at step (\d+)", out)[-1]) for out in outputs]
    assert steps[0] == steps[1] < 200
    assert str(steps[0]) in [p.name for p in (out / "checkpoints").iterdir()]
