"""Success, precision and normalised-precision plots and the per-attribute radar plot (PNG).

Every plot is drawn with matplotlib's non-interactive Agg backend (on a ``Figure`` of its own, never through
``pyplot``'s global state), so plots work on machines without a display and in threads. :func:`render_plots`
returns the PNG bytes (for the HTML report); :func:`plot_reports` writes them as files.

Plots made for reports ``R`` of one benchmark:

- ``success``, ``precision``, ``norm_precision``: one curve per tracker over the whole benchmark, the legend
  holding each tracker's score (trackers ordered by it, best first);
- ``success_<ATTR>``, ``precision_<ATTR>``, ``norm_precision_<ATTR>``: the same over the sequences carrying the
  attribute ``ATTR``;
- ``radar``: pytracking's attribute radar plot (``plot_attributes_radar``): one axis per attribute, labelled
  with the attribute and its number of sequences, one closed polygon per tracker whose radius on each axis is
  the tracker's AUC (GOT-10k: AO) on that attribute, in percent; the legend gives the overall AUC. Drawn when
  the benchmark has at least three attributes (fewer make no polygon).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence as SequenceOf
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from automatch_jax.eval.evaluate import TrackerReport

if TYPE_CHECKING:  # matplotlib is imported when a plot is drawn, not with this module
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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

RADAR_MIN_ATTRIBUTES = 3
"""The radar plot needs this many attributes (axes) to enclose an area."""

_DPI = 120


@dataclasses.dataclass(frozen=True)
class Plot:
    """One rendered plot.

    Attributes:
      stem: file name without ``.png``: ``success``, ``precision_SV``, ``radar`` ...
      title: the title drawn on the plot.
      attribute: the attribute whose sequences it covers; ``None`` for the whole benchmark.
      png: the PNG file's bytes.
    """

    stem: str
    title: str
    attribute: str | None
    png: bytes


def _figure(size: tuple[float, float], polar: bool = False) -> tuple[Figure, Axes]:
    """A new Agg figure and its one axes (``polar=True``: a polar axes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111, polar=polar)
    return fig, ax


def _png(fig: Figure, **savefig: object) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, **savefig)
    return buffer.getvalue()


def _styles(reports: SequenceOf[TrackerReport]) -> dict[str, tuple[str, str]]:
    """Tracker name -> (colour, line style), fixed by the tracker's place among ``reports``, so a tracker has
    the same colour in every plot: matplotlib's ten cycle colours, then the same with another line style."""
    lines = ["-", "--", "-.", ":"]
    return {r.name: (f"C{i % 10}", lines[(i // 10) % len(lines)]) for i, r in enumerate(reports)}


def _curve_png(
    title: str, xs: np.ndarray, xlabel: str, ylabel: str, curves: list[tuple[str, np.ndarray, tuple[str, str]]]
) -> bytes:
    """One curve plot: ``curves`` are (legend label, (len(xs),) y values in [0, 1], (colour, line style)),
    drawn and listed in the legend in their order."""
    fig, ax = _figure((6.0, 4.5))
    for label, curve, (color, line) in curves:
        ax.plot(xs, curve, linestyle=line, color=color, linewidth=2, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(float(xs[0]), float(xs[-1])), ylim=(0.0, 1.0))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="lower left" if "Success" in title else "lower right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _score_key(members: SequenceOf[dict[str, float]], scores: SequenceOf[tuple[str, str]]) -> tuple[str, str] | None:
    """The first (score key, legend label) of ``scores`` that every metrics dict of ``members`` holds."""
    for score in scores:
        if all(score[0] in m for m in members):
            return score
    return None


def attribute_names(reports: SequenceOf[TrackerReport]) -> list[str]:
    """The attributes any report has, in the order the reports list them (the benchmark's order)."""
    names: list[str] = []
    for report in reports:
        names += [a for a in report.attributes if a not in names]
    return names


def _curve_plots(
    reports: SequenceOf[TrackerReport], dataset: str, attribute: str | None
) -> list[Plot]:
    """The success/precision/normalised-precision plots over the benchmark or over one attribute's sequences."""
    thresholds = {k: v for r in reports for k, v in r.thresholds.items()}
    if attribute is None:
        members = {r.name: (r.overall, r.curves) for r in reports}
        suffix, subtitle = "", dataset
    else:
        members = {
            r.name: (r.attributes[attribute], r.attribute_curves[attribute])
            for r in reports
            if attribute in r.attributes
        }
        suffix, subtitle = f"_{attribute}", f"{dataset} - {attribute} ({_attribute_count(reports, attribute)})"
    styles = _styles(reports)
    plots = []
    for key, (stem, xlabel, ylabel, title, *scores) in _KINDS.items():
        scored = [(name, m, c) for name, (m, c) in members.items() if key in c]
        score = _score_key([m for _, m, _ in scored], scores)
        if key not in thresholds or not scored or score is None:
            continue
        score_key, score_label = score
        scored.sort(key=lambda item: -item[1][score_key])
        curves = [
            (f"{name} [{score_label} {100 * m[score_key]:.1f}]", c[key], styles[name]) for name, m, c in scored
        ]
        full_title = f"{title} - {subtitle}"
        png = _curve_png(full_title, np.asarray(thresholds[key]), xlabel, ylabel, curves)
        plots.append(Plot(f"{stem}{suffix}", full_title, attribute, png))
    return plots


def _attribute_count(reports: SequenceOf[TrackerReport], attribute: str) -> int:
    """Number of sequences carrying ``attribute`` (the same for every report of one benchmark)."""
    return next(r.attribute_counts[attribute] for r in reports if attribute in r.attribute_counts)


def radar_scores(reports: SequenceOf[TrackerReport]) -> tuple[str, list[str], dict[str, list[float]]] | None:
    """The radar plot's numbers: (score key, attributes, tracker name -> score per attribute, fractions).

    The score is ``success_auc`` (``ao`` where the protocol has no AUC); only attributes every report holds
    are axes. ``None`` when fewer than :data:`RADAR_MIN_ATTRIBUTES` attributes remain or no score applies.
    """
    attributes = [a for a in attribute_names(reports) if all(a in r.attributes for r in reports)]
    if len(attributes) < RADAR_MIN_ATTRIBUTES:
        return None
    score = _score_key([r.attributes[a] for r in reports for a in attributes], _KINDS["success_curve"][4:])
    if score is None:
        return None
    return score[0], attributes, {r.name: [r.attributes[a][score[0]] for a in attributes] for r in reports}


def radar_figure(reports: SequenceOf[TrackerReport], dataset: str) -> Figure | None:
    """pytracking's attribute radar plot (module docstring) as a matplotlib figure, or ``None`` where it has
    too few axes. Its axes' angles are ``2 pi i / n`` for the n attributes; each tracker's line is closed (its
    first point repeated at the end)."""
    found = radar_scores(reports)
    if found is None:
        return None
    score_key, attributes, scores = found
    label = dict(_KINDS["success_curve"][4:])[score_key]
    order = sorted(reports, key=lambda r: -r.overall.get(score_key, 0.0))
    angles = [2.0 * math.pi * i / len(attributes) for i in range(len(attributes))]
    styles = _styles(reports)
    fig, ax = _figure((6.5, 6.8), polar=True)
    for report in order:
        color, line = styles[report.name]
        values = [100.0 * v for v in scores[report.name]]
        overall = report.overall.get(score_key)
        name = report.name if overall is None else f"{report.name} [{label} {100.0 * overall:.1f}]"
        ax.plot(angles + angles[:1], values + values[:1], linewidth=2, marker="o", markersize=5, label=name,
                color=color, linestyle=line)
    top = max(10.0, 10.0 * math.ceil(max(100.0 * v for s in scores.values() for v in s) / 10.0))
    ax.set_thetagrids(
        np.degrees(angles), labels=[f"{a}\n({_attribute_count(reports, a)})" for a in attributes], fontsize=9
    )
    ax.xaxis.set_tick_params(pad=12)
    ax.set_rlabel_position(0)
    ax.set_ylim(0.0, top)
    ax.set_yticks(np.linspace(0.0, top, 5)[1:])
    ax.tick_params(axis="y", colors="grey", labelsize=7)
    ax.set_title(f"{label} per attribute (%) - {dataset}", pad=24)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(len(order), 3), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _radar_plot(reports: SequenceOf[TrackerReport], dataset: str) -> Plot | None:
    """:func:`radar_figure` rendered, or ``None``."""
    fig = radar_figure(reports, dataset)
    if fig is None:
        return None
    return Plot("radar", fig.axes[0].get_title(), None, _png(fig, bbox_inches="tight"))


def render_plots(reports: SequenceOf[TrackerReport], dataset: str) -> list[Plot]:
    """All plots of the module docstring for these reports, in the order: overall curves, radar, then each
    attribute's curves. Curve kinds a protocol does not define (VOT supervised: all) are left out."""
    plots = _curve_plots(reports, dataset, None)
    radar = _radar_plot(reports, dataset)
    if radar is not None:
        plots.append(radar)
    for attribute in attribute_names(reports):
        plots += _curve_plots(reports, dataset, attribute)
    return plots


def write_plots(plots: SequenceOf[Plot], out_dir: Path) -> list[Path]:
    """Writes each plot to ``out_dir/<stem>.png`` (the folder created). Returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for plot in plots:
        path = out_dir / f"{plot.stem}.png"
        path.write_bytes(plot.png)
        written.append(path)
    return written


def plot_reports(reports: SequenceOf[TrackerReport], out_dir: Path, dataset: str) -> list[Path]:
    """Writes :func:`render_plots` to ``out_dir/<stem>.png`` (the folder created). Returns the written paths."""
    return write_plots(render_plots(reports, dataset), out_dir)
