from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.report import (
    render_table,
    summarize,
    summary_line,
    write_html,
    write_json,
    write_junit,
    write_reports,
    write_text_atomic,
)
from grader.results import CellError, LessonResult, LessonStatus, StepResult, StepState

ANSI_TRACEBACK = (
    "\x1b[0;31m---------------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mAssertionError\x1b[0m: expected 3 rows, got 2"
)
HOSTILE = "<script>alert(1)</script> & co"


def _passed() -> LessonResult:
    return LessonResult(
        lesson_id="phase_5_parallelism",
        notebook="lessons/05_parallelism.ipynb",
        title="Phase 5: Parallel DAG Execution",
        status=LessonStatus.PASSED,
        pass_score=0.75,
        steps=[
            StepResult(1, "Build the DAG", True, False, StepState.PASSED, 1.5),
            StepResult(2, "Run it threaded", True, True, StepState.PASSED, 2.0),
            StepResult(3, "What we built", False, False, StepState.PASSED),
        ],
        quiz_score=0.8,
        duration_s=12.5,
    )


def _failed() -> LessonResult:
    return LessonResult(
        lesson_id="phase_6_streaming",
        notebook="lessons/06_streaming.ipynb",
        title="Phase 6: Streaming Patterns",
        status=LessonStatus.FAILED,
        pass_score=0.75,
        steps=[
            StepResult(1, "Read a stream", True, False, StepState.PASSED, 0.5),
            StepResult(
                2,
                "Write a checkpoint",
                True,
                True,
                StepState.FAILED,
                0.25,
                CellError("AssertionError", "expected 3 rows, got 2", 7, ANSI_TRACEBACK),
            ),
            StepResult(
                3,
                "Slow watermark",
                True,
                False,
                StepState.TIMED_OUT,
                30.0,
                CellError("CellTimeoutError", "cell timed out after 30 s", 9),
            ),
            StepResult(4, "Resume", True, False, StepState.NOT_RUN, reason="kernel died"),
            StepResult(5, "On Spark", True, False, StepState.SKIPPED, reason="needs engine spark"),
            StepResult(6, "Recap", False, False, StepState.PASSED),
        ],
        kernel_died=True,
        duration_s=75.0,
    )


def _broken() -> LessonResult:
    return LessonResult(
        lesson_id="level_4_reliability",
        notebook="lessons/08_reliability.ipynb",
        status=LessonStatus.ERROR,
        errors=["quizzes/08_reliability.yaml:12: duplicate key 'answer'"],
        lint=["runnable_steps is 5 but the notebook has 4"],
    )


@pytest.fixture
def results() -> list[LessonResult]:
    return [_passed(), _failed(), _broken()]


# -- terminal ------------------------------------------------------------------


def test_table_has_a_row_per_lesson_and_the_failing_steps(results: list[LessonResult]) -> None:
    table = render_table(results)
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:5]}
    assert rows["phase_5_parallelism"][1:6] == ["passed", "2/2", "100%", "75%", "80%"]
    assert rows["phase_6_streaming"][1:6] == ["failed", "1/4", "25%", "75%", "-"]
    assert rows["level_4_reliability"][1:4] == ["error", "0/0", "-"]
    assert "AssertionError: expected 3 rows, got 2 (cell 8)" in table
    assert "timed-out" in table and "CellTimeoutError: cell timed out after 30 s (cell 10)" in table
    assert "not-run" in table and "kernel died" in table
    assert "error: quizzes/08_reliability.yaml:12: duplicate key 'answer'" in table
    assert "lint: runnable_steps is 5 but the notebook has 4" in table
    # details only for lessons that did not pass
    assert "step-1" not in table.split("phase_6_streaming: failed")[1]
    assert "Build the DAG" not in table


def test_table_columns_line_up_and_colour_is_opt_in(results: list[LessonResult]) -> None:
    plain = render_table(results)
    assert "\x1b[" not in plain
    lines = plain.splitlines()[:5]
    start = lines[0].index("status")
    for line in lines[1:]:
        assert line[start - 2 : start] == "  " and line[start] != " "  # status column aligned
    coloured = render_table(results, color=True)
    assert "\x1b[32mpassed" in coloured and "\x1b[31mfailed" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_long_errors_are_truncated_to_one_line() -> None:
    lesson = _failed()
    error = CellError("ValueError", "line one\nline two " + "x" * 500, 3)
    lesson.steps[1].error = error
    line = next(li for li in render_table([lesson]).splitlines() if "step-2" in li)
    assert "line one line two" in line and "..." in line and line.endswith("x (cell 4)")
    assert "more chars]" in line, "cut in the middle, saying how much"
    assert len(line) < 320


def test_summary_line(results: list[LessonResult]) -> None:
    assert summary_line(results) == "3 lessons: 1 passed, 1 failed, 1 error"
    assert summary_line(results[:2]) == "2 lessons: 1 passed, 1 failed, 0 errors"
    assert summary_line([]) == "0 lessons: 0 passed, 0 failed, 0 errors"


# -- JSON ----------------------------------------------------------------------


def test_json_round_trips_with_lessons_and_steps(
    results: list[LessonResult], tmp_path: Path
) -> None:
    path = write_json(results, tmp_path / "report.json", meta={"grader_version": "0.1.0"})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["meta"]["grader_version"] == "0.1.0"
    assert data["meta"]["created_at"].endswith("+00:00")
    assert data["summary"] == summarize(results)
    assert data["summary"]["passed"] == 1 and data["summary"]["error"] == 1
    assert data["summary"]["steps"]["failed"] == 1 and data["summary"]["steps"]["not-run"] == 1
    assert data["lessons"] == [r.to_dict() for r in results]
    streaming = data["lessons"][1]
    assert [s["state"] for s in streaming["steps"]] == [
        "passed",
        "failed",
        "timed-out",
        "not-run",
        "skipped",
        "passed",
    ]
    assert streaming["steps"][1]["error"]["cell_index"] == 7
    assert data["lessons"][0]["score"] == 1.0


def test_json_write_is_atomic_and_leaves_no_temp_files(
    results: list[LessonResult], tmp_path: Path
) -> None:
    target = tmp_path / "nested" / "report.json"
    write_json(results, target)
    write_json(results[:1], target)  # replaces the previous report
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]
    assert len(json.loads(target.read_text())["lessons"]) == 1


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.txt"
    target.write_text("old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("grader.atomic.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


# -- JUnit ---------------------------------------------------------------------


def _suites(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {suite.get("name", ""): suite for suite in root.findall("testsuite")}


def test_junit_has_one_case_per_step_and_correct_counts(
    results: list[LessonResult], tmp_path: Path
) -> None:
    suites = _suites(write_junit(results, tmp_path / "junit.xml"))
    assert list(suites) == ["phase_5_parallelism", "phase_6_streaming", "level_4_reliability"]
    for result in results:
        suite = suites[result.lesson_id]
        step_cases = [c for c in suite.findall("testcase") if c.get("name", "").startswith("step-")]
        assert len(step_cases) == len(result.steps)
        assert suite.get("tests") == str(len(suite.findall("testcase")))
        assert {c.get("classname") for c in suite.findall("testcase")} == {result.lesson_id}

    passed = suites["phase_5_parallelism"]
    assert (passed.get("failures"), passed.get("errors"), passed.get("skipped")) == ("0", "0", "1")
    assert passed.find("testcase[@name='step-3: What we built']/skipped").get("message") == (
        "no check cell"
    )

    streaming = suites["phase_6_streaming"]
    assert (streaming.get("tests"), streaming.get("failures")) == ("6", "2")
    assert (streaming.get("errors"), streaming.get("skipped")) == ("1", "2")
    assert streaming.get("time") == "75.000"
    failure = streaming.find("testcase[@name='step-2: Write a checkpoint']/failure")
    assert failure.get("type") == "AssertionError"
    assert failure.get("message") == "expected 3 rows, got 2"
    assert "\x1b" not in failure.text and "AssertionError: expected 3 rows" in failure.text
    timeout = streaming.find("testcase[@name='step-3: Slow watermark']/failure")
    assert timeout.get("type") == "CellTimeout"
    not_run = streaming.find("testcase[@name='step-4: Resume']/error")
    assert (not_run.get("type"), not_run.get("message")) == ("NotRun", "kernel died")
    skipped = streaming.find("testcase[@name='step-5: On Spark']/skipped")
    assert skipped.get("message") == "needs engine spark"
    assert streaming.find("testcase[@name='step-1: Read a stream']/*") is None
    assert streaming.find("testcase[@name='lesson']") is None  # the steps already explain it


def test_junit_reports_lesson_errors_and_lint_as_an_extra_case(
    results: list[LessonResult], tmp_path: Path
) -> None:
    broken = _suites(write_junit(results, tmp_path / "junit.xml"))["level_4_reliability"]
    (case,) = broken.findall("testcase")
    assert case.get("name") == "lesson"
    error = case.find("error")
    assert error.get("type") == "LessonError"
    assert "duplicate key" in error.get("message")
    assert "lint: runnable_steps is 5" in error.text
    assert (broken.get("tests"), broken.get("errors"), broken.get("failures")) == ("1", "1", "0")


def test_junit_lint_only_and_quiz_only_failures_get_a_lesson_failure(tmp_path: Path) -> None:
    linted = _passed()
    linted.lint = ["metadata says 3 runnable steps, notebook has 2"]
    quiz = _passed()
    quiz.lesson_id, quiz.status, quiz.quiz_score = "quiz_lesson", LessonStatus.FAILED, 0.2
    suites = _suites(write_junit([linted, quiz], tmp_path / "junit.xml"))
    lint_failure = suites["phase_5_parallelism"].find("testcase[@name='lesson']/failure")
    assert lint_failure.get("type") == "Lint"
    quiz_failure = suites["quiz_lesson"].find("testcase[@name='lesson']/failure")
    assert quiz_failure.get("type") == "LessonFailed" and "quiz 20%" in quiz_failure.get("message")
    assert suites["quiz_lesson"].get("failures") == "1"


def test_junit_survives_control_characters_everywhere(tmp_path: Path) -> None:
    lesson = _failed()
    lesson.steps[1].title = "title \x1b[1mbold\x1b[0m\x00"
    lesson.steps[1].error = CellError(
        "Err\x07", "value \x1b[31mred\x1b[0m \x0b", 1, "tb\x1b[0m\x0c"
    )
    path = write_junit([lesson], tmp_path / "junit.xml")
    assert "\x1b" not in path.read_text(encoding="utf-8")
    case = _suites(path)["phase_6_streaming"].find("testcase[@name='step-2: title bold']")
    assert case.find("failure").get("message") == "value red "


# -- HTML ----------------------------------------------------------------------


def test_html_escapes_everything_from_notebooks(tmp_path: Path) -> None:
    lesson = _failed()
    lesson.lesson_id = "id<b>&"
    lesson.steps[1].title = HOSTILE
    lesson.steps[1].error = CellError("Boom<i>", HOSTILE, 7, f"Traceback\n{HOSTILE}\x1b[0m")
    lesson.errors = ["<img src=x onerror=alert(1)> & error"]
    html = write_html([lesson], tmp_path / "report.html").read_text(encoding="utf-8")

    assert "<script" not in html.lower()
    assert "<img" not in html and "<b>" not in html and "<i>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") == 3
    assert "id&lt;b&gt;&amp;" in html and "Boom&lt;i&gt;" in html
    # every "&" left in the page starts an entity: nothing raw slipped through
    assert re.findall(r"&(?!amp;|lt;|gt;|quot;|#x27;)", html) == []
    assert "\x1b" not in html


def test_html_is_self_contained_with_chart_and_step_table(
    results: list[LessonResult], tmp_path: Path
) -> None:
    html = write_html(results, tmp_path / "report.html", title="CI run").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<title>CI run</title>" in html
    assert html.count("<svg") == 1 and "<style>" in html
    assert re.search(r"https?://", html) is None
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert '<span class="badge failed">failed</span>' in html
    assert '<span class="badge timed-out">timed-out</span>' in html
    assert "<details><summary>traceback</summary><pre>" in html
    assert "duplicate key" in html and "runnable_steps is 5" in html
    assert html.count("<section") == 3


# -- all reports ---------------------------------------------------------------


def test_write_reports_writes_all_three(results: list[LessonResult], tmp_path: Path) -> None:
    out = tmp_path / "grader-report"
    paths = write_reports(results, out, meta={"grader_version": "0.1.0"})
    assert set(paths) == {"json", "junit", "html"}
    assert {p.name for p in out.iterdir()} == {"report.json", "junit.xml", "report.html"}
    assert json.loads(paths["json"].read_text())["meta"]["grader_version"] == "0.1.0"
    assert ET.parse(paths["junit"]).getroot().get("tests") == "10"
    assert "<svg" in paths["html"].read_text()
