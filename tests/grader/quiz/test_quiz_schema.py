"""The quiz schema: valid files load; every problem names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from quiz_testdata import write_quiz, write_valid_quiz

from grader.errors import QuizError
from grader.quiz import QuestionType, QuizSchemaError, load_quiz


def _problems(path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(QuizSchemaError) as info:
        load_quiz(path)
    assert info.value.file == str(path)
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_valid_quiz_loads(tmp_path: Path) -> None:
    quiz = load_quiz(write_valid_quiz(tmp_path))
    assert quiz.path == tmp_path / "00_start_here.yaml"
    assert quiz.lesson == "start_here"
    assert quiz.checkpoints == {1: "How the course works", 2: "Reading code"}
    assert quiz.question_ids == ["q1", "q2", "q3"]
    assert quiz.types == {"mcq", "predict-output", "code-trace"}
    assert [q.id for q in quiz.for_checkpoint(2)] == ["q2", "q3"]
    q1, q2, q3 = quiz.questions
    assert q1.type is QuestionType.MCQ
    assert [o.text for o in q1.options] == ["pytest", "python -m grader", "make grade"]
    assert q1.option("pytest").explanation == "RATIONALE_SENTINEL_PYTEST"
    assert q1.option("make grade").explanation is None
    assert q1.line == 6
    assert q2.code == 'print("ANSWER_" + "SENTINEL_Q2")\n'
    assert q2.code_line == 22  # the line after "code: |"
    assert q3.trace.line == 3
    assert q3.trace.variable == "word"
    assert q3.trace.occurrence == "last"
    assert not q3.trace.hits


def test_unknown_checkpoint_lists_the_existing_ones(tmp_path: Path) -> None:
    quiz = load_quiz(write_valid_quiz(tmp_path))
    with pytest.raises(QuizError, match=r"checkpoints: 1, 2"):
        quiz.for_checkpoint(7)


MCQ_HEAD = """\
lesson: demo
checkpoints:
  1: "One"
questions:
"""


def test_yes_answer_stays_a_string(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Is a watermark a timestamp?"
    options: [yes, no]
    answer: yes
    explanation: "It is."
""",
    )
    question = load_quiz(path).questions[0]
    assert question.answer == "yes"
    assert [o.text for o in question.options] == ["yes", "no"]


def test_on_key_is_reported_as_unknown_key_on(tmp_path) -> None:
    path = write_quiz(tmp_path, "on: push\n" + MCQ_HEAD.replace("questions:\n", "questions: []\n"))
    problems = _problems(path)
    assert (
        1,
        "on",
        "unknown key 'on'; expected one of: checkpoints, lesson, questions",
    ) in problems


def test_number_answer_is_converted_to_text(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: "print(6 * 7)"
    answer: 42
    accept: [42.0]
    explanation: "Six times seven."
""",
    )
    question = load_quiz(path).questions[0]
    assert question.answer == "42"
    assert question.accept == ("42.0",)


def test_boolean_answer_asks_for_quotes(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 1
    type: code-trace
    prompt: "Value of ok?"
    code: "ok = 1 < 2"
    trace: {line: 1, variable: ok}
    answer: true
    explanation: "Comparison."
""",
    )
    [(line, field, message)] = _problems(path)
    assert (line, field) == (11, "q1.answer")
    assert "the boolean True" in message
    assert "quote it" in message


def test_missing_and_unknown_fields_have_lines(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Pick one"
    options: ["a", "b"]
    answer: "a"
    hint: "not a field"
""",
    )
    problems = _problems(path)
    assert (5, "q1.explanation", "missing 'explanation' (shown after a correct answer)") in problems
    assert any(
        line == 11 and field == "q1.hint" and "unknown key 'hint'" in msg
        for line, field, msg in problems
    )
    with pytest.raises(QuizError) as info:
        load_quiz(path)
    # Several problems: one error listing each with its file:line.
    assert f"{path}:5 (q1.explanation)" in str(info.value)
    assert f"{path}:11 (q1.hint)" in str(info.value)


def test_missing_top_level_fields(tmp_path) -> None:
    path = write_quiz(tmp_path, "lesson: demo\n")
    fields = {field for _, field, _ in _problems(path)}
    assert fields == {"checkpoints", "questions"}


def test_duplicate_question_ids(tmp_path) -> None:
    question = """\
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Pick one"
    options: ["a", "b"]
    answer: "a"
    explanation: "Because."
"""
    path = write_quiz(tmp_path, MCQ_HEAD + question + question)
    [(line, field, message)] = _problems(path)
    assert line == 12
    assert field == "q1.id"
    assert "duplicate question id 'q1' (first used on line 5)" in message


def test_undeclared_checkpoint(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 3
    type: mcq
    prompt: "Pick one"
    options: ["a", "b"]
    answer: "a"
    explanation: "Because."
""",
    )
    with pytest.raises(QuizError) as info:
        load_quiz(path)
    assert info.value.line == 6
    assert info.value.field == "q1.checkpoint"
    assert "checkpoint 3 is not declared" in info.value.message
    assert "declared: 1" in info.value.message


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ("    type: essay\n", "q1.type", "expected one of: code-trace, mcq, predict-output"),
        ("    type: mcq\n    options: [only]\n", "q1.options", "at least 2 options"),
        ("    type: mcq\n    options: [a, ' a']\n", "q1.options[1]", "duplicate option 'a'"),
        ("    type: predict-output\n", "q1.code", "missing 'code'"),
        ("    type: code-trace\n    code: 'x = 1'\n", "q1.trace", "expected a mapping"),
        (
            "    type: code-trace\n    code: 'x = 1'\n    trace: {line: 5, variable: x}\n",
            "q1.trace.line",
            "past the end of 'code' (1 lines)",
        ),
        (
            "    type: code-trace\n    code: 'x = 1'\n    trace: {line: 1, variable: x, hits: true}\n",
            "q1.trace.hits",
            "not both",
        ),
        (
            "    type: code-trace\n    code: 'x = 1'\n    trace: {line: 1, variable: x, occurrence: middle}\n",
            "q1.trace.occurrence",
            "first, last or a number",
        ),
        (
            "    type: mcq\n    options: [a, b]\n    trace: {line: 1, hits: true}\n",
            "q1.trace",
            "only code-trace questions",
        ),
    ],
)
def test_type_specific_rules(tmp_path, body: str, field: str, fragment: str) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + "  - id: q1\n    checkpoint: 1\n    prompt: 'p'\n    answer: 'a'\n    explanation: 'e'\n"
        + body,
    )
    problems = _problems(path)
    assert any(f == field and fragment in m for _, f, m in problems), problems


def test_hits_answer_must_be_a_count(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + """\
  - id: q1
    checkpoint: 1
    type: code-trace
    prompt: "How often?"
    code: "for i in range(3):\\n    pass\\n"
    trace: {line: 2, hits: true}
    answer: "three"
    explanation: "e"
""",
    )
    [(line, field, message)] = _problems(path)
    assert (line, field) == (11, "q1.answer")
    assert "count" in message


def test_bad_question_id_is_reported(tmp_path) -> None:
    path = write_quiz(
        tmp_path,
        MCQ_HEAD
        + "  - id: Q 1\n    checkpoint: 1\n    type: mcq\n    prompt: p\n"
        + "    options: [a, b]\n    answer: a\n    explanation: e\n",
    )
    [(line, field, message)] = _problems(path)
    assert (line, field) == (5, "questions[0].id")
    assert "[a-z0-9][a-z0-9_-]*" in message


def test_not_a_mapping(tmp_path) -> None:
    path = write_quiz(tmp_path, "- just\n- a list\n")
    [(line, field, message)] = _problems(path)
    assert (line, field) == (1, "file")
    assert "got a list" in message
