"""Rules every course lesson follows, read from the notebooks (no kernel): each loads the grader's
magics, every check cell runs under %%check, every exercise check compares with the check
library, and every exercise has 2-3 hints and a Hint button."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.lesson import HINTS_PER_EXERCISE, find_lessons, load_lesson, uses_lesson_magics

REPO = Path(__file__).resolve().parent.parent
LESSONS = find_lessons(REPO)
EXPECT_CALL = re.compile(r"\bexpect(_[a-z]+)?\(")


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_follows_the_check_rules(path: Path) -> None:
    lesson = load_lesson(path)
    assert uses_lesson_magics(lesson.nb), f"{path.name} never runs %load_ext grader"
    for step in lesson.steps:
        for index in step.check_cells:
            first = lesson.nb.cells[index].source.lstrip("\n").split("\n", 1)[0]
            assert first.startswith("%%check"), f"{path.name} cell {index + 1}: {first!r}"
        if not step.exercise:
            continue
        checks = "\n".join(lesson.nb.cells[i].source for i in step.check_cells)
        assert EXPECT_CALL.search(checks), f"{path.name} step {step.number}: no expect_* call"
        low, high = HINTS_PER_EXERCISE
        assert low <= len(lesson.spec.hints.get(step.number, ())) <= high, (path.name, step.number)
        buttons = [i for i in step.cells
                   if f'hints("{path.stem}", step={step.number})' in lesson.nb.cells[i].source]
        assert buttons and buttons[0] > step.exercise_cells[0], f"{path.name} step {step.number}: no Hint button under the exercise"
