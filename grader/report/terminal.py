"""The plain-text report of a grading run: a lesson table, then what broke and where.

Output is ASCII apart from the notebooks' own text; ANSI colour is added only on
request, after padding, so columns line up either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..chart import xml_text
from ..check import elide
from ..results import LessonResult, LessonStatus, StepResult, StepState
from .json_report import summarize

__all__ = ["error_line", "format_duration", "format_percent", "render_table", "summary_line"]

ERROR_WIDTH = 240  # characters of an error message shown per step (cut in the middle)
TITLE_WIDTH = 40

_COLOURS = {
    LessonStatus.PASSED.value: "32",  # green
    LessonStatus.FAILED.value: "31",  # red
    LessonStatus.ERROR.value: "1;35",  # bold magenta
    LessonStatus.TAMPERED.value: "1;31",  # bold red
    StepState.TIMED_OUT.value: "33",  # yellow
    StepState.NOT_RUN.value: "33",
    StepState.SKIPPED.value: "36",  # cyan
}
_RIGHT = {"steps", "score", "pass", "quiz", "time"}


def format_percent(value: float | None) -> str:
    """``0.75`` -> ``"75%"``; ``None`` -> ``"-"``."""
    return "-" if value is None else f"{value * 100:.0f}%"


def format_duration(seconds: float) -> str:
    """``4.25`` -> ``"4.2s"``; a minute or more -> ``"2m05s"``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _shorten(text: str, width: int) -> str:
    """One line of at most about ``width`` characters, cut in the middle (a check's message puts
    the difference first, so the clue survives)."""
    flat = " ".join(xml_text(text).split())
    if width < 100:  # a title: cut the end, an elision marker would not fit
        return flat if len(flat) <= width else flat[: width - 3] + "..."
    return elide(flat, width)


def error_line(step: StepResult, width: int = ERROR_WIDTH) -> str:
    """One line about why a step did not pass: the error's message and where it was (the cell as
    JupyterLab counts it), else the step's reason."""
    if step.error is not None:
        return f"{_shorten(step.error.message, width)} (cell {step.error.cell_number})"
    return _shorten(step.reason, width)


def _paint(text: str, key: str, color: bool) -> str:
    code = _COLOURS.get(key)
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def _grid(header: list[str], rows: list[list[str]], coloured: int, color: bool) -> str:
    """Align ``rows`` under ``header``; cells of column ``coloured`` are painted by value."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for index, row in enumerate([header, ["-" * w for w in widths], *rows]):
        cells = []
        for column, (name, cell, width) in enumerate(zip(header, row, widths, strict=True)):
            padded = cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            cells.append(
                _paint(padded, cell, color) if index >= 2 and column == coloured else padded
            )
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _step_line(step: StepResult, widths: tuple[int, int, int], color: bool) -> str:
    name_w, title_w, state_w = widths
    name = f"step-{step.number}" + (" (exercise)" if step.exercise else "")
    title = _shorten(step.title, TITLE_WIDTH)
    state = _paint(step.state.value.ljust(state_w), step.state.value, color)
    detail = "" if step.state is StepState.PASSED else error_line(step)
    if step.hints_used:
        detail = f"{detail}  [hints used: {step.hints_used}]".strip()
    return f"  {name.ljust(name_w)}  {title.ljust(title_w)}  {state}  {detail}".rstrip()


def _details(result: LessonResult, color: bool) -> list[str]:
    """The verdict line, then every exercise step (whatever its state) and every other runnable
    step that did not pass."""
    status = _paint(result.verdict, result.status.value, color)
    lines = [
        f"{xml_text(result.lesson_id)}: {status} (steps {format_percent(result.score)},"
        f" quiz {format_percent(result.quiz_score)}, pass {format_percent(result.pass_score)})"
    ]
    steps = [s for s in result.steps
             if s.runnable and (s.exercise or s.state is not StepState.PASSED)]
    widths = (max((len(f"step-{s.number}") + (11 if s.exercise else 0) for s in steps), default=0),
              max((len(_shorten(s.title, TITLE_WIDTH)) for s in steps), default=0),
              max((len(s.state.value) for s in steps), default=0))
    lines.extend(_step_line(step, widths, color) for step in steps)
    if result.kernel_died:
        lines.append("  kernel died: later steps were not run")
    lines.extend(f"  error: {_shorten(text, 300)}" for text in result.errors)
    lines.extend(f"  lint: {_shorten(text, 300)}" for text in result.lint)
    return lines


def render_table(results: Sequence[LessonResult], *, color: bool = False) -> str:
    """One row per lesson, then per lesson its verdict, its exercise steps (whatever the verdict)
    and its other non-passed steps and errors."""
    header = ["lesson", "status", "steps", "score", "pass", "quiz", "time"]
    rows = [
        [
            _shorten(r.lesson_id, 60),
            r.status.value,
            f"{r.passed_steps}/{len(r.graded_steps)}",
            format_percent(r.score),
            format_percent(r.pass_score),
            format_percent(r.quiz_score),
            format_duration(r.duration_s),
        ]
        for r in results
    ]
    blocks = [_grid(header, rows, header.index("status"), color)]
    blocks.extend(
        "\n".join(_details(r, color)) for r in results
        if r.status is not LessonStatus.PASSED or r.exercise_steps
    )
    return "\n\n".join(blocks)


def summary_line(results: Sequence[LessonResult]) -> str:
    """``"2 lessons: 1 passed, 1 failed, 0 errors"`` (and ``", 1 tampered"`` when any is)."""
    counts = summarize(results)
    lessons = "lesson" if counts["lessons"] == 1 else "lessons"
    errors = "error" if counts[LessonStatus.ERROR.value] == 1 else "errors"
    tampered = counts[LessonStatus.TAMPERED.value]
    return (
        f"{counts['lessons']} {lessons}: {counts[LessonStatus.PASSED.value]} passed,"
        f" {counts[LessonStatus.FAILED.value]} failed, {counts[LessonStatus.ERROR.value]} {errors}"
        + (f", {tampered} tampered" if tampered else "")
    )
