"""The package's public names are pinned, and ``from grader.quiz import quiz`` works."""

from __future__ import annotations

import grader.quiz
from grader.quiz import QuizWidget, quiz


def test_all_is_pinned() -> None:
    assert sorted(grader.quiz.__all__) == [
        "LineDict",
        "LineList",
        "Option",
        "Problem",
        "Question",
        "QuestionType",
        "Quiz",
        "QuizSchemaError",
        "QuizWidget",
        "StrictLoader",
        "Trace",
        "check_answer",
        "find_quiz",
        "lint_question",
        "lint_quiz",
        "load_quiz",
        "load_yaml",
        "load_yaml_text",
        "normalize_output",
        "normalize_text",
        "quiz",
        "trace_code",
    ]
    assert all(hasattr(grader.quiz, name) for name in grader.quiz.__all__)


def test_quiz_is_the_widget_factory() -> None:
    assert callable(quiz)
    assert quiz.__module__ == "grader.quiz.widgets"
    assert QuizWidget.__module__ == "grader.quiz.widgets"
