"""The notebooks in ``colabs/``: each runs (its code cells executed in order, shell lines skipped, few steps) and its
cells produce what they describe; each is stored executed, with its figures, and small enough for GitHub's preview."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "colabs").glob("*.ipynb"))
MAX_STORED_BYTES = 2 * 1024 * 1024
TEST_FRAMES = 40  # AUTOMATCH_COLAB_FRAMES: track_a_video's demo length in the test (100 by default)


def _code_sources(notebook: Path) -> list[str]:
    """The notebook's code cells as Python source, IPython's ``!`` and ``%`` lines left out."""
    cells = json.loads(notebook.read_text())["cells"]
    return [
        "\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("!", "%")))
        for c in cells
        if c["cell_type"] == "code"
    ]


def _check_track_a_video(namespace: dict) -> None:
    """One (4,) box and one score in [0, 1] per frame, the demo tracked well, the figures and playback made."""
    from matplotlib.figure import Figure

    n_frames = len(namespace["frames"])
    assert n_frames == TEST_FRAMES
    boxes, scores = namespace["boxes"], namespace["scores"]
    assert boxes.shape == (n_frames, 4) and np.all(np.isfinite(boxes))
    np.testing.assert_allclose(boxes[0], namespace["gt"][0])  # the first frame keeps the demo's own box
    assert np.all(boxes[:, 2:] > 0)
    assert scores.shape == (n_frames,) and np.all(np.isfinite(scores))
    assert np.all((scores >= 0) & (scores <= 1))
    assert namespace["gt"].shape == (n_frames, 4)
    assert namespace["auc"] is not None and namespace["auc"] > 0.3  # the shipped model scores about 0.8
    assert namespace["ious"].shape == (n_frames,) and np.mean(namespace["ious"]) > 0.3
    for name in ("grid", "score_fig", "success_fig"):
        assert isinstance(namespace[name], Figure) and namespace[name].axes, name
    lines = namespace["score_fig"].axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), scores)
    playback = namespace["playback"]
    every = namespace["EVERY"]
    assert playback.count("data:image/jpeg;base64,") == len(range(0, n_frames, every))


def _check_evaluate_results(namespace: dict) -> None:
    """Every bundled example tracker evaluated, its AUC in [0, 1], the PNG plots written."""
    reports = namespace["reports"]
    assert len(reports) >= 2
    for report in reports:
        assert 0.0 <= report.overall["success_auc"] <= 1.0
    pngs = sorted(Path("example-report").glob("*.png"))
    assert pngs and all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)


def _check_bcm_search_orders(namespace: dict) -> None:
    """The three orders searched, each with a history and operators chosen from the (reduced) space."""
    results = namespace["results"]
    assert set(results) == {"first", "second", "second-fd"}
    for result in results.values():
        assert result["history"]
        assert set(result["space"]) == {"dw_xcorr", "film", "pairwise"}
        for branch in ("cls", "reg"):
            assert result[branch]["operators"] and set(result[branch]["operators"]) <= set(result["space"])


CHECKS: dict[str, Callable[[dict], None]] = {
    "track_a_video": _check_track_a_video,
    "evaluate_results": _check_evaluate_results,
    "bcm_search_orders": _check_bcm_search_orders,
}


def test_every_notebook_is_checked() -> None:
    assert {p.stem for p in NOTEBOOKS} == set(CHECKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("AUTOMATCH_COLAB_STEPS", "3")
    monkeypatch.setenv("AUTOMATCH_COLAB_SPACE", "dw_xcorr,film,pairwise")  # three operators compile faster
    monkeypatch.setenv("AUTOMATCH_COLAB_FRAMES", str(TEST_FRAMES))
    (tmp_path / "configs").symlink_to(REPO / "configs")  # notebooks run from the repository root
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__notebook__"}
    with matplotlib.rc_context():  # rcParams the notebooks set stay in their run
        try:
            for index, source in enumerate(_code_sources(notebook)):
                try:
                    exec(compile(source, f"{notebook.name}[{index}]", "exec"), namespace)
                except Exception as error:
                    raise AssertionError(f"{notebook.name}, code cell {index} failed: {error!r}") from error
            assert os.getcwd() == str(tmp_path)
            CHECKS[notebook.stem](namespace)
        finally:
            plt.close("all")


def _outputs(notebook: Path) -> tuple[list[dict], list[dict]]:
    """The stored notebook's code cells and all their outputs."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    return cells, [output for c in cells for output in c.get("outputs", [])]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_stored_executed(notebook: Path) -> None:
    """Stored as a full run in order (every code cell executed, none failed), with at least one figure."""
    cells, outputs = _outputs(notebook)
    counts = [c.get("execution_count") for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{notebook.name}: not stored as one run in order: {counts}"
    assert not [o for o in outputs if o["output_type"] == "error"], f"{notebook.name}: a stored cell failed"
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, f"{notebook.name}: no figure stored"
    for png in pngs:
        assert base64.b64decode("".join(png)).startswith(b"\x89PNG")
    markdown = " ".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
    assert "stored outputs" in markdown.lower(), f"{notebook.name}: does not say which settings its outputs come from"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_stored_small(notebook: Path) -> None:
    size = notebook.stat().st_size
    assert size < MAX_STORED_BYTES, f"{notebook.name}: {size / 2**20:.1f} MiB stored (limit 2 MiB)"


def test_track_a_video_stored_results() -> None:
    """The stored run tracked the whole default demo sequence and printed its success AUC."""
    _, outputs = _outputs(REPO / "colabs" / "track_a_video.ipynb")
    text = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert "Demo: 100 frames of 480x320" in text
    auc = float(text.split("success AUC ")[1].split(",")[0])
    assert 0.3 < auc <= 1.0
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) == 1 and "".join(html[0]).count("data:image/jpeg;base64,") == 20
