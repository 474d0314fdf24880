"""One self-contained HTML report of evaluated trackers: the tables and every plot, in a single file.

The file holds everything it shows: the plots of :func:`automatch_jax.eval.plots.render_plots` are embedded as
``data:image/png;base64`` URIs, the style sheet is inline, there is no script, and a Content-Security-Policy
forbids the browser to fetch anything else, so the report opens the same offline, mailed or archived.

Layout (the ``data-`` attributes let a program read the numbers back):

- ``<table data-table="overall">``: one ``<tr data-row="TRACKER">`` per tracker;
- ``<table data-table="attributes" data-tracker="TRACKER">`` per tracker with attributes: one
  ``<tr data-row="overall">`` and one ``<tr data-row="ATTR">`` per attribute;
- in both, ``<td data-key="n_sequences">`` is the number of sequences, and each metric cell is
  ``<td data-key="KEY" data-value="VALUE">TEXT</td>``: VALUE is the evaluation's number (``repr`` of the float,
  so it reads back exactly), TEXT is it as the terminal tables print it
  (:func:`automatch_jax.eval.report.format_cell`); a metric the row lacks is ``<td data-key="KEY">-</td>``;
- the plots, each a ``<figure data-plot="STEM">`` holding its ``<img>`` (the plot's title as ``alt``): the
  benchmark's below the overall table, each attribute's after the per-attribute tables.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence as SequenceOf
from pathlib import Path

from automatch_jax.errors import AutomatchError
from automatch_jax.eval.evaluate import TrackerReport
from automatch_jax.eval.plots import Plot, attribute_names, render_plots
from automatch_jax.eval.report import describe_convention, format_cell, table_columns
from automatch_jax.paths import check_output_file

_STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 20px 0; font-size: 13px; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th { background: #eee; } th[scope=row] { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; }
img { width: 480px; max-width: 100%; height: auto; }
p.meta { font-size: 13px; color: #444; }
"""

_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _cell(key: str, metrics: dict[str, float]) -> str:
    """One metric cell (module docstring)."""
    text = html.escape(format_cell(key, metrics))
    if key not in metrics:
        return f'<td data-key="{key}">{text}</td>'
    return f'<td data-key="{key}" data-value="{float(metrics[key])!r}">{text}</td>'


def _table(
    attrs: str, first: str, rows: list[tuple[str, int, dict[str, float]]], columns: list[tuple[str, str]]
) -> str:
    """A score table: ``rows`` are (label, number of sequences, metrics); ``attrs`` go on the ``<table>``."""
    header = f"<tr><th>{html.escape(first)}</th><th>Sequences</th>" + "".join(
        f'<th data-key="{key}">{html.escape(title)}</th>' for key, title in columns
    ) + "</tr>"
    body = [
        f'<tr data-row="{html.escape(label, quote=True)}"><th scope="row">{html.escape(label)}</th>'
        f'<td data-key="n_sequences">{count}</td>' + "".join(_cell(key, metrics) for key, _ in columns) + "</tr>"
        for label, count, metrics in rows
    ]
    return f"<table {attrs}>\n<thead>{header}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _overall_table(reports: SequenceOf[TrackerReport]) -> str:
    """All trackers' overall numbers (the first table :func:`~automatch_jax.eval.report.format_tables` prints)."""
    n_sequences = len(reports[0].sequences)
    rows = [(r.name, n_sequences, r.overall) for r in reports]
    return _table('data-table="overall"', "Tracker", rows, table_columns(reports))


def _attribute_tables(reports: SequenceOf[TrackerReport], dataset: str) -> list[str]:
    """Each tracker's per-attribute table, with its overall row first (as the terminal tables)."""
    columns = table_columns(reports)
    n_sequences = len(reports[0].sequences)
    parts = []
    for report in reports:
        if not report.attributes:
            continue
        rows = [("overall", n_sequences, report.overall)] + [
            (attribute, report.attribute_counts[attribute], metrics) for attribute, metrics in report.attributes.items()
        ]
        name = html.escape(report.name, quote=True)
        parts.append(f"<h3>{html.escape(report.name)} on {html.escape(dataset)}</h3>")
        parts.append(_table(f'data-table="attributes" data-tracker="{name}"', "Attribute", rows, columns))
    return parts


def _figure(plot: Plot) -> str:
    """One embedded plot."""
    data = base64.b64encode(plot.png).decode("ascii")
    title = html.escape(plot.title, quote=True)
    return (
        f'<figure data-plot="{html.escape(plot.stem, quote=True)}"><img src="data:image/png;base64,{data}" '
        f'alt="{title}" title="{title}"></figure>'
    )


def _figures(plots: SequenceOf[Plot]) -> list[str]:
    """A row of plots (wrapping), or nothing for no plots."""
    return ['<div class="plots">', *(_figure(p) for p in plots), "</div>"] if plots else []


def _attribute_plots(reports: SequenceOf[TrackerReport], plots: SequenceOf[Plot]) -> list[str]:
    """One group of plots per attribute, headed by the attribute and its number of sequences."""
    counts = {a: n for r in reports for a, n in r.attribute_counts.items()}
    parts = []
    for attribute in attribute_names(reports):
        members = [p for p in plots if p.attribute == attribute]
        if members:
            parts.append(f"<h3>{html.escape(attribute)} ({counts[attribute]} sequences)</h3>")
            parts += _figures(members)
    return parts


def _body(reports: SequenceOf[TrackerReport], dataset: str, plots: SequenceOf[Plot]) -> list[str]:
    """The report's sections: overall table and plots, then the per-attribute tables and plots."""
    parts = ["<h2>Overall</h2>", _overall_table(reports), *_figures([p for p in plots if p.attribute is None])]
    by_attribute = _attribute_tables(reports, dataset)
    if by_attribute:
        parts += ["<h2>By attribute</h2>", *by_attribute]
    attribute_plots = _attribute_plots(reports, plots)
    if attribute_plots:
        parts += ["<h2>Plots by attribute</h2>", *attribute_plots]
    return parts


def render_html(
    reports: SequenceOf[TrackerReport],
    dataset: str,
    root: str | None = None,
    plots: SequenceOf[Plot] | None = None,
) -> str:
    """The report as one HTML document (module docstring); the same reports give the same text.

    ``plots`` defaults to :func:`render_plots` of the reports.
    """
    if not reports:
        raise ValueError("render_html needs at least one tracker report")
    if plots is None:
        plots = render_plots(reports, dataset)
    how = describe_convention(reports[0].convention) or "each benchmark's official toolkit"
    meta = [
        f"{len(reports[0].sequences)} sequences",
        f"{len(reports)} tracker{'s' if len(reports) != 1 else ''}: {', '.join(r.name for r in reports)}",
        how,
        "scores in %",
    ]
    if root is not None:
        meta.append(f"ground truth: {root}")
    title = f"{dataset}: evaluation report"
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<p class="meta">{html.escape("; ".join(meta))}. Made by automatch eval.</p>'
    )
    body = _body(reports, dataset, plots)
    return head + "\n" + "\n".join(body) + "\n</body>\n</html>\n"


def check_report_path(path: str | Path, what: str = "--report") -> Path:
    """``path`` as a :class:`Path` once an HTML report can be written there, checked before any work.

    Raises:
      AutomatchError: (one line naming ``what`` and the path) the name does not end in ``.html``, its folder
        does not exist, or no file can be written there (a folder at ``path``, a read-only place ...).
    """
    path = Path(path)
    if path.suffix.lower() != ".html":
        raise AutomatchError(f"{what} {path}: expected a file name ending in .html")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise AutomatchError(f"{what} {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise AutomatchError(f"{what} {path}: {parent} is a file, not a folder")
    return check_output_file(path, what)


def write_html(
    path: Path,
    reports: SequenceOf[TrackerReport],
    dataset: str,
    root: str | None = None,
    plots: SequenceOf[Plot] | None = None,
) -> Path:
    """Writes :func:`render_html` to ``path`` (UTF-8) and returns it; ``plots`` as :func:`render_html`."""
    path = Path(path)
    path.write_text(render_html(reports, dataset, root, plots), encoding="utf-8")
    return path
