"""Reading, validating and writing result files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automatch_jax.errors import ResultsError
from automatch_jax.eval.results import (
    parse_numbers,
    read_sequence_result,
    read_times,
    write_sequence_result,
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3,4\n5,6,7,8\n",
        "1\t2\t3\t4\n5\t6\t7\t8",
        "1 2 3 4\r\n5 6 7 8\r\n\r\n",
        "1, 2,3 ,4,\n5;6;7;8\n\n\n",
    ],
)
def test_parse_numbers_accepts_every_separator(tmp_path: Path, text: str) -> None:
    values = parse_numbers(_write(tmp_path / "r.txt", text), 4)
    np.testing.assert_array_equal(values, [[1, 2, 3, 4], [5, 6, 7, 8]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty result file"),
        ("1,2,3,4\n1,2,3\n", "line 2 has 3 values, expected 4"),
        ("1,2,3,4\n1,2,3,4,5\n", "line 2 has 5 values, expected 4"),
        ("1,2,3,4\n\n1,2,3,4\n", "line 2 has 0 values"),
        ("1,2,3,4\n1,2,a,4\n", "line 2 is not numeric"),
    ],
)
def test_parse_numbers_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "r.txt", text)
    with pytest.raises(ResultsError, match=message) as info:
        parse_numbers(path, 4)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_result_names_the_expected_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"T/Seq\.txt: missing result file for sequence Seq"):
        read_sequence_result(tmp_path / "T", ["Seq"], 3)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,2,3,4\n" * 2, "2 rows, expected 3"),
        ("1,2,3,4\n" * 4, "4 rows, expected 3"),
        ("1,2,3,4\nnan,2,3,4\n1,2,3,4\n", "line 2 holds NaN"),
        ("1,2,3,4\n1,2,3,4\n1,2,inf,4\n", "line 3 holds NaN or infinity"),
        ("1,2,3,4\n1,2,-3,4\n1,2,3,4\n", "line 2 has a negative width"),
    ],
)
def test_wrong_results_are_refused(tmp_path: Path, rows: str, message: str) -> None:
    _write(tmp_path / "T" / "Seq.txt", rows)
    with pytest.raises(ResultsError, match=message):
        read_sequence_result(tmp_path / "T", ["Seq"], 3)


def test_aliases_and_time_file_locations(tmp_path: Path) -> None:
    tracker = tmp_path / "T"
    _write(tracker / "Jogging.1.txt", "1,2,3,4\n1,2,3,4\n")
    _write(tracker / "times" / "Jogging.1_time.txt", "0.5\n0\nnan\n0.25\n")
    result = read_sequence_result(tracker, ["Jogging-1", "Jogging.1"], 2)
    assert result.files == (tracker / "Jogging.1.txt",)
    np.testing.assert_array_equal(result.times, [0.5, 0.25])


def test_got10k_repetition_layout(tmp_path: Path) -> None:
    tracker = tmp_path / "T"
    _write(tracker / "S" / "S_001.txt", "1,2,3,4\n5,6,7,8\n")
    _write(tracker / "S" / "S_002.txt", "1,2,3,4\n5,6,7,9\n")
    _write(tracker / "S" / "S_time.txt", "0.1,0.2\n0.1,0.2\n")
    result = read_sequence_result(tracker, ["S"], 2)
    assert result.boxes.shape == (2, 2, 4)
    assert result.boxes[1, 1, 3] == 9
    np.testing.assert_allclose(np.sort(result.times), [0.1, 0.1, 0.2, 0.2])


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    boxes = np.array([[1.5, 2.25, 3.0, 4.125], [0, 0, 10, 20]])
    write_sequence_result(tmp_path / "T", "S", boxes, times=np.array([0.01, 0.02]))
    result = read_sequence_result(tmp_path / "T", ["S"], 2)
    np.testing.assert_allclose(result.boxes[0], boxes, atol=1e-3)
    np.testing.assert_allclose(read_times(tmp_path / "T" / "S_time.txt"), [0.01, 0.02])
    assert not list((tmp_path / "T").glob("*.tmp"))
