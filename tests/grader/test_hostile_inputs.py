"""Hostile files and text: every bad input is an error for its own lesson, file or row, and
reports and the progress store take any file name and any text."""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from coursekit import Course, code, md, notebook, spec

from grader import cli
from grader.errors import GraderError, LessonSpecError
from grader.grade import GradeOptions, grade_many, grade_notebook
from grader.learner import make_learner_copy
from grader.lesson import load_lesson, read_notebook
from grader.progress import ProgressStore
from grader.report import write_reports
from grader.results import CellError, LessonResult, LessonStatus, StepResult, StepState, safe_text
from grader.runner import RunOptions, check_timeout, enforced_seconds


def _good(course: Course, name: str = "01_good", lesson_id: str = "good") -> Path:
    return course.lesson(name, [code("assert 1 + 1 == 2", "step-1", "check"),
                                code(f"quiz({lesson_id!r}, checkpoint=1) if False else None")],
                         spec(lesson_id))


# -- not UTF-8 ---------------------------------------------------------------------------
def test_a_notebook_that_is_not_utf8_is_an_error_for_that_lesson_only(course: Course) -> None:
    good = _good(course)
    garbage = course.root / "lessons" / "02_garbage.ipynb"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary")
    latin1 = course.root / "lessons" / "03_latin1.ipynb"
    text = json.dumps(notebook([md("# Caf\u00e9")], spec("latin")), ensure_ascii=False)
    latin1.write_bytes(text.encode("latin-1"))

    with pytest.raises(LessonSpecError, match="not a UTF-8 text file"):
        read_notebook(latin1)
    results = grade_many([good, garbage, latin1], course.root, GradeOptions(timeout=30))
    by_name = {Path(r.notebook).name: r for r in results}
    assert by_name["01_good.ipynb"].status is LessonStatus.PASSED
    for name in ("02_garbage.ipynb", "03_latin1.ipynb"):
        assert by_name[name].status is LessonStatus.ERROR
        assert name in by_name[name].errors[0] and "UTF-8" in by_name[name].errors[0]
    written = write_reports(results, course.root.parent / "out")
    assert json.loads(written["json"].read_text())["summary"]["error"] == 2


def test_a_garbage_lesson_breaks_neither_learner_copies_nor_lint(course: Course, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    good = _good(course)
    (course.root / "lessons" / "02_garbage.ipynb").write_bytes(b"\xff\xfe\xfa garbage")
    copy = make_learner_copy(load_lesson(good), tmp_path / "ws")
    result = grade_notebook(copy, course.root, GradeOptions(timeout=30, record=False))
    assert result.lesson_id == "good" and result.status is not LessonStatus.ERROR, result.errors

    assert cli.main(["--root", str(course.root), "lint"]) == 1
    out = capsys.readouterr().out
    assert "02_garbage.ipynb" in out and "UTF-8" in out
    assert "2 lessons checked, 1 problems" in out


# -- file names and text that are not valid UTF-8 ---------------------------------------------
def _hostile_result(notebook_name: str) -> LessonResult:
    error = CellError("ValueError", "bad \ud800 value", 3, "Traceback \udcff")
    step = StepResult(1, "Title with a lone surrogate \ud83d", True, True, StepState.FAILED, error=error)
    return LessonResult(lesson_id="hostile", notebook=notebook_name, title="T \udc80",
                        status=LessonStatus.FAILED, pass_score=0.75, steps=[step], learner_copy=True,
                        errors=["cell 2 raised \udcfe"])


def test_progress_store_and_reports_take_any_file_name_and_text(tmp_path: Path) -> None:
    name = os.fsdecode(b"/ws/copy-\xff\xfe.ipynb")  # surrogate escapes, as Linux gives them
    result = _hostile_result(name)
    with ProgressStore(tmp_path / "p.db") as store:
        store.record_run(result)
        (run,) = store.runs()
    assert run["notebook"] == "/ws/copy-\\xff\\xfe.ipynb"
    assert run["steps"][0]["title"] == "Title with a lone surrogate \\ud83d"
    written = write_reports([result], tmp_path / "out")
    report = json.loads(written["json"].read_text(encoding="utf-8"))
    assert report["lessons"][0]["notebook"] == "/ws/copy-\\xff\\xfe.ipynb"
    ET.parse(written["junit"])
    assert "copy-" in written["html"].read_text(encoding="utf-8")
    assert safe_text("plain") == "plain"


@pytest.mark.slow
def test_a_learner_copy_with_a_non_utf8_name_and_a_surrogate_title_is_graded_and_recorded(
        course: Course, tmp_path: Path) -> None:
    cells = [md("# Step \ud800 one", "step-1"), code("assert 1 + 1 == 2", "step-1", "check")]
    course.lesson("01_sur", [md("# Step one", "step-1"), code("assert 1 + 1 == 2", "step-1", "check")],
                  spec("sur"))
    ws = tmp_path / "ws"
    ws.mkdir()
    copy = Path(os.fsdecode(bytes(ws) + b"/01_sur-\xff.ipynb"))
    nb = notebook(cells, spec("sur"))
    copy.write_text(json.dumps(nb), encoding="utf-8")  # ensure_ascii keeps \ud800 as an escape
    store = tmp_path / "p.db"
    result = grade_notebook(copy, course.root, GradeOptions(timeout=30, store_path=str(store)))
    assert result.lesson_id == "sur" and result.status is not LessonStatus.ERROR, result.errors
    assert not any("progress store" in e for e in result.errors), result.errors
    with ProgressStore(store) as s:
        assert [r["notebook"].endswith("01_sur-\\xff.ipynb") for r in s.runs()] == [True]
    write_reports([result], tmp_path / "out")


# -- timeouts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0, 1e300, True, "5"])
def test_timeouts_must_be_finite_and_positive(value: object) -> None:
    with pytest.raises(GraderError, match="timeout"):
        check_timeout(value)
    with pytest.raises(GraderError):
        GradeOptions(timeout=value)  # type: ignore[arg-type]
    with pytest.raises(GraderError):
        RunOptions(timeout=value)  # type: ignore[arg-type]


def test_a_timeout_under_a_second_is_enforced_as_one_second() -> None:
    assert [enforced_seconds(s) for s in (0.001, 0.5, 1.0, 1.2, 119.5)] == [1, 1, 1, 2, 120]
    assert RunOptions(timeout=0.5).timeout == 0.5


@pytest.mark.parametrize("value", ["nan", "inf", "-3", "0"])
def test_cli_refuses_bad_timeouts_before_grading(two: Course, value: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never"
    assert cli.main(["--root", str(two.root), "grade", "--timeout", value, "--out", str(out),
                     "--no-progress"]) == 2
    assert "--timeout must be a finite number of seconds" in capsys.readouterr().err
    assert not out.exists()
    assert cli.main(["--root", str(two.root), "lint", "--timeout", value]) == 2


@pytest.mark.slow
def test_cli_rounds_a_sub_second_timeout_up_and_still_enforces_it(course: Course, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    course.lesson("01_loop", [code("while True:\n    pass", "step-1", "check")], spec("loop"))
    code_ = cli.main(["--root", str(course.root), "grade", "--timeout", "0.5", "--no-progress",
                      "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code_ == 1
    assert "rounded up to 1 s" in captured.err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["lessons"][0]["steps"][0]["state"] == "timed-out"
    assert report["meta"]["timeout"] == 1.0


# -- huge error values ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_five_megabyte_exception_gives_small_reports(course: Course, tmp_path: Path) -> None:
    path = course.lesson("01_big", [code("raise ValueError('x' * 5_000_000 + 'END')", "step-1", "check")],
                         spec("big"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=60))
    error = result.steps[0].error
    assert error is not None and error.ename == "ValueError"
    assert len(error.evalue) <= 4000 and "more chars]" in error.evalue and error.evalue.endswith("END")
    assert len(error.traceback) <= 4000
    written = write_reports([result], tmp_path / "out")
    for kind, file in written.items():
        assert file.stat().st_size < 100_000, f"{kind} report is {file.stat().st_size} bytes"


# -- the CLI's --out and damaged progress rows -------------------------------------------------
@pytest.fixture
def two(course: Course) -> Course:
    course.lesson("01_pass", [code("assert 1 + 1 == 2", "step-1", "check"),
                              code("quiz('pass', checkpoint=1)")], spec("pass"))
    return course


def test_out_pointing_at_a_file_is_a_usage_error_before_grading(two: Course, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    started = os.times().elapsed
    assert cli.main(["--root", str(two.root), "grade", "--out", str(target), "--no-progress"]) == 2
    assert os.times().elapsed - started < 10, "it must refuse before grading anything"
    err = capsys.readouterr().err
    assert str(target) in err and "is a file" in err
    assert target.read_text() == "keep me"


def test_progress_shows_good_rows_and_names_damaged_ones(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    good = LessonResult(lesson_id="fine", notebook="/ws/fine.ipynb", status=LessonStatus.PASSED,
                        pass_score=0.75, learner_copy=True,
                        steps=[StepResult(1, "s", True, False, StepState.PASSED)])
    with ProgressStore(db) as store:
        store.record_run(good)
        for lesson in ("badjson", "nokeys", "badtypes", "notobject"):
            store.record_run(LessonResult(lesson_id=lesson, notebook="x", status=LessonStatus.FAILED))
    conn = sqlite3.connect(db)
    damage = {"badjson": "{not json", "nokeys": json.dumps({"lesson_id": "nokeys"}),
              "badtypes": json.dumps({"lesson_id": 5, "status": "failed", "passed_steps": "x",
                                      "graded_steps": 0, "pass_score": 0.5, "score": None}),
              "notobject": "[1, 2]"}
    for lesson, text in damage.items():
        conn.execute("UPDATE grader_runs SET result_json = ? WHERE lesson_id = ?", (text, lesson))
    conn.commit()
    conn.close()

    assert cli.main(["progress", "--store", str(db)]) == 0
    captured = capsys.readouterr()
    assert "fine" in captured.out and "passed" in captured.out
    for row_id, lesson in enumerate(["badjson", "nokeys", "badtypes", "notobject"], start=2):
        assert f"grader run row {row_id} " in captured.err, (lesson, captured.err)
    assert "not valid JSON" in captured.err and "no 'status'" in captured.err
    assert "'lesson_id' is int" in captured.err and "JSON list" in captured.err
    with ProgressStore(db) as store:
        assert [r["lesson_id"] for r in store.runs()] == ["fine"]
        assert [row for row, _ in store.damaged_runs()] == [2, 3, 4, 5]


def test_nbformat_reads_surrogate_escapes_from_json(tmp_path: Path) -> None:
    """The test above relies on this: a JSON escape of a lone surrogate reads back as one."""
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook([md("# a \ud800")], None)), encoding="utf-8")
    assert "\ud800" in nbformat.read(path, as_version=4).cells[0].source


def test_lab_makes_the_other_copies_when_one_lesson_is_garbage(course: Course, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _good(course)
    (course.root / "lessons" / "02_garbage.ipynb").write_bytes(b"\xff\xfe garbage")
    monkeypatch.setattr("subprocess.call", lambda *args, **kwargs: 0)  # no JupyterLab in tests
    ws = tmp_path / "ws"
    assert cli.main(["--root", str(course.root), "lab", "--workspace", str(ws)]) == 0
    assert (ws / "01_good.ipynb").is_file() and not (ws / "02_garbage.ipynb").exists()
    assert "no learner copy of 02_garbage.ipynb" in capsys.readouterr().err
