"""``ARCH.png``: the operator potentials over a search, one panel per branch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from automatch_jax.search.arch import BRANCHES


def plot_potentials(result: Mapping[str, Any], path: Path) -> Path | None:
    """Potentials over the search steps of an ``ARCH.json`` result, the kept operators drawn thick (PNG at
    ``path``); None when the result has no history (the random ablation)."""
    history = result.get("history") or []
    if not history:
        return None
    # a figure of its own: no pyplot state, and no backend switch that would stop a notebook's inline figures
    from matplotlib.figure import Figure

    steps = [h["step"] for h in history]
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, branch in zip(axes, BRANCHES, strict=True):
        values = np.array([h[branch] for h in history])
        for i, op in enumerate(result["space"]):
            kept = op in result[branch]["operators"]
            ax.plot(steps, values[:, i], label=op + (" (kept)" if kept else ""), linewidth=2.2 if kept else 1.0)
        ax.set_title(f"{branch} branch")
        ax.set_xlabel("search step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("potential  sum_j sigmoid(w_ij)")
    axes[1].legend(fontsize=8, loc="best")
    fig.suptitle(f"BCM search, {result.get('order', '')} order ({result.get('config', '')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
