"""``check_output_file`` / ``check_output_dir``: writable places pass and are left as they were; others are one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automatch_jax.errors import AutomatchError
from automatch_jax.paths import check_output_dir, check_output_file


def test_a_writable_place_passes_and_the_check_leaves_nothing_behind(tmp_path: Path) -> None:
    assert check_output_file(tmp_path / "a" / "b" / "boxes.txt", "--out") == tmp_path / "a" / "b" / "boxes.txt"
    assert check_output_dir(str(tmp_path / "c" / "d"), "--out") == tmp_path / "c" / "d"
    assert list(tmp_path.iterdir()) == []  # the folders the probe made are gone again
    existing = tmp_path / "boxes.txt"
    existing.write_text("kept")
    check_output_file(existing, "--out")
    assert existing.read_text() == "kept" and sorted(os.listdir(tmp_path)) == ["boxes.txt"]
    folder = tmp_path / "results"
    (folder / "old").mkdir(parents=True)
    check_output_dir(folder, "--results")
    assert os.listdir(folder) == ["old"]


def test_a_relative_file_in_the_working_folder_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert check_output_file("boxes.txt", "--out") == Path("boxes.txt")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("check", "relative", "answer"),
    [
        (check_output_file, "folder", "--out {path}: is a folder; expected a file name"),
        (check_output_dir, "file", "--out {path}: is a file; expected a folder"),
        (check_output_file, "file/x/boxes.txt", "--out {path}: {tmp}/file is a file, not a folder"),
        (check_output_dir, "file/run", "--out {path}: {tmp}/file is a file, not a folder"),
    ],
)
def test_the_wrong_kind_of_place_is_one_line(check, relative: str, answer: str, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    path = tmp_path / relative
    with pytest.raises(AutomatchError) as caught:
        check(path, "--out")
    assert str(caught.value) == answer.format(path=path, tmp=tmp_path)
