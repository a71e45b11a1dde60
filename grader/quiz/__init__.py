"""Quizzes: strict YAML quiz files, answer checking, key linting and ipywidgets rendering."""

from __future__ import annotations

from .answers import check_answer, normalize_output, normalize_text
from .lint import lint_question, lint_quiz
from .locate import find_quiz
from .model import Option, Question, QuestionType, Quiz, Trace
from .schema import Problem, QuizSchemaError, load_quiz
from .trace import trace_code
from .widgets import QuizWidget, quiz
from .yamlload import LineDict, LineList, StrictLoader, load_yaml, load_yaml_text

__all__ = [
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
