"""Feedback on wrong answers: for every exercise of every lesson, a plausible wrong solution
(kept in ``wrong_solutions/``) fails its step with a message that says "expected", names the
differing value, and shows none of the reference solution's code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from grader.grade import GradeOptions, grade_notebook
from grader.learner import make_learner_copy
from grader.lesson import BEGIN_SOLUTION, END_SOLUTION, find_lessons, load_lesson

REPO = Path(__file__).resolve().parents[2]
LESSONS = find_lessons(REPO)
pytestmark = pytest.mark.slow


WRONG_DIR = Path(__file__).resolve().parent / "wrong_solutions"


def _wrong(lesson_path: Path) -> dict[int, dict]:
    file = WRONG_DIR / f"l{lesson_path.stem}.py"
    if not file.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{lesson_path.stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


def _solution_lines(source: str) -> list[str]:
    """The reference solution's lines that are specific enough to count as giving it away."""
    inside, lines = False, []
    for line in source.splitlines():
        if line.strip().startswith(BEGIN_SOLUTION):
            inside = True
        elif line.strip().startswith(END_SOLUTION):
            inside = False
        elif inside and len(line.strip()) >= 16:
            lines.append(line.strip())
    return lines


def test_every_exercise_has_a_wrong_solution() -> None:
    for path in LESSONS:
        lesson = load_lesson(path)
        exercises = sorted(s.number for s in lesson.steps if s.exercise)
        assert sorted(_wrong(path)) == exercises, f"{path.name}: wrong solutions for {sorted(_wrong(path))}, exercises {exercises}"


@pytest.mark.parametrize("lesson_path", LESSONS, ids=[p.stem for p in LESSONS])
def test_wrong_solutions_get_feedback_without_the_answer(lesson_path: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(tmp_path / "home"))
    lesson = load_lesson(lesson_path)
    wrong = _wrong(lesson_path)
    copy_path = make_learner_copy(lesson, tmp_path / "workspace")
    nb = nbformat.read(copy_path, as_version=4)
    for step in lesson.steps:
        if step.number in wrong:
            [index] = step.exercise_cells
            nb.cells[index].source = wrong[step.number]["source"]
    nbformat.write(nb, copy_path)
    result = grade_notebook(copy_path, REPO, GradeOptions(timeout=300, record=False,
                                                          store_path=str(tmp_path / "p.db")))
    by_number = {s.number: s for s in result.steps}
    for number, case in wrong.items():
        step = by_number[number]
        assert step.state.value == "failed", f"{lesson_path.stem} step {number}: the wrong solution {step.state.value}"
        message = step.error.evalue
        assert "expected" in message, f"{lesson_path.stem} step {number}: no 'expected' in {message!r}"
        for shown in case["shows"]:
            assert shown in message, f"{lesson_path.stem} step {number}: {shown!r} not in {message!r}"
        [index] = next(s for s in lesson.steps if s.number == number).exercise_cells
        for line in _solution_lines(lesson.nb.cells[index].source):
            assert line not in message, f"{lesson_path.stem} step {number}: the message shows solution code {line!r}"
    assert result.status.value == "failed"
    for number in wrong:
        assert any(reason.startswith(f"exercise {number} ") and reason.endswith("not solved")
                   for reason in result.reasons), (number, result.reasons)
    others = [s for s in result.steps if s.runnable and s.number not in wrong and s.state.value not in ("passed", "skipped")]
    assert not others, [(s.number, s.state.value, s.error) for s in others]


@pytest.mark.parametrize("lesson_path", LESSONS, ids=[p.stem for p in LESSONS])
def test_an_unsolved_copy_fails_naming_every_exercise_and_a_solved_one_passes(
        lesson_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.progress import ProgressStore
    from grader.quiz import load_quiz

    monkeypatch.setenv("ODIBI_COURSE_HOME", str(tmp_path / "home"))
    lesson = load_lesson(lesson_path)
    store_path = str(tmp_path / "p.db")
    quiz = load_quiz(REPO / lesson.spec.quiz)
    with ProgressStore(store_path) as store:  # every question right at the first attempt
        for question in quiz.questions:
            store.record_attempt(lesson.spec.id, question.id, question.checkpoint, question.answer, True)
    options = GradeOptions(timeout=300, record=False, store_path=store_path)
    unsolved = grade_notebook(make_learner_copy(lesson, tmp_path / "unsolved"), REPO, options)
    exercises = [s for s in lesson.steps if s.exercise]
    assert unsolved.status.value == "failed"
    assert unsolved.reasons[:len(exercises)] == [f'exercise {s.number} "{s.title}" not solved' for s in exercises]
    assert unsolved.quiz_score == 1.0 and not any(r.startswith("quiz") for r in unsolved.reasons)

    solved_path = make_learner_copy(lesson, tmp_path / "solved")
    nb = nbformat.read(solved_path, as_version=4)
    for index in lesson.exercise_cells:  # the learner writes the reference solution
        nb.cells[index].source = lesson.nb.cells[index].source.replace(BEGIN_SOLUTION, "# mine").replace(END_SOLUTION, "# done")
    nbformat.write(nb, solved_path)
    solved = grade_notebook(solved_path, REPO, options)
    assert solved.status.value == "passed", solved.reasons
