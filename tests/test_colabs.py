"""Every notebook in ``colabs/`` runs: its code cells are executed in order (shell lines skipped, few steps)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "colabs").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    matplotlib.use("Agg")
    monkeypatch.setenv("AUTOMATCH_COLAB_STEPS", "3")
    monkeypatch.setenv("AUTOMATCH_COLAB_SPACE", "dw_xcorr,film,pairwise")  # three operators compile faster
    cells = json.loads(notebook.read_text())["cells"]
    code = [
        "\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("!", "%")))
        for c in cells
        if c["cell_type"] == "code"
    ]
    (tmp_path / "configs").symlink_to(REPO / "configs")  # notebooks run from the repository root
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__notebook__"}
    for index, source in enumerate(code):
        try:
            exec(compile(source, f"{notebook.name}[{index}]", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{notebook.name}, code cell {index} failed: {error!r}") from error
    assert os.getcwd() == str(tmp_path)
