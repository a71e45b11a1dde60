"""Quiz files for the quiz tests, written from YAML text into a test's tmp_path.

A plain module (not a conftest) so it does not shadow ``tests/conftest.py``, which
other test modules import as ``conftest``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

# A valid quiz with one question of each type. The sentinels let the widget tests prove
# that no answer, explanation or rationale reaches widget state before an answer.
VALID_QUIZ = """\
lesson: start_here
checkpoints:
  1: "How the course works"
  2: "Reading code"
questions:
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Which command grades the course?"
    options:
      - text: "pytest"
        explanation: "RATIONALE_SENTINEL_PYTEST"
      - "python -m grader"
      - "make grade"
    answer: "python -m grader"
    explanation: "EXPLANATION_SENTINEL_Q1"
  - id: q2
    checkpoint: 2
    type: predict-output
    prompt: "What does this print?"
    code: |
      print("ANSWER_" + "SENTINEL_Q2")
    answer: "ANSWER_SENTINEL_Q2"
    explanation: "EXPLANATION_SENTINEL_Q2"
  - id: q3
    checkpoint: 2
    type: code-trace
    prompt: "What is `word` after line 3 runs the last time?"
    code: |
      word = ""
      for piece in ["zq", "zq", "zq"]:
          word = word + piece
    trace:
      line: 3
      variable: word
    answer: "'zqzqzq'"
    explanation: "EXPLANATION_SENTINEL_Q3"
"""


def write_quiz(folder: Path, text: str, name: str = "quiz.yaml") -> Path:
    """Write dedented YAML ``text`` to ``folder/name`` and return the path."""
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_valid_quiz(folder: Path, name: str = "00_start_here.yaml") -> Path:
    """:data:`VALID_QUIZ` written to ``folder/name``."""
    return write_quiz(folder, VALID_QUIZ, name)
