"""Success, precision and normalised-precision plots (PNG), one curve per tracker, score in the legend.

Written with matplotlib's non-interactive Agg backend, so plots work on machines without a display.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np

from automatch_jax.eval.evaluate import TrackerReport

# curve key -> (file stem, x label, y label, title, (score key, legend label)...): the first score key a report
# has orders the trackers and labels the legend (GOT-10k has no AUC: its AO is the success curve's area). The
# x values are the report's thresholds of that curve.
_KINDS = {
    "success_curve": (
        "success",
        "Overlap threshold",
        "Success rate",
        "Success plots of OPE",
        ("success_auc", "AUC"),
        ("ao", "AO"),
    ),
    "precision_curve": (
        "precision",
        "Location error threshold (px)",
        "Precision",
        "Precision plots of OPE",
        ("precision_20", "@20px"),
        ("precision_auc", "AUC"),
    ),
    "norm_precision_curve": (
        "norm_precision",
        "Normalized location error threshold",
        "Normalized precision",
        "Normalized precision plots of OPE",
        ("norm_precision", "@0.2"),
        ("norm_precision_auc", "AUC"),
    ),
}


def _plot(
    path: Path, title: str, xs: np.ndarray, xlabel: str, ylabel: str, curves: list[tuple[str, np.ndarray]]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    styles = ["-", "--", "-.", ":"]
    for i, (label, curve) in enumerate(curves):
        ax.plot(xs, curve, styles[(i // 10) % len(styles)], linewidth=2, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(float(xs[0]), float(xs[-1])), ylim=(0.0, 1.0))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="lower left" if "Success" in title else "lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reports(reports: SequenceOf[TrackerReport], out_dir: Path, dataset: str) -> list[Path]:
    """Writes ``success.png``, ``precision.png`` (and ``norm_precision.png`` where defined) for all trackers,
    plus ``success_<ATTR>.png`` per attribute. Trackers are ordered by their score, best first.

    Returns the written paths.
    """
    written = []
    thresholds = {k: v for r in reports for k, v in r.thresholds.items()}
    groups: list[tuple[str, str, dict[str, tuple[dict[str, float], dict[str, np.ndarray]]]]] = [
        ("", dataset, {r.name: (r.overall, r.curves) for r in reports})
    ]
    attributes: list[str] = []
    for report in reports:
        attributes += [a for a in report.attributes if a not in attributes]
    for attribute in attributes:
        groups.append(
            (
                f"_{attribute}",
                f"{dataset} - {attribute}",
                {
                    r.name: (r.attributes[attribute], r.attribute_curves[attribute])
                    for r in reports
                    if attribute in r.attributes
                },
            )
        )
    for suffix, subtitle, members in groups:
        for key, (stem, xlabel, ylabel, title, *scores) in _KINDS.items():
            if (suffix and key != "success_curve") or key not in thresholds:
                continue
            xs = thresholds[key]
            available = [s for s in scores if all(s[0] in m for m, _ in members.values())]
            scored = [(name, m, c) for name, (m, c) in members.items() if key in c]
            if not scored or not available:
                continue
            score_key, score_label = available[0]
            scored.sort(key=lambda item: -item[1][score_key])
            curves = [(f"{name} [{score_label} {100 * m[score_key]:.1f}]", c[key]) for name, m, c in scored]
            path = out_dir / f"{stem}{suffix}.png"
            _plot(path, f"{title} - {subtitle}", np.asarray(xs), xlabel, ylabel, curves)
            written.append(path)
    return written
