"""``launch/multi_gpu.sh`` and ``launch/multi_host.sh`` run for real on this CPU: the first as one process over two
fake devices (``--xla_force_host_platform_device_count=2``), the second as two processes joined by
``jax.distributed`` on localhost; each trains (and, marked slow, searches) two steps of the smoke network and
writes its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automatch_jax.data.imagery import Imagery
from automatch_jax.models.checkpoint import load_manifest
from tests.data.fixtures import save_imagery
from tests.train.test_multihost import (  # the same programs: a test session compiles them once for both
    CONFIG,
    _finish,
    _free_port,
)

REPO = Path(__file__).resolve().parents[2]
STEPS = 2  # --max-steps: of the config's 4 (it checkpoints every 2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(config file, imagery cache, a folder holding an ``automatch`` that runs this interpreter's package): the
    smoke network, 4 steps, no loader workers; the scripts exec ``automatch`` from ``PATH``."""
    folder = tmp_path_factory.mktemp("launch")
    config = folder / "launch.py"
    config.write_text(CONFIG.format(smoke=str(REPO / "configs" / "smoke.py")))
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "automatch"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m automatch_jax.cli.main "$@"\n')
    shim.chmod(0o755)
    return config, save_imagery(Imagery.builtin(cutouts=12), folder / "imagery"), bin_dir


def _launch(script: str, setup: tuple[Path, Path, Path], out: Path, command: str, processes: int) -> None:
    """Runs ``launch/<script> CONFIG OUT --max-steps 2 --imagery ... --quiet`` as ``processes`` processes (two:
    joined through ``JAX_COORDINATOR_ADDRESS``; one: over two fake CPU devices) and checks every one exits 0."""
    config, imagery, bin_dir = setup
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "AUTOMATCH_COMMAND": command,
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("AUTOMATCH_DISTRIBUTED", "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        env.pop(name, None)
    if processes == 1:
        envs = [{**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}]
    else:
        env.pop("XLA_FLAGS", None)  # one device per process
        port = _free_port()
        envs = [{**env, "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}", "JAX_NUM_PROCESSES": str(processes),
                 "JAX_PROCESS_ID": str(index)} for index in range(processes)]
    args = ["bash", str(REPO / "launch" / script), str(config), str(out), "--max-steps", str(STEPS),
            "--imagery", str(imagery), "--quiet"]
    procs = [subprocess.Popen(args, env=e, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for e in envs]
    _finish(procs, f"launch/{script}")


SCRIPTS = [("multi_gpu.sh", 1), ("multi_host.sh", 2)]


@pytest.mark.parametrize(("script", "processes"), SCRIPTS)
def test_launch_script_trains(script: str, processes: int, setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    _launch(script, setup, out, "train", processes)
    info = load_manifest(out / "model")[1]["info"]
    assert info["steps"] == STEPS and info["devices"] == 2
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [str(STEPS)]


@pytest.mark.slow  # ~30 s (one process) and ~40 s (two): tracing the search step; the training runs above by default
@pytest.mark.parametrize(("script", "processes"), SCRIPTS)
def test_launch_script_searches(script: str, processes: int, setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    arch = tmp_path / "arch.json"
    _launch(script, setup, arch, "search", processes)
    result = json.loads(arch.read_text())
    assert result["steps"] == STEPS and result["devices"] == 2
    assert (tmp_path / "arch.png").is_file()
