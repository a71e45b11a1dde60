"""Finding quiz files by stem or by lesson id in the course's quizzes/ folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from quiz_testdata import VALID_QUIZ, write_quiz

from grader.errors import QuizError
from grader.progress import ProgressStore
from grader.quiz import find_quiz, quiz


@pytest.fixture
def course_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "quizzes").mkdir()
    write_quiz(root / "quizzes", VALID_QUIZ, "00_start_here.yaml")
    write_quiz(root / "quizzes", VALID_QUIZ.replace("start_here", "phase_1"), "01_phase_one.yaml")
    monkeypatch.setenv("ODIBI_COURSE_ROOT", str(root))
    return root


def test_find_by_file_stem(course_root: Path) -> None:
    assert find_quiz("00_start_here") == course_root / "quizzes" / "00_start_here.yaml"


def test_find_by_lesson_id(course_root: Path) -> None:
    assert find_quiz("phase_1") == course_root / "quizzes" / "01_phase_one.yaml"


def test_explicit_root_wins_over_the_environment(course_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "other" / "quizzes"
    folder.mkdir(parents=True)
    expected = write_quiz(folder, "lesson: x\n", "02_other.yaml")
    assert find_quiz("x", root=tmp_path / "other") == expected
    with pytest.raises(QuizError):
        find_quiz("00_start_here", root=tmp_path / "other")


def test_no_match_lists_the_available_quizzes(course_root: Path) -> None:
    with pytest.raises(QuizError) as info:
        find_quiz("phase_9")
    message = info.value.message
    assert "no quiz named 'phase_9'" in message
    assert "00_start_here (lesson start_here), 01_phase_one (lesson phase_1)" in message


def test_broken_quiz_files_are_named_when_nothing_matches(course_root: Path) -> None:
    (course_root / "quizzes" / "02_broken.yaml").write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(QuizError, match=r"unreadable: 02_broken.yaml"):
        find_quiz("phase_9")


def test_quiz_function_renders_from_the_course(course_root: Path, tmp_path: Path) -> None:
    with ProgressStore(tmp_path / "progress.db") as store:
        widget = quiz("phase_1", 2, store=store)
        assert widget.lesson_id == "phase_1"
        assert [q.id for q in widget.questions] == ["q2", "q3"]
