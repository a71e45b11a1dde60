"""The pass policy, hints and quiz rounds, on a lesson built in code: a learner must do the
exercises (and the quiz) to pass, the verdict names every reason, hints are recorded, and a
retake round can pass a lesson the first round failed."""

from __future__ import annotations

import json

import nbformat
import pytest
from coursekit import Course, code, md, spec

from grader.cli import main
from grader.errors import LessonSpecError
from grader.grade import GradeOptions, grade_notebook
from grader.learner import make_learner_copy
from grader.lesson import load_lesson
from grader.progress import ProgressStore
from grader.report import render_table
from grader.results import LessonStatus

pytestmark = pytest.mark.slow

QUIZ = """\
lesson: policy
checkpoints:
  1: "Only checkpoint"
questions:
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Pick b"
    options: ["a", "b", "c"]
    answer: "b"
    explanation: "b it is"
  - id: q2
    checkpoint: 1
    type: mcq
    prompt: "Pick c"
    options: ["a", "b", "c"]
    answer: "c"
    explanation: "c it is"
"""
DOUBLE = "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"
TRIPLE = "def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION"
CELLS = [
    code("%load_ext grader\nfrom grader.check import expect_equal"),
    md("## Step 1: warm up", "step-1"),
    code("%%check\nexpect_equal(1 + 1, 2)", "step-1", "check"),
    md("## Step 2: double it", "step-2"),
    code(DOUBLE, "step-2", "exercise"),
    code("%%check\nexpect_equal(double(4), 8, what='double(4)')", "step-2", "check"),
    md("## Step 3: triple it", "step-3"),
    code(TRIPLE, "step-3", "exercise"),
    code("%%check\nexpect_equal(triple(4), 12, what='triple(4)')", "step-3", "check"),
    *[c for n in range(4, 10) for c in (md(f"## Step {n}: reading", f"step-{n}"),
                                        code(f"%%check\nexpect_equal({n}, {n})", f"step-{n}", "check"))],
    code("quiz('01_policy', checkpoint=1) if False else None"),
]
HINTS = {"2": ["multiply", "by two"], "3": ["multiply", "by three", "x * ..."]}


def _lesson(course: Course, **assessment) -> object:
    lesson_spec = spec("policy", runnable_steps=9, total_steps=9, quiz="quizzes/01_policy.yaml",
                       hints=HINTS)
    lesson_spec["assessment"] = {**lesson_spec["assessment"], "questions": 2, **assessment}
    return course.lesson("01_policy", CELLS, lesson_spec, quiz=QUIZ)


def _copy(course: Course, tmp_path, *, solve: tuple[str, ...] = ()) -> object:
    lesson = load_lesson(course.root / "lessons" / "01_policy.ipynb")
    path = make_learner_copy(lesson, tmp_path / "workspace", force=True)
    nb = nbformat.read(path, as_version=4)
    answers = {"double": "def double(x):\n    return x + x\n", "triple": "def triple(x):\n    return x * 3\n"}
    for cell in nb.cells:
        for name in solve:
            if f"def {name}(" in cell.source:
                cell.source = answers[name]
    nbformat.write(nb, path)
    return path


def _answer(store: ProgressStore, q1: str, q2: str, round_no: int | None = None) -> None:
    store.record_attempt("policy", "q1", 1, q1, q1 == "b", round_no=round_no)
    store.record_attempt("policy", "q2", 1, q2, q2 == "c", round_no=round_no)


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "progress.db")


def _grade(path, course, store_path):
    return grade_notebook(path, course.root, GradeOptions(timeout=60, store_path=store_path))


def test_unsolved_exercises_fail_with_a_verdict_naming_them(course, tmp_path, store_path) -> None:
    _lesson(course)
    with ProgressStore(store_path) as store:
        _answer(store, "b", "c")
    result = _grade(_copy(course, tmp_path), course, store_path)
    assert result.score == pytest.approx(7 / 9) and result.score >= result.pass_score
    assert result.status is LessonStatus.FAILED
    assert result.reasons == ['exercise 2 "Step 2: double it" not solved',
                              'exercise 3 "Step 3: triple it" not solved']
    assert result.verdict.startswith('failed: exercise 2 "Step 2: double it" not solved; exercise 3')
    table = render_table([result])
    assert "step-2 (exercise)" in table and "step-3 (exercise)" in table
    assert "not solved yet: `double` still raises NotImplementedError" in table
    assert result.to_dict()["policy"]["exercises"] == "required"


def test_everything_solved_passes_and_exercises_are_listed_anyway(course, tmp_path, store_path) -> None:
    _lesson(course)
    with ProgressStore(store_path) as store:
        _answer(store, "b", "c")
    result = _grade(_copy(course, tmp_path, solve=("double", "triple")), course, store_path)
    assert result.status is LessonStatus.PASSED and result.reasons == [] and result.verdict == "passed"
    table = render_table([result])
    assert "step-2 (exercise)" in table and "step-3 (exercise)" in table  # listed whatever the verdict


def test_a_wrong_answer_says_expected_and_got(course, tmp_path, store_path) -> None:
    _lesson(course)
    path = _copy(course, tmp_path, solve=("triple",))
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "def double(x):\n    return x * x\n"
    nbformat.write(nb, path)
    result = _grade(path, course, store_path)
    step = result.steps[1]
    assert step.error.ename == "CheckFailed"
    assert step.error.evalue == "double(4): expected 8, got 16"
    assert step.where == 'cell 6, step 2 "Step 2: double it"'


def test_a_syntax_error_names_the_step_cell_and_line(course, tmp_path, store_path) -> None:
    _lesson(course)
    path = _copy(course, tmp_path, solve=("triple",))
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "def double(x):\n    return (x *\n"
    nbformat.write(nb, path)
    step = _grade(path, course, store_path).steps[1]
    assert step.error.ename == "SyntaxError"
    assert "of cell 5)" in step.error.evalue and ".py" not in step.error.evalue, step.error.evalue
    assert step.where.startswith("cell 5, step 2")


def test_quiz_below_pass_fails_with_retake_advice_and_a_retake_round_passes(
        course, tmp_path, store_path) -> None:
    _lesson(course)
    path = _copy(course, tmp_path, solve=("double", "triple"))
    with ProgressStore(store_path) as store:
        _answer(store, "a", "c")  # 50% in round 1
    first = _grade(path, course, store_path)
    assert first.status is LessonStatus.FAILED
    assert first.reasons == ["quiz 50% < 75% (start a new round: python -m grader quiz retake 01_policy)"]
    assert main(["--root", str(course.root), "quiz", "retake", "01_policy", "--store", store_path]) == 0
    with ProgressStore(store_path) as store:
        assert store.current_round("policy", 1) == 2
        _answer(store, "b", "c")  # round 2: both right at the first attempt
        rounds = store.round_scores("policy", {"q1": 1, "q2": 1})
        assert rounds == {1: {1: 1, 2: 2}}
        assert len(store.attempts("policy")) == 4, "every attempt stays stored"
    second = _grade(path, course, store_path)
    assert second.quiz_score == 1.0 and second.status is LessonStatus.PASSED


def test_the_policy_is_read_from_the_spec(course, tmp_path, store_path) -> None:
    _lesson(course, exercises="counted")
    with ProgressStore(store_path) as store:
        _answer(store, "b", "c")
    result = _grade(_copy(course, tmp_path), course, store_path)
    assert result.status is LessonStatus.PASSED, result.reasons  # 7/9 >= 75% and exercises only count
    assert result.policy["exercises"] == "counted"
    lesson_spec = spec("bad")
    lesson_spec["assessment"]["exercises"] = "optional"
    path = course.lesson("02_bad", [code("x = 1")], lesson_spec)
    with pytest.raises(LessonSpecError, match=r"assessment.exercises': expected one of \['required', 'counted'\]"):
        load_lesson(path)


def test_hints_are_revealed_one_at_a_time_recorded_and_reported(course, tmp_path, store_path,
                                                                 capsys) -> None:
    _lesson(course, hint_penalty=0.5)
    argv = ["--root", str(course.root), "hint", "01_policy", "3", "--store", store_path]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  hint 1 of 3: multiply"]
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  hint 1 of 3: multiply", "  hint 2 of 3: by three"]
    with ProgressStore(store_path) as store:
        assert store.hints_used("policy") == {3: 2}
        _answer(store, "b", "c")
    result = _grade(_copy(course, tmp_path, solve=("double", "triple")), course, store_path)
    assert result.steps[2].hints_used == 2 and result.hints_used == 2
    assert result.score == pytest.approx(8 / 9), "hint_penalty 0.5 x 2 hints takes step 3's point"
    assert "[hints used: 2]" in render_table([result])
    assert main(["--root", str(course.root), "hint", "01_policy", "4", "--store", store_path]) == 2
    assert "not an exercise step; exercise steps: [2, 3]" in capsys.readouterr().err


def test_lint_fails_an_exercise_without_hints(course) -> None:
    lesson_spec = spec("nohints", runnable_steps=9, total_steps=9, quiz="quizzes/01_nohints.yaml")
    path = course.lesson("01_nohints", CELLS, lesson_spec)
    from grader.lesson import lint_lesson

    problems = lint_lesson(load_lesson(path), root=course.root)
    assert any("exercise step 2 (Step 2: double it) has no hints" in p for p in problems), problems
    assert any("exercise step 3" in p for p in problems)
    bad = spec("toomany", hints={"2": ["only one"]})
    with pytest.raises(LessonSpecError, match=r"hints.2': expected 2 to 3 hints, got 1"):
        load_lesson(course.lesson("01_toomany", CELLS, bad))


def test_grade_takes_a_lesson_name_and_unknown_commands_are_usage_errors(
        course, tmp_path, store_path, monkeypatch, capsys) -> None:
    _lesson(course)
    home = tmp_path / "home"
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(home))
    root = ["--root", str(course.root)]
    assert main([*root, "grade", "01_policy", "--no-record"]) == 2
    assert "no learner copy of 01_policy" in capsys.readouterr().err
    assert main([*root, "copy", "01_policy"]) == 0
    capsys.readouterr()
    out = tmp_path / "report"
    assert main([*root, "grade", "01_policy", "--no-record", "--out", str(out), "--store", store_path]) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["lessons"][0]["learner_copy"] is True
    assert report["lessons"][0]["notebook"] == str(home / "workspace" / "01_policy.ipynb")
    assert main([*root, "gradee"]) == 2
    assert "unknown command 'gradee'" in capsys.readouterr().err
