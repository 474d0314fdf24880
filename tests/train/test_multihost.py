"""Multi-host ``automatch train`` and ``automatch search``: two real processes on this machine joined by
``jax.distributed`` (CPU collectives through gloo) finish, end with the same state, write one set of files, and a
job killed with SIGKILL resumes to the uninterrupted job's parameters."""

from __future__ import annotations

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
from automatch_jax.tracking import load_checkpoint
from automatch_jax.train.runner import params_digest
from tests.data.fixtures import save_imagery

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 240  # seconds, per process

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
        config.search.update(steps=2, checkpoint_every=2, log_every=1, workers=0, order="first")
        return config
    """
)


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


def _start(args: list[str]) -> list[subprocess.Popen]:
    port = _free_port()
    procs = []
    for index in range(2):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
               "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(index)}
        env.pop("XLA_FLAGS", None)  # one device per process
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, cwd=REPO, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    return procs


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    """Both processes' output once they exit 0 (killed and failed after TIMEOUT seconds)."""
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail("a process of the two-host job hung:\n" + "\n".join(p.communicate()[0][-3000:] for p in procs))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]
    return outputs


def _digests(outputs: list[str], kind: str) -> list[str]:
    return [re.findall(rf"^{kind}-digest (\w+)$", out, re.M)[-1] for out in outputs]


def _train_args(setup: tuple[Path, Path], out: Path) -> list[str]:
    config, imagery = setup
    return ["train", "--config", str(config), "--out", str(out), "--imagery", str(imagery), "--quiet"]


@pytest.fixture(scope="module")
def trained(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("train") / "run"
    return out, _finish(_start(_train_args(setup, out)))


def test_two_host_training_finishes_with_identical_parameters(trained: tuple[Path, list[str]]) -> None:
    out, outputs = trained
    states, models = _digests(outputs, "state"), _digests(outputs, "model")
    assert states[0] == states[1] and models[0] == models[1]
    # the chief's tracker checkpoint holds those parameters; one checkpoint folder per saved step, one log
    assert params_digest(load_checkpoint(out / "model").variables).tobytes().hex() == models[0]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["2", "4"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert len(list((out / "tensorboard").iterdir())) == 1


def test_two_host_search_finishes_with_identical_state(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, imagery = setup
    arch = tmp_path / "arch.json"
    outputs = _finish(_start(["search", "--config", str(config), "--out", str(arch), "--imagery", str(imagery),
                              "--quiet"]))
    states = _digests(outputs, "state")
    assert states[0] == states[1]
    assert all("architecture written to" in out for out in outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arch.json", "arch.png", "arch_search"]
    assert [p.name for p in (tmp_path / "arch_search" / "checkpoints").iterdir()] == ["2"]


@pytest.mark.slow  # ~70 s: three two-host jobs; the finishing two-host jobs above run by default
def test_killed_two_host_training_resumes_to_the_uninterrupted_parameters(
        setup: tuple[Path, Path], trained: tuple[Path, list[str]], tmp_path: Path) -> None:
    out = tmp_path / "run"
    procs = _start(_train_args(setup, out))
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
    outputs = _finish(_start(_train_args(setup, out)))
    assert _digests(outputs, "model") == _digests(trained[1], "model")
    assert _digests(outputs, "state") == _digests(trained[1], "state")
