"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from automatch_jax.config import build_network, load_config
from automatch_jax.tracking import TrackerCheckpoint, TrackerSettings, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


def shared_sequences_dir() -> Path | None:
    """The real benchmark sequences beside the checkout (``../shared/data/sequences``), if present.

    ``AUTOMATCH_SHARED_SEQUENCES`` overrides the location.
    """
    env = os.environ.get("AUTOMATCH_SHARED_SEQUENCES")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "sequences"
    return path if path.is_dir() else None


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
