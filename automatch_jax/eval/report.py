"""Reports of evaluated trackers: text tables for the terminal and the JSON document (the HTML report, made of
the same cells, is :mod:`automatch_jax.eval.html_report`).

JSON layout (values are fractions in [0, 1], ``fps`` in frames per second; keys a protocol does not define
are absent)::

    {"dataset": "otb", "root": "...",
     "trackers": {NAME: {"convention": "got10k",
                         "overall": {"success_auc": .., "precision_20": .., "norm_precision": .., "ao": ..,
                                     "sr50": .., "sr75": .., "fps": ..},
                         "sequences": {SEQ: {...}},
                         "attributes": {ATTR: {..., "n_sequences": k}},
                         "curves": {"success_curve": [21], "precision_curve": [51],
                                    "norm_precision_curve": [51]},
                         "thresholds": {"success_curve": [21], ...}}}}

TrackingNet's keys are ``success_auc``, ``precision_auc``, ``norm_precision_auc`` (the server's areas) and
``otb_success_auc``, ``otb_precision_20``, ``otb_norm_precision``; VOT's supervised experiment's are
``accuracy``, ``robustness``, ``failures``, ``failure_rate``, ``eao`` (curve: ``eao_curve``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence as SequenceOf
from pathlib import Path

from automatch_jax.eval.evaluate import TrackerReport

# Column order and headers of the text tables.
COLUMNS = (
    ("success_auc", "AUC"),
    ("precision_20", "Prec@20"),
    ("norm_precision", "NormPrec"),
    ("precision_auc", "PrecAUC"),
    ("norm_precision_auc", "NPrecAUC"),
    ("otb_success_auc", "OTB-AUC"),
    ("otb_precision_20", "OTB-P@20"),
    ("otb_norm_precision", "OTB-NP"),
    ("ao", "AO"),
    ("sr50", "SR0.5"),
    ("sr75", "SR0.75"),
    ("accuracy", "A"),
    ("robustness", "R"),
    ("failures", "Fails"),
    ("failure_rate", "Fail/100"),
    ("eao", "EAO"),
    ("fps", "FPS"),
)

# Printed as they are (not in percent): speeds and counts; the supervised experiment's accuracy and EAO are
# printed as fractions with three decimals, as VOT reports them.
_PLAIN = {"fps": "{:.1f}", "failures": "{:.1f}", "robustness": "{:.3f}", "failure_rate": "{:.3f}",
          "accuracy": "{:.3f}", "eao": "{:.3f}"}


def format_cell(key: str, metrics: dict[str, float]) -> str:
    """``metrics[key]`` as the tables print it (percent with one decimal, or as :data:`_PLAIN` says); ``-``
    where the metric is absent."""
    if key not in metrics:
        return "-"
    value = metrics[key]
    return _PLAIN[key].format(value) if key in _PLAIN else f"{100.0 * value:.1f}"


def table_columns(reports: SequenceOf[TrackerReport]) -> list[tuple[str, str]]:
    """(metric key, header) of the :data:`COLUMNS` that some report's overall numbers hold, in that order."""
    present = set().union(*(r.overall.keys() for r in reports))
    return [(key, header) for key, header in COLUMNS if key in present]


def describe_convention(convention: str) -> str:
    """How the numbers were computed, for a table's title: ``""`` for the official toolkits (``got10k``),
    ``"pysot convention"``, or ``"VOT supervised experiment, vot2019 EAO interval"``."""
    if convention.startswith("supervised:"):
        return f"VOT supervised experiment, {convention.split(':', 1)[1]} EAO interval"
    return "" if convention == "got10k" else f"{convention} convention"


def _table(title: str, rows: list[tuple[str, str, dict[str, float]]], columns: list[tuple[str, str]]) -> str:
    first = max([12] + [len(r[0]) for r in rows])
    header = f"{'':<{first}}  {'seqs':>5}" + "".join(f"  {h:>8}" for _, h in columns)
    lines = [title, header, "-" * len(header)]
    for label, count, metrics in rows:
        lines.append(
            f"{label:<{first}}  {count:>5}" + "".join(f"  {format_cell(k, metrics):>8}" for k, _ in columns)
        )
    return "\n".join(lines)


def format_tables(reports: SequenceOf[TrackerReport], dataset: str) -> str:
    """Text tables: all trackers' overall numbers, then one table per tracker with its per-attribute numbers.

    Scores are printed in percent (AUC, precision, AO, SR), speed in frames per second; VOT's supervised
    accuracy, robustness and EAO as VOT prints them.
    """
    columns = table_columns(reports)
    n_sequences = str(len(reports[0].sequences))
    how = describe_convention(reports[0].convention)
    how = f", {how}" if how else ""
    parts = [
        _table(
            f"{dataset}: overall (scores in %{how})",
            [(r.name, n_sequences, r.overall) for r in reports],
            columns,
        )
    ]
    for report in reports:
        if not report.attributes:
            continue
        rows = [("overall", n_sequences, report.overall)] + [
            (attribute, str(report.attribute_counts[attribute]), metrics)
            for attribute, metrics in report.attributes.items()
        ]
        parts.append(_table(f"{report.name} on {dataset} by attribute (scores in %)", rows, columns))
    return "\n\n".join(parts)


def to_json(reports: SequenceOf[TrackerReport], dataset: str, root: str | None = None) -> dict:
    """The JSON document described in the module docstring."""
    trackers = {}
    for report in reports:
        trackers[report.name] = {
            "convention": report.convention,
            "overall": dict(report.overall),
            "sequences": {name: dict(metrics) for name, metrics in report.sequences.items()},
            "attributes": {
                attribute: {**metrics, "n_sequences": report.attribute_counts[attribute]}
                for attribute, metrics in report.attributes.items()
            },
            "curves": {key: [float(v) for v in curve] for key, curve in report.curves.items()},
            "thresholds": {key: [float(v) for v in xs] for key, xs in report.thresholds.items()},
        }
    document: dict = {"dataset": dataset, "trackers": trackers}
    if root is not None:
        document["root"] = root
    return document


def write_json(path: Path, reports: SequenceOf[TrackerReport], dataset: str, root: str | None = None) -> Path:
    """Writes :func:`to_json` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(reports, dataset, root), indent=2) + "\n", encoding="utf-8")
    return path
