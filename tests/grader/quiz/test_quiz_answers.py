"""Judging answers: option text, normalised free text and output, traced values."""

from __future__ import annotations

import pytest

from grader.quiz import Option, Question, QuestionType, check_answer, normalize_output


def _question(qtype: QuestionType, answer: str, **extra: object) -> Question:
    return Question(
        id="q",
        checkpoint=1,
        type=qtype,
        prompt="p",
        answer=answer,
        explanation="e",
        **extra,  # type: ignore[arg-type]
    )


def test_mcq_matches_the_option_text_only() -> None:
    q = _question(QuestionType.MCQ, "Option B", options=(Option("Option A"), Option("Option B")))
    assert check_answer(q, "Option B")
    assert check_answer(q, "  Option   B ")
    assert not check_answer(q, "Option A")
    assert not check_answer(q, "option b")


def test_predict_output_normalises_per_line() -> None:
    q = _question(QuestionType.PREDICT_OUTPUT, "a  b\nc\n")
    assert check_answer(q, "\r\na  b   \r\nc\r\n\r\n")
    assert not check_answer(q, "a b\nc")  # spacing inside a line is part of the output
    assert not check_answer(q, "a  b c")


def test_normalize_output_drops_outer_blank_lines_only() -> None:
    assert normalize_output("\n\n x \n\ny  \n\n") == " x\n\ny"


def test_free_text_collapses_whitespace_and_counts_accept() -> None:
    q = _question(QuestionType.CODE_TRACE, "3", accept=("three",))
    assert check_answer(q, " 3 ")
    assert check_answer(q, "three")
    assert not check_answer(q, "4")


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        ("'abc'", "abc", True),
        ("'abc'", '"abc"', True),
        ("'abc'", "'abc'", True),
        ("'abc'", "abd", False),
        ("[1, 2]", "[1,2]", True),
        ("{'a': 1}", '{"a":1}', True),
        ("1", "True", False),
        ("1", "1.0", False),
        ("Stream(id=1)", "Stream(id=1)", True),
    ],
)
def test_code_trace_compares_values_by_repr(key: str, given: str, expected: bool) -> None:
    assert check_answer(_question(QuestionType.CODE_TRACE, key), given) is expected
