"""Quiz records: :class:`Quiz`, :class:`Question` and their parts, as loaded from a quiz file.

Plain frozen dataclasses with no I/O; :mod:`grader.quiz.schema` builds them from YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..errors import QuizError

__all__ = ["ID_PATTERN", "Option", "Question", "QuestionType", "Quiz", "Trace"]

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")


class QuestionType(StrEnum):
    """The kinds of quiz question."""

    MCQ = "mcq"
    PREDICT_OUTPUT = "predict-output"
    CODE_TRACE = "code-trace"


@dataclass(frozen=True)
class Option:
    """One choice of a question, with the rationale shown when a learner picks it."""

    text: str
    explanation: str | None = None


@dataclass(frozen=True)
class Trace:
    """What a code-trace question asks about ``line`` of its code.

    Either the repr of ``variable`` right after the line's ``occurrence``-th execution
    (``"first"``, ``"last"`` or a 1-based count), or with ``hits`` the number of times
    the line executes.
    """

    line: int
    variable: str | None = None
    occurrence: str | int = "last"
    hits: bool = False


@dataclass(frozen=True)
class Question:
    """One quiz question; ``line`` and ``field_lines`` point back into the quiz file."""

    id: str
    checkpoint: int
    type: QuestionType
    prompt: str
    answer: str
    explanation: str
    options: tuple[Option, ...] = ()
    accept: tuple[str, ...] = ()
    code: str | None = None
    trace: Trace | None = None
    line: int = 0
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    code_line: int | None = field(default=None, compare=False)

    @property
    def is_choice(self) -> bool:
        """Rendered as choices (always for mcq; for other types when options are given)."""
        return bool(self.options)

    def option(self, text: str) -> Option | None:
        """The option whose text is ``text``, if any."""
        return next((o for o in self.options if o.text == text), None)

    def line_of(self, name: str) -> int:
        """File line of field ``name`` of this question (the question's line if absent)."""
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True)
class Quiz:
    """A validated quiz file: the lesson it belongs to, its checkpoints and questions."""

    path: Path
    lesson: str
    checkpoints: dict[int, str] = field(hash=False)
    questions: tuple[Question, ...]

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    @property
    def checkpoint_of(self) -> dict[str, int]:
        """question id -> its checkpoint, in quiz order."""
        return {q.id: q.checkpoint for q in self.questions}

    @property
    def types(self) -> set[str]:
        return {q.type.value for q in self.questions}

    def for_checkpoint(self, checkpoint: int) -> tuple[Question, ...]:
        """The questions of one checkpoint; unknown checkpoints raise :class:`QuizError`."""
        if checkpoint not in self.checkpoints:
            known = ", ".join(str(n) for n in sorted(self.checkpoints))
            raise QuizError(
                self.path,
                f"no checkpoint {checkpoint!r} in this quiz; checkpoints: {known}",
                field="checkpoints",
            )
        return tuple(q for q in self.questions if q.checkpoint == checkpoint)

    def question(self, question_id: str) -> Question:
        """The question with id ``question_id``; unknown ids raise :class:`QuizError`."""
        for q in self.questions:
            if q.id == question_id:
                return q
        known = ", ".join(sorted(self.question_ids))
        raise QuizError(self.path, f"no question {question_id!r}; questions: {known}", field="id")
