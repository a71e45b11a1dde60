"""Test builders: courses, lessons and notebooks built in code with nbformat.v4, and the rule
that makes a missing optional dependency fail in CI instead of skipping."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

REPO = Path(__file__).resolve().parent.parent

GOOD_QUIZ = """\
lesson: {lesson_id}
checkpoints:
  1: "Only checkpoint"
questions:
  - id: q1
    checkpoint: 1
    type: mcq
    prompt: "Pick b"
    options: ["a", "b"]
    answer: "b"
    explanation: "b it is"
"""


def code(source: str, *tags: str) -> Any:
    cell = v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def md(source: str, *tags: str) -> Any:
    cell = v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def spec(lesson_id: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lesson_id,
        "title": f"Lesson {lesson_id}",
        "order": 1,
        "level": "Beginner",
        "prerequisites": [],
        "learning_objectives": ["test the grader"],
        "engines": ["pandas"],
        "estimated_time": "1 minute",
        "runnable_steps": 1,
        "total_steps": 1,
        "assessment": {"types": ["mcq"], "checkpoints": 1, "questions": 1, "pass_score": 0.75},
        "quiz": f"quizzes/{lesson_id}.yaml",
    }
    data.update(overrides)
    return data


def notebook(cells: Sequence[Any], lesson_spec: dict[str, Any] | None) -> Any:
    nb = v4.new_notebook()
    nb.cells = list(cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if lesson_spec is not None:
        nb.metadata["odibi"] = lesson_spec
    return nb


class Course:
    """A course folder in tmp_path: lessons/ and quizzes/ written from code."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "lessons").mkdir(parents=True, exist_ok=True)
        (root / "quizzes").mkdir(exist_ok=True)

    def lesson(self, name: str, cells: Sequence[Any], lesson_spec: dict[str, Any] | None,
               quiz: str | None = None) -> Path:
        path = self.root / "lessons" / f"{name}.ipynb"
        nbformat.write(notebook(cells, lesson_spec), path)
        if lesson_spec is not None:
            text = quiz if quiz is not None else GOOD_QUIZ.format(lesson_id=lesson_spec["id"])
            (self.root / lesson_spec["quiz"]).write_text(text)
        return path



def require(flag: str, missing: str | None, how: str) -> None:
    """Skip when something optional is missing, but fail when CI set ``flag`` to require it."""
    if missing is None:
        return
    if os.environ.get(flag) == "1":
        pytest.fail(f"{missing}, and {flag}=1 requires it ({how})")
    pytest.skip(f"{missing} ({how})")
