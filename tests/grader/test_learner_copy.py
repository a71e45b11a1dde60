"""Learner copies: stripping solutions, never overwriting work, and tamper-proof grading."""

from __future__ import annotations

import nbformat
import pytest
from coursekit import Course, code, md, spec

from grader.errors import GraderError
from grader.grade import GradeOptions, grade_notebook
from grader.learner import STUB, make_learner_copy, merge_learner_work, strip_solutions
from grader.lesson import load_lesson
from grader.progress import ProgressStore
from grader.results import LessonStatus, StepState


def test_strip_keeps_indentation_and_surroundings() -> None:
    source = "def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    y = x * 2\n    return y\n    # END SOLUTION\n\nz = 1\n"
    assert strip_solutions(source) == f"def f(x):\n    '''doc'''\n    {STUB}\n\nz = 1\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n# END SOLUTION\n", "line 2"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "nested"),
    ],
)
def test_strip_rejects_unbalanced_markers(source: str, message: str) -> None:
    with pytest.raises(GraderError, match=message):
        strip_solutions(source, where="demo.ipynb, cell 3")


EXERCISE = "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"
LESSON_CELLS = [
    md("## Step 1: warm up", "step-1"),
    code("a = 1", "step-1"),
    code("assert a == 1", "step-1", "check"),
    md("## Step 2: exercise", "step-2"),
    code(EXERCISE, "step-2", "exercise"),
    code("assert double(4) == 8, f'expected 8, got {double(4)}'", "step-2", "check"),
    code("b = 2", "step-3"),
    code("assert b == 2", "step-3", "check"),
    code("c = 3", "step-4"),
    code("assert c == 3", "step-4", "check"),
]


@pytest.fixture
def lesson_path(course: Course):
    return course.lesson("01_demo", LESSON_CELLS, spec("demo", runnable_steps=4, total_steps=4))


def test_copy_is_stripped_and_never_overwritten(lesson_path, tmp_path) -> None:
    lesson = load_lesson(lesson_path)
    target = make_learner_copy(lesson, tmp_path / "ws")
    copied = nbformat.read(target, as_version=4)
    exercise = copied.cells[4].source
    assert STUB in exercise and "return 2 * x" not in exercise and "def double(x):" in exercise
    assert copied.metadata["odibi_learner_copy"]["lesson_id"] == "demo"
    target.write_text(target.read_text().replace("raise NotImplementedError", "return 2 * x  #"))
    with pytest.raises(GraderError, match="already exists"):
        make_learner_copy(lesson, tmp_path / "ws")
    assert "return 2 * x  #" in target.read_text(), "the learner's work must survive"
    make_learner_copy(lesson, tmp_path / "ws", force=True)
    assert STUB in nbformat.read(target, as_version=4).cells[4].source


def _solve(path, answer: str = "    return x + x") -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = nb.cells[4].source.replace(STUB, answer.strip())
    nbformat.write(nb, path)


def _answer_quiz(store_path, correct: bool) -> None:
    with ProgressStore(store_path) as store:
        store.record_attempt("demo", "q1", 1, "b" if correct else "a", correct)


def test_stripped_copy_fails_exercise_and_solved_copy_passes(lesson_path, course: Course, tmp_path) -> None:
    store = tmp_path / "progress.db"
    options = GradeOptions(timeout=30, store_path=str(store))
    copy = make_learner_copy(load_lesson(lesson_path), tmp_path / "ws")

    stripped = grade_notebook(copy, course.root, options)
    assert stripped.learner_copy
    assert stripped.steps[1].state is StepState.FAILED
    assert stripped.steps[1].error.ename == "NotImplementedError"
    assert stripped.score == 0.75 and stripped.quiz_score == 0.0
    assert stripped.status is LessonStatus.FAILED  # quiz not answered

    _solve(copy)
    _answer_quiz(store, correct=True)
    solved = grade_notebook(copy, course.root, options)
    assert solved.score == 1.0 and solved.quiz_score == 1.0
    assert solved.status is LessonStatus.PASSED
    with ProgressStore(store) as s:
        assert [r["status"] for r in s.runs("demo")] == ["failed", "passed"]


def test_wrong_first_quiz_attempt_fails_a_perfect_copy(lesson_path, course: Course, tmp_path) -> None:
    store = tmp_path / "progress.db"
    copy = make_learner_copy(load_lesson(lesson_path), tmp_path / "ws")
    _solve(copy)
    _answer_quiz(store, correct=False)
    _answer_quiz(store, correct=True)
    result = grade_notebook(copy, course.root, GradeOptions(timeout=30, store_path=str(store)))
    assert result.score == 1.0 and result.quiz_score == 0.0
    assert result.status is LessonStatus.FAILED


def test_tampered_copy_scores_no_higher_than_honest(lesson_path, course: Course, tmp_path) -> None:
    """Lowered pass_score, deleted check cells and moved step tags change nothing."""
    lesson = load_lesson(lesson_path)
    options = GradeOptions(timeout=30, store_path=str(tmp_path / "progress.db"))
    honest = make_learner_copy(lesson, tmp_path / "honest")
    honest_result = grade_notebook(honest, course.root, options)

    tampered = make_learner_copy(lesson, tmp_path / "tampered")
    nb = nbformat.read(tampered, as_version=4)
    nb.metadata["odibi"]["assessment"]["pass_score"] = 0.01
    nb.metadata["odibi"]["runnable_steps"] = 1
    del nb.cells[5]  # the exercise's check cell
    nb.cells[4].metadata["tags"] = ["step-1"]  # move the stubbed exercise into step 1
    nb.cells.append(code("assert True", "step-9", "check"))  # an always-passing extra step
    nbformat.write(nb, tampered)
    tampered_result = grade_notebook(tampered, course.root, options)

    assert tampered_result.pass_score == honest_result.pass_score == 0.75
    assert [s.number for s in tampered_result.steps] == [1, 2, 3, 4]
    assert tampered_result.score <= honest_result.score
    assert tampered_result.steps[1].state is StepState.FAILED
    assert tampered_result.status is not LessonStatus.PASSED


def test_copy_with_unknown_id_is_an_error(course: Course, lesson_path, tmp_path) -> None:
    stray = tmp_path / "99_elsewhere.ipynb"
    nb = nbformat.read(lesson_path, as_version=4)
    nb.metadata["odibi"]["id"] = "no_such_lesson"
    nbformat.write(nb, stray)
    result = grade_notebook(stray, course.root, GradeOptions(timeout=30))
    assert result.status is LessonStatus.ERROR
    assert "no canonical lesson" in result.errors[0] and "demo" in result.errors[0]


def test_merge_reports_missing_exercise_cells(lesson_path) -> None:
    lesson = load_lesson(lesson_path)
    nb = nbformat.read(lesson_path, as_version=4)
    for cell in nb.cells:
        cell["id"] = f"renamed-{cell['id']}"
    merged, notes = merge_learner_work(lesson, nb)
    assert STUB in merged.cells[4].source
    assert notes and "missing from the copy" in notes[0]
