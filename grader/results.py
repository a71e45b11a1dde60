"""Records of a grading run: one ``StepResult`` per step, one ``LessonResult`` per lesson.

They are plain dataclasses so they pickle across worker processes and turn into
JSON with ``to_dict``; reports read them and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CellError", "LessonResult", "LessonStatus", "StepResult", "StepState", "safe_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a file-name byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` that always encodes as UTF-8: a file name's non-UTF-8 bytes (surrogate escapes on
    Linux) become ``\\xNN`` and any other lone surrogate ``\\uNNNN``, so JSON, SQLite and the
    reports never fail on a name or message."""
    return _SURROGATE.sub(_escape_surrogate, text)


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return value


class StepState(StrEnum):
    """What happened to one step of a lesson."""

    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    NOT_RUN = "not-run"  # the kernel died earlier, or execution never reached the step
    SKIPPED = "skipped"  # the step needs an engine that is not enabled (e.g. engine-spark)


class LessonStatus(StrEnum):
    """Verdict for a whole lesson."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the lesson could not be graded: malformed notebook, quiz or spec
    TAMPERED = "tampered"  # learner code changed how checks run, or the canonical files: never passed


@dataclass(frozen=True)
class CellError:
    """The first error a step met: exception name and value, and the cell it came from."""

    ename: str
    evalue: str
    cell_index: int  # 0-based index into the notebook's cells
    traceback: str = ""

    @property
    def cell_number(self) -> int:
        """The cell's position as JupyterLab counts it (1-based)."""
        return self.cell_index + 1

    @property
    def message(self) -> str:
        """``ename: evalue`` (a check's message alone for a failed check)."""
        if self.ename == "CheckFailed":
            return self.evalue
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


@dataclass
class StepResult:
    """Outcome of one step (cells tagged ``step-N``)."""

    number: int
    title: str
    runnable: bool
    exercise: bool
    state: StepState
    duration_s: float = 0.0
    error: CellError | None = None
    reason: str = ""

    hints_used: int = 0

    @property
    def where(self) -> str:
        """``cell 13, step 6 "Fix a broken config"``: the failing cell as JupyterLab counts it."""
        cell = f"cell {self.error.cell_number}, " if self.error is not None else ""
        return f'{cell}step {self.number} "{self.title}"'

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        if self.error is not None:
            data["error"]["cell_number"] = self.error.cell_number
        return data


@dataclass
class LessonResult:
    """Outcome of grading one notebook against its canonical lesson spec."""

    lesson_id: str
    notebook: str
    title: str = ""
    status: LessonStatus = LessonStatus.ERROR
    pass_score: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    quiz_score: float | None = None  # first-attempt quiz score; only required for learner copies
    learner_copy: bool = False
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)  # lesson-level problems (malformed files, setup cells)
    lint: list[str] = field(default_factory=list)  # strict-mode findings
    kernel_died: bool = False
    lesson_name: str = ""  # the canonical lesson's file stem, e.g. 03_orchestration
    policy: dict[str, Any] = field(default_factory=dict)  # see grader.policy.describe_policy
    reasons: list[str] = field(default_factory=list)  # why the lesson did not pass
    tampered: list[str] = field(default_factory=list)  # what the kernel changed (see grader.integrity)

    @property
    def graded_steps(self) -> list[StepResult]:
        """Runnable steps that were not skipped for a missing engine."""
        return [s for s in self.steps if s.runnable and s.state is not StepState.SKIPPED]

    @property
    def passed_steps(self) -> int:
        return sum(1 for s in self.graded_steps if s.state is StepState.PASSED)

    @property
    def exercise_steps(self) -> list[StepResult]:
        """The runnable exercise steps, whatever their state."""
        return [s for s in self.steps if s.exercise and s.runnable]

    @property
    def hints_used(self) -> int:
        return sum(s.hints_used for s in self.steps)

    @property
    def score(self) -> float | None:
        """passed / graded runnable steps, each passed step less the policy's hint penalty per
        hint used; ``None`` when no runnable step could run."""
        graded = self.graded_steps
        if not graded:
            return None
        penalty = float(self.policy.get("hint_penalty", 0.0) or 0.0)
        earned = sum(max(0.0, 1.0 - penalty * s.hints_used) for s in graded
                     if s.state is StepState.PASSED)
        return earned / len(graded)

    @property
    def verdict(self) -> str:
        """``passed``, or ``failed: reason; reason``: the line every report shows."""
        if self.status in (LessonStatus.FAILED, LessonStatus.TAMPERED) and self.reasons:
            return f"{self.status.value}: {'; '.join(self.reasons)}"
        return self.status.value

    def counts(self) -> dict[str, int]:
        """Number of runnable steps in each state, every state present."""
        counts = {state.value: 0 for state in StepState}
        for step in self.steps:
            if step.runnable:
                counts[step.state.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """Everything reports and the progress store keep, every string UTF-8-safe."""
        return _safe({
            "lesson_id": self.lesson_id,
            "notebook": self.notebook,
            "title": self.title,
            "status": self.status.value,
            "score": self.score,
            "pass_score": self.pass_score,
            "quiz_score": self.quiz_score,
            "learner_copy": self.learner_copy,
            "passed_steps": self.passed_steps,
            "graded_steps": len(self.graded_steps),
            "counts": self.counts(),
            "duration_s": round(self.duration_s, 3),
            "kernel_died": self.kernel_died,
            "lesson_name": self.lesson_name,
            "policy": dict(self.policy),
            "reasons": list(self.reasons),
            "tampered": list(self.tampered),
            "verdict": self.verdict,
            "hints_used": self.hints_used,
            "errors": list(self.errors),
            "lint": list(self.lint),
            "steps": [s.to_dict() for s in self.steps],
        })
