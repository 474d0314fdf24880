"""Plots: success/precision/normalised-precision per attribute and pytracking's attribute radar plot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.cli.eval_cmd import example_paths
from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.eval.evaluate import TrackerReport, evaluate_trackers
from automatch_jax.eval.metrics import OVERLAP_THRESHOLDS
from automatch_jax.eval.plots import (
    RADAR_MIN_ATTRIBUTES,
    plot_reports,
    radar_figure,
    radar_scores,
    render_plots,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KINDS = ("success", "precision", "norm_precision")


@pytest.fixture(scope="module")
def reports() -> list[TrackerReport]:
    """CSRT, KCF and a static box on the bundled OTB example (Crossing, MotorRolling; 7 attributes)."""
    root, tracker_dirs = example_paths()
    return evaluate_trackers(load_benchmark("otb", root), tracker_dirs)


def _report(name: str, attributes: dict[str, float], overall: float) -> TrackerReport:
    """A one-sequence report with a success curve and AUC ``attributes[a]`` per attribute."""
    curve = np.linspace(1.0, 0.0, len(OVERLAP_THRESHOLDS))
    return TrackerReport(
        name=name,
        overall={"success_auc": overall},
        curves={"success_curve": curve},
        sequences={"s": {"success_auc": overall}},
        attributes={a: {"success_auc": v} for a, v in attributes.items()},
        attribute_curves={a: {"success_curve": curve} for a in attributes},
        attribute_counts={a: 1 + i for i, a in enumerate(attributes)},
        thresholds={"success_curve": OVERLAP_THRESHOLDS},
    )


def test_each_kind_overall_radar_and_per_attribute(reports: list[TrackerReport]) -> None:
    plots = render_plots(reports, "otb")
    attributes = list(reports[0].attributes)
    assert attributes == ["IV", "SV", "DEF", "MB", "FM", "IPR", "BC"]
    assert [p.stem for p in plots] == [*KINDS, "radar"] + [f"{k}_{a}" for a in attributes for k in KINDS]
    assert [p.attribute for p in plots] == [None] * 4 + [a for a in attributes for _ in KINDS]
    for plot in plots:
        assert plot.png.startswith(PNG_SIGNATURE)
    by_stem = {p.stem: p for p in plots}
    assert by_stem["norm_precision_SV"].title == "Normalized precision plots of OPE - otb - SV (2)"
    assert by_stem["precision_DEF"].title == "Precision plots of OPE - otb - DEF (1)"
    # Per-attribute plots differ from the overall ones where the attribute's sequences are a subset.
    assert by_stem["precision_DEF"].png != by_stem["precision"].png


def test_radar_radii_are_the_per_attribute_auc_and_axes_name_the_counts(reports: list[TrackerReport]) -> None:
    score_key, attributes, scores = radar_scores(reports)
    assert score_key == "success_auc"
    assert attributes == list(reports[0].attributes)
    fig = radar_figure(reports, "otb")
    ax = fig.axes[0]
    assert ax.name == "polar"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"{a}\n({reports[0].attribute_counts[a]})" for a in attributes]
    np.testing.assert_allclose(ax.get_xticks(), [2 * math.pi * i / 7 for i in range(7)], atol=1e-12)
    lines = ax.get_lines()
    assert len(lines) == len(reports)
    by_label = {line.get_label().split(" [")[0]: line for line in lines}
    # Drawn best first by overall AUC, the legend holding it.
    ordered = sorted(reports, key=lambda r: -r.overall["success_auc"])
    assert [line.get_label() for line in lines] == [
        f"{r.name} [AUC {100 * r.overall['success_auc']:.1f}]" for r in ordered
    ]
    for report in reports:
        theta, radius = by_label[report.name].get_data()
        expected = [100 * report.attributes[a]["success_auc"] for a in attributes]
        np.testing.assert_allclose(radius, [*expected, expected[0]], atol=1e-12)  # a closed polygon
        assert theta[0] == theta[-1]
    assert ax.get_ylim()[1] >= 100 * max(max(s) for s in scores.values())


def test_a_tracker_keeps_its_colour_in_every_plot() -> None:
    attributes = {"A": 0.5, "B": 0.4, "C": 0.3}
    worse, better = _report("W", attributes, 0.2), _report("B", {a: v + 0.1 for a, v in attributes.items()}, 0.6)
    fig = radar_figure([worse, better], "otb")
    colours = {line.get_label().split(" [")[0]: line.get_color() for line in fig.axes[0].get_lines()}
    assert colours == {"W": "C0", "B": "C1"}  # by place among the reports, not by rank


def test_no_radar_below_three_attributes() -> None:
    assert RADAR_MIN_ATTRIBUTES == 3
    two = [_report("T", {"A": 0.5, "B": 0.4}, 0.45)]
    assert radar_scores(two) is None and radar_figure(two, "otb") is None
    assert [p.stem for p in render_plots(two, "otb")] == ["success", "success_A", "success_B"]
    three = [_report("T", {"A": 0.5, "B": 0.4, "C": 0.3}, 0.45)]
    assert "radar" in [p.stem for p in render_plots(three, "otb")]


def test_radar_uses_only_attributes_every_tracker_has() -> None:
    a = _report("A", {"X": 0.5, "Y": 0.4, "Z": 0.3, "W": 0.2}, 0.4)
    b = _report("B", {"X": 0.6, "Y": 0.5, "Z": 0.4}, 0.5)
    _, attributes, scores = radar_scores([a, b])
    assert attributes == ["X", "Y", "Z"]
    assert scores == {"A": [0.5, 0.4, 0.3], "B": [0.6, 0.5, 0.4]}


def test_plot_reports_writes_every_plot(tmp_path: Path, reports: list[TrackerReport]) -> None:
    written = plot_reports(reports, tmp_path / "plots", "otb")
    names = sorted(p.name for p in written)
    assert names == sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert {"radar.png", "success_SV.png", "precision_SV.png", "norm_precision_SV.png"} <= set(names)
    for path in written:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
