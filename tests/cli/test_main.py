"""The ``automatch`` entry point: JAX's persistent compilation cache is on by default, where the user wants it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automatch_jax.cli.main import use_compilation_cache


def test_compilation_cache_defaults_to_the_automatch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_COMPILATION_CACHE_MAX_SIZE", "AUTOMATCH_COMPILATION_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    use_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / ".cache" / "automatch" / "xla")
    assert int(os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"]) > 0
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/else")  # the user's choice wins
    use_compilation_cache()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == "/somewhere/else"
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR")
    monkeypatch.setenv("AUTOMATCH_COMPILATION_CACHE", "0")  # off
    use_compilation_cache()
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ
