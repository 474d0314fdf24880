"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
