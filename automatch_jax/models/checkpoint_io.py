"""Save and restore pytrees of arrays (Flax variables) with orbax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orbax.checkpoint as ocp

from automatch_jax.errors import AutomatchError


def save_variables(path: str | Path, variables: Any, force: bool = True) -> Path:
    """Write ``variables`` (a pytree of arrays) to the orbax directory ``path``; returns its absolute path."""
    path = Path(path).absolute()
    with ocp.PyTreeCheckpointer() as checkpointer:
        checkpointer.save(path, variables, force=force)
    # orbax's marker for non-atomic file systems names the absolute path it wrote to; a local save is complete
    # once save() returns, and a checkpoint that is shipped or shared should not carry the writer's path
    (path / "commit_success.txt").unlink(missing_ok=True)
    return path


def restore_variables(path: str | Path) -> Any:
    """The pytree saved at ``path`` by :func:`save_variables`, as numpy arrays."""
    path = Path(path).absolute()
    if not path.is_dir():
        raise AutomatchError(f"{path}: orbax checkpoint directory not found")
    try:
        with ocp.PyTreeCheckpointer() as checkpointer:
            tree = checkpointer.restore(path)
    except Exception as exc:  # orbax raises many types for foreign or truncated directories
        raise AutomatchError(
            f"{path}: not a readable orbax checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    import jax

    return jax.tree_util.tree_map(np.asarray, tree)
