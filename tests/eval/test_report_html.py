"""The self-contained HTML report: its tables hold the evaluation's numbers, its images are embedded PNGs, and a
real headless browser renders it (when one is installed)."""

from __future__ import annotations

import base64
import binascii
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from automatch_jax.cli.eval_cmd import example_paths
from automatch_jax.data.benchmarks import load_benchmark
from automatch_jax.eval.evaluate import TrackerReport, evaluate_trackers
from automatch_jax.eval.html_report import render_html, write_html
from automatch_jax.eval.metrics import OVERLAP_THRESHOLDS
from automatch_jax.eval.plots import render_plots
from automatch_jax.eval.report import format_cell, table_columns

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class ReportReader(HTMLParser):
    """Reads an HTML report back: its tables (cells by ``data-key``), its ``<img>`` sources and every other
    attribute that could make a browser fetch something (``href``, ``src`` of anything, ``<link>``, ``<script>``).

    After ``feed``: ``tables`` is a list of (table attributes, {row label: {key: (data-value or None, text)}});
    ``images`` the ``src`` of each ``<img>``; ``fetching`` (tag, attribute, value) of every ``src``/``href``/``data``
    attribute and ``("script"|"link"|..., "", "")`` for tags that load or run something.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[dict[str, str], dict[str, dict[str, tuple[str | None, str]]]]] = []
        self.images: list[str] = []
        self.fetching: list[tuple[str, str, str]] = []
        self._row: str | None = None
        self._cell: tuple[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "link", "iframe", "object", "embed", "base"):
            self.fetching.append((tag, "", ""))
        for key in ("src", "href", "srcset", "data", "background", "poster"):
            if key in a:
                self.fetching.append((tag, key, a[key]))
        if tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "table":
            self.tables.append((a, {}))
        elif tag == "tr" and "data-row" in a:
            self._row = a["data-row"]
            self.tables[-1][1][self._row] = {}
        elif tag == "td" and self._row is not None and "data-key" in a:
            self._cell, self._text = (a["data-key"], a.get("data-value")), []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            key, value = self._cell
            self.tables[-1][1][self._row][key] = (value, "".join(self._text))
            self._cell = None
        elif tag == "tr":
            self._row = None


def read_report(text: str) -> ReportReader:
    """The report ``text`` parsed by :class:`ReportReader`."""
    reader = ReportReader()
    reader.feed(text)
    reader.close()
    return reader


def png_of(src: str) -> bytes:
    """The PNG bytes of an ``<img src>`` that must be a base64 ``data:image/png`` URI."""
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:60]
    data = base64.b64decode(src[len(prefix):], validate=True)
    assert data.startswith(PNG_SIGNATURE)
    return data


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def assert_tables_hold(reader: ReportReader, reports: list[TrackerReport]) -> None:
    """The overall and per-attribute tables hold exactly the reports' numbers, printed as the terminal does."""
    columns = [key for key, _ in table_columns(reports)]
    overall = [rows for attrs, rows in reader.tables if attrs.get("data-table") == "overall"]
    assert len(overall) == 1
    assert list(overall[0]) == [r.name for r in reports]
    n = len(reports[0].sequences)
    for report in reports:
        _assert_row(overall[0][report.name], report.overall, columns, n)
    by_tracker = {a["data-tracker"]: rows for a, rows in reader.tables if a.get("data-table") == "attributes"}
    assert set(by_tracker) == {r.name for r in reports if r.attributes}
    for report in reports:
        if not report.attributes:
            continue
        rows = by_tracker[report.name]
        assert list(rows) == ["overall", *report.attributes]
        _assert_row(rows["overall"], report.overall, columns, n)
        for attribute, metrics in report.attributes.items():
            _assert_row(rows[attribute], metrics, columns, report.attribute_counts[attribute])


def _assert_row(
    row: dict[str, tuple[str | None, str]], metrics: dict[str, float], columns: list[str], n_sequences: int
) -> None:
    assert row["n_sequences"] == (None, str(n_sequences))
    assert set(row) == {"n_sequences", *columns}
    for key in columns:
        value, text = row[key]
        assert text == format_cell(key, metrics)
        if key in metrics:
            assert value is not None and float(value) == metrics[key], key  # exact, not rounded
        else:
            assert value is None and text == "-"


@pytest.fixture(scope="module")
def example_reports() -> list[TrackerReport]:
    """CSRT, KCF and a static box on the bundled OTB example (Crossing, MotorRolling)."""
    root, tracker_dirs = example_paths()
    return evaluate_trackers(load_benchmark("otb", root), tracker_dirs)


@pytest.fixture(scope="module")
def example_html(example_reports: list[TrackerReport]) -> str:
    return render_html(example_reports, "otb", root="OTB")


def test_tables_hold_the_evaluation_s_numbers(example_reports: list[TrackerReport], example_html: str) -> None:
    reader = read_report(example_html)
    assert_tables_hold(reader, example_reports)
    # The example's attributes, each with its count (Crossing: SV, DEF, BC; MotorRolling: IV, SV, MB, FM, IPR, BC).
    rows = next(rows for a, rows in reader.tables if a.get("data-tracker") == "CSRT")
    assert rows["SV"]["n_sequences"][1] == "2" and rows["DEF"]["n_sequences"][1] == "1"


def test_every_image_is_an_embedded_png_and_nothing_is_fetched(
    example_reports: list[TrackerReport], example_html: str
) -> None:
    reader = read_report(example_html)
    plots = render_plots(example_reports, "otb")
    assert len(reader.images) == len(plots) == 4 + 3 * 7  # 3 curves + radar, 3 curves for each of 7 attributes
    for src, plot in zip(reader.images, plots, strict=True):
        data = png_of(src)
        assert data == plot.png  # the same rendering, in the same order as render_plots
        width, height = png_size(data)
        assert width >= 300 and height >= 300
    assert [f for f in reader.fetching if not (f[0] == "img" and f[1] == "src" and f[2].startswith("data:"))] == []
    assert "http://" not in example_html and "https://" not in example_html
    assert "default-src 'none'" in example_html  # the browser is told to fetch nothing


def test_names_are_escaped_and_read_back(tmp_path: Path) -> None:
    curve = np.linspace(1.0, 0.0, len(OVERLAP_THRESHOLDS))
    metrics = {"success_auc": 0.123456789, "precision_20": 0.5}
    name = 'a<b>&"c\''
    report = TrackerReport(
        name=name,
        overall=metrics,
        curves={"success_curve": curve},
        sequences={"s1": metrics},
        attributes={"<X>": {"success_auc": 0.25}},
        attribute_curves={"<X>": {"success_curve": curve}},
        attribute_counts={"<X>": 1},
        thresholds={"success_curve": OVERLAP_THRESHOLDS},
    )
    path = write_html(tmp_path / "r.html", [report], "otb")
    text = path.read_text(encoding="utf-8")
    assert "<b>" not in text and "<X>" not in text
    reader = read_report(text)
    assert_tables_hold(reader, [report])
    # One attribute is too few for a radar: the two success plots (overall and <X>) only.
    assert len(reader.images) == 2


def test_a_report_without_curves_has_tables_and_no_images() -> None:
    """VOT's supervised experiment: accuracy, robustness, EAO; no attribute, no success curve."""
    metrics = {"accuracy": 0.61, "robustness": 0.4, "failures": 12.0, "failure_rate": 0.9, "eao": 0.322}
    report = TrackerReport(
        name="T",
        overall=metrics,
        curves={"eao_curve": np.linspace(0.5, 0.2, 50)},
        sequences={"bag": {"accuracy": 0.61}},
        attributes={},
        attribute_curves={},
        attribute_counts={},
        thresholds={"eao_curve": np.arange(50.0)},
        convention="supervised:vot2019",
    )
    text = render_html([report], "vot")
    reader = read_report(text)
    assert reader.images == []
    assert_tables_hold(reader, [report])
    assert read_report(text).tables[0][1]["T"]["eao"][1] == "0.322"
    assert "VOT supervised experiment, vot2019 EAO interval" in text


def _browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def test_a_headless_browser_renders_the_report(tmp_path: Path, example_reports: list[TrackerReport]) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(f"no headless browser on PATH (looked for {', '.join(BROWSERS)})")
    from PIL import Image

    report = write_html(tmp_path / "report.html", example_reports, "otb")
    shot = tmp_path / "shot.png"
    width, height = 1000, 1400
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # needed when the tests run as root (containers); harmless otherwise
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (width, height)
        pixels = np.asarray(image.convert("RGB")).astype(np.int64)
    # Not blank: the page's text and tables darken part of it ...
    assert (pixels.min(axis=-1) < 200).mean() > 0.01
    # ... and the embedded plots were decoded and drawn: the first tracker's curve colour (matplotlib's C0,
    # #1f77b4) appears, which nothing but the plots uses.
    c0 = np.array([0x1F, 0x77, 0xB4])
    assert (np.abs(pixels - c0).max(axis=-1) <= 30).sum() > 300


def test_report_bytes_decode_errors_are_caught() -> None:
    """The reader's PNG check fails on what is not a base64 PNG (so the tests above could fail)."""
    with pytest.raises(AssertionError):
        png_of("data:image/jpeg;base64,AAAA")
    with pytest.raises((AssertionError, binascii.Error)):
        png_of("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode())
