"""Every step state, and every way a lesson can be broken, shown on notebooks built in code."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from coursekit import Course, code, md, spec

from grader.grade import GradeOptions, grade_many, grade_notebook
from grader.results import LessonStatus, StepState

pytestmark = pytest.mark.slow


def _states(result):
    return [step.state for step in result.steps]


def test_each_step_state_in_one_lesson(course: Course) -> None:
    cells = [
        md("# Setup"),
        code("x = 1"),
        md("## Step 1: passes", "step-1"),
        code("y = x + 1", "step-1"),
        code("assert y == 2", "step-1", "check"),
        code("assert y == 3, f'expected 3, got {y}'", "step-2", "check"),
        code("while True:\n    pass", "step-3", "check"),
        code("from pyspark.sql import SparkSession", "step-4", "engine-spark", "check"),
        code("z = 5", "step-5"),
        code("assert z == 5", "step-5", "check"),
        code("import os\nos._exit(1)", "step-6", "check"),
        code("print('never reached')", "step-7", "check"),
    ]
    path = course.lesson("01_states", cells, spec("states", runnable_steps=7, total_steps=7,
                                                  engines=["pandas", "spark"]))
    started = time.monotonic()
    result = grade_notebook(path, course.root, GradeOptions(timeout=3))
    elapsed = time.monotonic() - started

    assert _states(result) == [
        StepState.PASSED,     # 1
        StepState.FAILED,     # 2: failing assertion
        StepState.TIMED_OUT,  # 3: infinite loop is interrupted ...
        StepState.SKIPPED,    # 4: engine-spark without --spark
        StepState.PASSED,     # 5: ... and the grader went on after the timeout
        StepState.FAILED,     # 6: the kernel died here
        StepState.NOT_RUN,    # 7: never reached
    ]
    failed = result.steps[1].error
    assert (failed.ename, failed.cell_index) == ("AssertionError", 5)
    assert "expected 3, got 2" in failed.evalue
    assert result.steps[2].error.ename == "CellTimeout" and result.steps[2].error.cell_index == 6
    assert "--spark" in result.steps[3].reason
    assert result.steps[5].error.ename == "DeadKernelError"
    assert result.kernel_died
    assert "kernel died" in result.steps[6].reason
    # score: 2 passed of 6 graded (the skipped step is not graded)
    assert result.score == pytest.approx(2 / 6)
    assert result.status is LessonStatus.FAILED
    assert elapsed < 60, f"a 3 s timeout should not make grading take {elapsed:.0f} s"


def test_step_without_check_is_not_runnable_and_setup_errors_are_reported(course: Course) -> None:
    cells = [
        code("raise ValueError('broken setup')"),
        md("## Step 1: reading only", "step-1"),
        code("a = 1", "step-1"),
        code("b = 2", "step-2"),
        code("assert b == 2", "step-2", "check"),
    ]
    path = course.lesson("02_setup", cells, spec("setup", runnable_steps=1, total_steps=2))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30))
    assert [s.runnable for s in result.steps] == [False, True]
    assert result.score == 1.0 and result.status is LessonStatus.PASSED
    assert any("cell 1 (outside any step) raised ValueError: broken setup" in e for e in result.errors)
    strict = grade_notebook(path, course.root, GradeOptions(timeout=30, strict=True))
    assert strict.status is LessonStatus.FAILED
    assert any("outside any step" in line for line in strict.lint)


def test_broken_files_are_errors_for_their_lesson_only(course: Course) -> None:
    good = course.lesson("01_good", [code("assert True", "step-1", "check")], spec("good"))
    bad_json = course.root / "lessons" / "02_bad_json.ipynb"
    bad_json.write_text('{"cells": [ {"cell_type": "code", ')  # truncated JSON
    dup_quiz = course.lesson(
        "03_dup_quiz", [code("assert True", "step-1", "check")], spec("dup_quiz"),
        quiz="lesson: dup_quiz\ncheckpoints:\n  1: one\nquestions: []\ncheckpoints:\n  2: two\n",
    )
    no_spec = course.lesson("04_no_spec", [code("assert True", "step-1", "check")], None)

    results = grade_many([good, bad_json, dup_quiz, no_spec], course.root, GradeOptions(timeout=30), jobs=2)
    by_name = {Path(r.notebook).name: r for r in results}
    assert by_name["01_good.ipynb"].status is LessonStatus.PASSED
    bad = by_name["02_bad_json.ipynb"]
    assert bad.status is LessonStatus.ERROR
    assert "02_bad_json.ipynb" in bad.errors[0] and "not a valid notebook" in bad.errors[0]
    dup = by_name["03_dup_quiz.ipynb"]
    assert dup.status is LessonStatus.ERROR
    assert "quizzes/dup_quiz.yaml:5" in dup.errors[0] and "checkpoints" in dup.errors[0], dup.errors
    missing = by_name["04_no_spec.ipynb"]
    assert missing.status is LessonStatus.ERROR
    assert "field 'odibi'" in missing.errors[0]


WRONG_KEYS_QUIZ = """\
lesson: keys
checkpoints:
  1: "Keys"
questions:
  - id: mcq-off
    checkpoint: 1
    type: mcq
    prompt: "Pick one"
    options: ["a", "b"]
    answer: "c"
    explanation: "c is not an option"
  - id: predict-wrong
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: |
      print(sum(range(4)))
    answer: "10"
    explanation: "0+1+2+3"
  - id: trace-ok
    checkpoint: 1
    type: code-trace
    prompt: "total after line 3"
    code: |
      total = 0
      for i in range(3):
          total += i
    trace: {line: 3, variable: total}
    answer: "3"
    explanation: "0+1+2"
"""


def test_strict_fails_on_wrong_quiz_keys(course: Course) -> None:
    cells = [code("quiz('01_keys', checkpoint=1) if False else None"),
             code("assert True", "step-1", "check")]
    lesson_spec = spec("keys", assessment={"types": ["mcq", "predict-output", "code-trace"],
                                           "checkpoints": 1, "questions": 3, "pass_score": 0.75},
                       quiz="quizzes/01_keys.yaml")
    path = course.lesson("01_keys", cells, lesson_spec, quiz=WRONG_KEYS_QUIZ)
    lenient = grade_notebook(path, course.root, GradeOptions(timeout=30))
    assert lenient.status is LessonStatus.PASSED  # keys are an instructor (strict) concern
    strict = grade_notebook(path, course.root, GradeOptions(timeout=30, strict=True))
    assert strict.status is LessonStatus.FAILED
    lint = "\n".join(strict.lint)
    assert "mcq-off" in lint and "'c'" in lint
    assert "predict-wrong" in lint and "10" in lint and "6" in lint and "expected" in lint
    assert "trace-ok" not in lint


def test_strict_proves_exercise_checks_can_fail(course: Course) -> None:
    weak = [
        code("def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION", "step-1", "exercise"),
        code("assert True  # checks nothing", "step-1", "check"),
        code("def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION", "step-2", "exercise"),
        code("assert triple(2) == 6, f'expected 6, got {triple(2)}'", "step-2", "check"),
        code("quiz('01_ex', checkpoint=1) if False else None"),
    ]
    hints = {"1": ["double it", "x + x"], "2": ["triple it", "x * 3"]}
    path = course.lesson("01_ex", weak, spec("ex", runnable_steps=2, total_steps=2, quiz="quizzes/01_ex.yaml",
                                            hints=hints))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30, strict=True))
    assert result.score == 1.0
    assert result.status is LessonStatus.FAILED
    assert any("exercise step 1" in line and "cannot fail" in line for line in result.lint), result.lint
    assert not any("exercise step 2" in line for line in result.lint)


def test_strict_rejects_steps_that_depend_on_an_exercise(course: Course) -> None:
    cells = [
        code("def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION", "step-1", "exercise"),
        code("assert triple(2) == 6", "step-1", "check"),
        code("nine = triple(3)", "step-2"),  # leans on the learner's solution
        code("assert nine == 9", "step-2", "check"),
        code("assert 1 + 1 == 2", "step-3", "check"),
        code("quiz('01_dep', checkpoint=1) if False else None"),
    ]
    path = course.lesson("01_dep", cells, spec("dep", runnable_steps=3, total_steps=3, quiz="quizzes/01_dep.yaml"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30, strict=True))
    assert result.score == 1.0 and result.status is LessonStatus.FAILED
    assert any("step 2" in line and "only exercise steps may fail" in line for line in result.lint), result.lint
    assert not any("step 3" in line for line in result.lint)
