"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import flax
import jax
import jax.numpy as jnp
import pytest

from automatch_jax.models.config import build_network
from automatch_jax.models.settings import AUTOMATCH_INFERENCE
from automatch_jax.models.tracker_net import example_inputs
from automatch_jax.tracking import TrackerCheckpoint, TrackerSettings, save_checkpoint
from automatch_jax.train.config import load_config

REPO = Path(__file__).resolve().parents[1]
_CACHE_KEY = pytest.StashKey[str]()


def shared_sequences_dir() -> Path | None:
    """The real benchmark sequences beside the checkout (``../shared/data/sequences``), if present.

    ``AUTOMATCH_SHARED_SEQUENCES`` overrides the location.
    """
    env = os.environ.get("AUTOMATCH_SHARED_SEQUENCES")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "sequences"
    return path if path.is_dir() else None


def pytest_configure(config: pytest.Config) -> None:
    """One persistent XLA compilation cache for the whole run (this process and the CLI subprocesses), set before
    anything compiles: many tests compile the same tracker, training or search step again, and CI's 2 cores spend
    most of the suite compiling. Results do not change: JAX keys the cache by the program and the compiler options."""
    if hasattr(config, "workerinput") and os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        cache = os.environ["JAX_COMPILATION_CACHE_DIR"]  # a pytest-xdist worker shares its controller's cache
    else:
        cache = tempfile.mkdtemp(prefix="automatch-test-xla-cache-")
        config.stash[_CACHE_KEY] = cache
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = cache
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.5"


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_CACHE_KEY, ""), ignore_errors=True)


@pytest.fixture(scope="session")
def real_sequences() -> Path:
    """Folder holding the real sequences Crossing, MotorRolling (OTB) and bag (VOT2015)."""
    path = shared_sequences_dir()
    if path is None:
        pytest.skip("the real sequences (../shared/data/sequences) are not beside this checkout")
    return path


@pytest.fixture(scope="session")
def smoke_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(REPO / "configs" / "smoke.py")
    net = build_network(config.model)
    g = net.geometry
    variables = net.init(
        jax.random.PRNGKey(0),
        jnp.zeros((1, g.exemplar_size, g.exemplar_size, 3)),
        jnp.array([[20.0, 20.0, 40.0, 40.0]]),
        jnp.zeros((1, g.search_size, g.search_size, 3)),
    )
    path = tmp_path_factory.mktemp("ckpt") / "smoke"
    return save_checkpoint(path, TrackerCheckpoint("smoke", dict(config.model), variables, TrackerSettings()))


SMOKE_AUTOMATCH = {"arch": "automatch", "backbone": "tiny", "channels": 16, "reg_tower_layers": 1,
                   "search_size": 127, "exemplar_size": 63}


@pytest.fixture(scope="session")
def smoke_automatch_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised AutoMatch network (tiny backbone, 16 channels) with the authors' inference settings,
    its BatchNorm statistics perturbed so that folding them is not the identity."""
    net = build_network(SMOKE_AUTOMATCH)
    variables = flax.core.unfreeze(jax.jit(net.init)(jax.random.PRNGKey(0), *example_inputs(net)))
    leaves, tree = jax.tree_util.tree_flatten(variables["batch_stats"])
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    variables["batch_stats"] = jax.tree_util.tree_unflatten(
        tree,
        [leaf + 0.1 * jnp.abs(jax.random.normal(key, leaf.shape)) for leaf, key in zip(leaves, keys, strict=True)],
    )
    settings = TrackerSettings().replace(**AUTOMATCH_INFERENCE)
    path = tmp_path_factory.mktemp("ckpt") / "smoke-automatch"
    return save_checkpoint(path, TrackerCheckpoint("smoke-automatch", dict(SMOKE_AUTOMATCH), variables, settings))
