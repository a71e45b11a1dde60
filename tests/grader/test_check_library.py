"""The check library and the %%check / %%spark magics: messages put the difference first and
say expected and got; long values are cut in the middle, never before the difference; in
JupyterLab a failed check does not stop Run All, under the grader it fails the step."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from nbclient import NotebookClient
from nbformat import v4

from grader.check import (
    CheckFailed,
    elide,
    expect,
    expect_calls,
    expect_close,
    expect_equal,
    expect_frame,
    expect_mapping,
    expect_raises,
    expect_sequence,
    expect_set,
)


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_mappings_name_missing_extra_and_different_keys_first() -> None:
    message = _message(expect_mapping, {"a": 1, "b": 3, "z": 0}, {"a": 1, "b": 2, "c": 5},
                       what="summary")
    assert message.startswith("summary: missing key 'c'; unexpected key 'z'; at key 'b' expected 2, got 3")
    assert expect_mapping({"a": 1.0000000001}, {"a": 1.0}) is None


def test_sets_and_sequences() -> None:
    assert _message(expect_set, {"a", "b"}, {"b", "c"}, what="nodes").startswith(
        "nodes: missing 'c'; unexpected 'a'")
    assert _message(expect_sequence, [1, 2, 4], [1, 2, 3], what="order").startswith(
        "order: first difference at position 2: expected 3, got 4")
    assert "missing from position 2 on, first missing 3" in _message(expect_sequence, [1, 2], [1, 2, 3])
    assert "expected a list, got a str" in _message(expect_sequence, "abc", ["a", "b", "c"])


def test_numbers_with_tolerance_and_plain_values() -> None:
    assert expect_close(0.1 + 0.2, 0.3) is None
    assert _message(expect_close, 0.5, 2 / 3, what="score").startswith("score: off by -0.166667")
    assert _message(expect_equal, "x", 3).startswith("the result: expected a int, got a str")
    assert _message(expect, False, "expected 3 files, got 2") == "expected 3 files, got 2"


def test_frames_schema_dtypes_rows_then_the_first_differing_rows() -> None:
    expected = pd.DataFrame({"country": ["NL", "SE", "NO"], "revenue": [10.0, 20.0, 30.0]})
    assert "missing column ['revenue']" in _message(expect_frame, expected[["country"]], expected)
    assert "columns in a different order" in _message(expect_frame, expected[["revenue", "country"]], expected)
    wrong_type = expected.astype({"revenue": "int64"})
    assert "dtypes differ: 'revenue' expected float64, got int64" in _message(expect_frame, wrong_type, expected)
    assert "expected 3 rows, got 2" in _message(expect_frame, expected.head(2), expected)
    changed = expected.assign(revenue=[10.0, 21.5, 30.0])
    message = _message(expect_frame, changed, expected, what="revenue")
    assert message.splitlines()[0] == "revenue: 1 of 3 rows differ; first differences:"
    assert message.splitlines()[2].split() == ["1", "revenue", "20.0", "21.5"]
    assert expect_frame(expected.iloc[::-1], expected, check_order=False) is None
    assert "expected a DataFrame, got a list" in _message(expect_frame, [1], expected)


def test_raises_and_calls() -> None:
    def parse(text):
        return int(text)

    assert isinstance(expect_raises(ValueError, parse, "x"), ValueError)
    assert _message(expect_raises, ValueError, parse, "3") == "parse('3'): expected it to raise ValueError, but it returned 3"
    assert "does not mention 'digits'" in _message(expect_raises, ValueError, parse, "x", match="digits")

    class Engine:
        def read(self, path):
            return path.upper()

    with expect_calls(Engine, "read", what="load") as spy:
        assert Engine().read("a") == "A"
    assert spy.count == 1 and Engine.read.__name__ == "read"
    never = r"expected load to call Engine.read at least once, it was called 0 times"
    with pytest.raises(CheckFailed, match=never), expect_calls(Engine, "read", what="load"):
        pass


def test_long_values_are_cut_in_the_middle_never_before_the_difference() -> None:
    got = {"key": [*range(100), "HERE", *range(100)]}
    expected = {"key": [*range(100), "THERE", *range(100)]}
    message = _message(expect_equal, got, expected)
    assert "'HERE'" in message and "'THERE'" in message and "more chars]" in message
    assert len(message) < 700
    text = "a" * 1000
    cut = elide(text, 100)
    assert len(cut) <= 100 and "[" in cut and cut.startswith("a") and cut.endswith("a")


CELLS = [
    "%load_ext grader\nfrom grader.check import expect_equal",
    'def f(x):\n    raise NotImplementedError("Exercise: replace this line with your solution")',
    "%%check\nexpect_equal(f(1), 2, what='f(1)')",
    "%%check\nassert 1 == 2",
    "%%check\nvalue = 21\nvalue * 2",
    "%%spark\nprint('spark ran')",
    "%%check --spark\nprint('spark check ran')",
    "print('the last cell ran')",
]


def _run(env: dict[str, str]):
    nb = v4.new_notebook()
    nb.cells = [v4.new_code_cell(source) for source in CELLS]
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=60, allow_errors=True).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def _texts(cell) -> list[str]:
    out = []
    for output in cell.outputs:
        if output.output_type == "stream":
            out.append(output.text)
        elif output.output_type == "error":
            out.append(f"ERROR {output.ename}: {output.evalue}")
        else:
            out.append(output.get("data", {}).get("text/plain", ""))
    return out


@pytest.mark.slow
def test_in_jupyterlab_checks_never_stop_the_notebook_and_under_the_grader_they_fail() -> None:
    lab = _run({"ODIBI_GRADING": "0", "ODIBI_SPARK": "0"})
    assert not any(o.output_type == "error" for cell in lab.cells for o in cell.outputs)
    assert _texts(lab.cells[2]) == ["not yet: not solved yet: `f` still raises NotImplementedError."
                                    " Replace the `raise NotImplementedError(...)` line in the exercise"
                                    " cell with your solution, run that cell, then run this check again"]
    assert _texts(lab.cells[3]) == ["not yet: check failed at line 1 of the check cell: assert 1 == 2"]
    assert _texts(lab.cells[4]) == ["check passed", "42"]
    assert "skipped: Spark is switched off here" in _texts(lab.cells[5])[0]
    assert _texts(lab.cells[6])[0].startswith("skipped: Spark is switched off")
    assert _texts(lab.cells[7]) == ["the last cell ran\n"]

    graded = _run({"ODIBI_GRADING": "1", "ODIBI_SPARK": "0"})
    assert _texts(graded.cells[2])[-1].startswith("ERROR CheckFailed: not solved yet: `f`")
    assert _texts(graded.cells[3])[-1] == "ERROR CheckFailed: check failed at line 1 of the check cell: assert 1 == 2"
    assert _texts(graded.cells[4]) == ["check passed", "42"]
