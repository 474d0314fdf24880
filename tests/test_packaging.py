"""What a non-editable install ships: every source folder is a package, and the default model is package data."""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]


def test_every_source_folder_is_a_package() -> None:
    found = set(find_packages(str(REPO), include=["automatch_jax", "automatch_jax.*"]))
    folders = {p.parent for p in (REPO / "automatch_jax").rglob("*.py")}
    expected = {".".join(f.relative_to(REPO).parts) for f in folders}
    assert expected <= found, sorted(expected - found)


def test_default_model_is_inside_the_package() -> None:
    model = REPO / "automatch_jax" / "assets" / "models" / "automatch-lite"
    assert (model / "automatch.json").is_file() and any((model / "variables").rglob("*"))
    assert not (model / "variables" / "commit_success.txt").exists()  # it would name a path of the writer's machine
