"""Judging a learner's answer against a question's key.

Choices compare option text; free text is compared after normalising whitespace;
program output per line; traced values also by their canonical Python repr, so
``[1,2]`` matches the key ``[1, 2]`` and ``abc`` matches ``'abc'``.
"""

from __future__ import annotations

import ast
import re

from .model import Question, QuestionType

__all__ = ["check_answer", "matches_key", "normalize_output", "normalize_text"]

_SPACE_RUN = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Strip and collapse every run of whitespace (newlines included) to one space."""
    return _SPACE_RUN.sub(" ", text.replace("\r\n", "\n")).strip()


def normalize_output(text: str) -> str:
    """Program output as a learner would read it: LF line ends, no trailing spaces on a
    line, no leading or trailing blank lines. Spacing inside a line is kept."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _canonical_repr(text: str) -> str | None:
    """The repr of ``text`` read as a Python literal, or None when it is not one."""
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _trace_matches(given: str, key: str) -> bool:
    if given == key:
        return True
    canonical_key = _canonical_repr(key)
    if canonical_key is None:
        return False
    if _canonical_repr(given) == canonical_key:
        return True
    # The key is a quoted string: its bare text counts too.
    value = ast.literal_eval(key)
    return isinstance(value, str) and normalize_text(value) == given


def matches_key(question: Question, given: str, key: str, *, choice: bool | None = None) -> bool:
    """Whether ``given`` equals ``key`` under the comparison rules of ``question``.

    ``choice`` (default: whether the question has options) compares option text; the
    lint passes False to compare a program's result by the rules of the question type.
    """
    choice = question.is_choice if choice is None else choice
    if question.type is QuestionType.PREDICT_OUTPUT and not choice:
        return normalize_output(given) == normalize_output(key)
    given, key = normalize_text(given), normalize_text(key)
    if question.type is QuestionType.CODE_TRACE and not choice:
        return _trace_matches(given, key)
    return given == key


def check_answer(question: Question, given: str) -> bool:
    """Whether ``given`` is a correct answer to ``question`` (its key or an ``accept`` entry)."""
    return any(
        matches_key(question, str(given), key) for key in (question.answer, *question.accept)
    )
