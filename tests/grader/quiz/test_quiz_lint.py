"""Linting keys: options, predict-output by running code, code-trace by tracing it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from quiz_testdata import write_quiz, write_valid_quiz

from grader.quiz import lint_quiz, load_quiz, trace_code

HEAD = """\
lesson: demo
checkpoints:
  1: "One"
questions:
"""


def _lint(tmp_path, question: str, timeout: float = 10.0) -> tuple[Path, list[str]]:
    path = write_quiz(tmp_path, HEAD + question)
    return path, lint_quiz(load_quiz(path), timeout=timeout)


def test_valid_quiz_has_no_problems(tmp_path: Path) -> None:
    assert lint_quiz(load_quiz(write_valid_quiz(tmp_path))) == []


def test_mcq_answer_not_among_options(tmp_path) -> None:
    path, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Pick"
    options: ["Option A", "Option B"]
    answer: "Option C"
    explanation: "e"
""",
    )
    assert problems == [
        f"{path}:10: q1: answer 'Option C' is not one of the options: 'Option A', 'Option B'"
    ]


def test_wrong_predict_output_key_shows_expected_and_actual(tmp_path) -> None:
    path, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: |
      for i in range(3):
          print(i * 2)
    answer: |
      0
      2
      5
    explanation: "e"
""",
    )
    [problem] = problems
    assert problem.startswith(f"{path}:12: q1:")
    assert "expected '0\\n2\\n5'" in problem
    assert "actual '0\\n2\\n4'" in problem


def test_correct_predict_output_key_passes(tmp_path) -> None:
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: |
      print(sum(range(4)))
      print("done   ")
    answer: "6\\ndone"
    explanation: "e"
""",
    )
    assert problems == []


def test_infinite_loop_is_a_timeout(tmp_path) -> None:
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: |
      while True:
          pass
    answer: "never"
    explanation: "e"
""",
        timeout=2,
    )
    [problem] = problems
    assert "q1:" in problem
    assert "timed out after 2s" in problem


def test_crashing_code_reports_exit_status_and_stderr(tmp_path) -> None:
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: "print(1 / 0)"
    answer: "1"
    explanation: "e"
""",
    )
    [problem] = problems
    assert "exited with status 1" in problem
    assert "ZeroDivisionError" in problem


def test_code_that_does_not_compile_cites_the_line(tmp_path) -> None:
    path, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: code-trace
    prompt: "Value?"
    code: |
      x = 1
      y = (x +
    trace: {line: 1, variable: x}
    answer: "1"
    explanation: "e"
""",
    )
    [problem] = problems
    assert problem.startswith(f"{path}:11: q1: code does not compile: line 2 of the code")


def test_lint_does_not_write_into_the_working_directory(tmp_path, monkeypatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: "What prints?"
    code: |
      from pathlib import Path
      Path("written.txt").write_text("x")
      print(Path("written.txt").resolve().parent.name.startswith("odibi-quiz-lint-"))
    answer: "True"
    explanation: "e"
""",
    )
    assert problems == []
    assert list(repo.iterdir()) == []


TRACE_CODE = """\
    code: |
      total = 0
      for i in range(1, 4):
          total += i
      label = "sum=" + str(total)
"""


@pytest.mark.parametrize(
    ("trace", "answer"),
    [
        ("{line: 3, variable: total}", '"6"'),
        ("{line: 3, variable: total, occurrence: first}", '"1"'),
        ("{line: 3, variable: total, occurrence: 2}", '"3"'),
        ("{line: 4, variable: label}", "\"'sum=6'\""),
        ("{line: 3, hits: true}", "3"),
    ],
)
def test_correct_code_trace_keys_pass(tmp_path, trace: str, answer: str) -> None:
    _, problems = _lint(
        tmp_path,
        "  - id: q1\n    checkpoint: 1\n    type: code-trace\n    prompt: p\n"
        + TRACE_CODE
        + f"    trace: {trace}\n    answer: {answer}\n    explanation: e\n",
    )
    assert problems == []


@pytest.mark.parametrize(
    ("trace", "answer", "expected", "actual"),
    [
        ("{line: 3, variable: total}", '"5"', "'5'", "'6'"),
        ("{line: 4, variable: label}", "\"'sum=7'\"", "\"'sum=7'\"", "\"'sum=6'\""),
        ("{line: 3, hits: true}", "4", "'4'", "'3'"),
    ],
)
def test_wrong_code_trace_keys_show_expected_and_actual(
    tmp_path, trace: str, answer: str, expected: str, actual: str
) -> None:
    path, problems = _lint(
        tmp_path,
        "  - id: q1\n    checkpoint: 1\n    type: code-trace\n    prompt: p\n"
        + TRACE_CODE
        + f"    trace: {trace}\n    answer: {answer}\n    explanation: e\n",
    )
    [problem] = problems
    assert problem.startswith(f"{path}:15: q1: wrong code-trace key")
    assert f"expected {expected}" in problem
    assert f"actual {actual}" in problem


def test_trace_of_a_line_that_never_runs(tmp_path) -> None:
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: code-trace
    prompt: p
    code: |
      x = 1
      if x > 5:
          x = 2
    trace: {line: 3, variable: x}
    answer: "2"
    explanation: e
""",
    )
    [problem] = problems
    assert "cannot trace line 3: the line never executed" in problem


def test_trace_reads_function_locals_after_the_line() -> None:
    code = "def double(n):\n    out = n * 2\n    return out\n\nresult = double(double(1))\n"
    assert trace_code(code, 2, variable="out") == {"ok": True, "hits": 2, "value": "4"}
    assert trace_code(code, 2, variable="out", occurrence="first")["value"] == "2"


def test_looping_trace_is_a_timeout(tmp_path) -> None:
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: code-trace
    prompt: p
    code: |
      n = 0
      while True:
          n += 1
    trace: {line: 3, hits: true}
    answer: "1"
    explanation: e
""",
        timeout=2,
    )
    [problem] = problems
    assert "tracing the code timed out after 2s" in problem


@pytest.mark.skipif(os.name != "posix", reason="process groups are a POSIX feature")
def test_a_lingering_child_process_cannot_hang_the_lint(tmp_path) -> None:
    started = time.monotonic()
    _, problems = _lint(
        tmp_path,
        """\
  - id: q1
    checkpoint: 1
    type: predict-output
    prompt: p
    code: |
      import subprocess, sys
      subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
      print("started")
    answer: "started"
    explanation: e
""",
        timeout=2,
    )
    assert time.monotonic() - started < 20
    [problem] = problems
    assert "timed out after 2s" in problem
