"""The learner's progress, read from the progress store: a table, a chart, a notebook view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from .chart import bar_chart
from .progress import Attempt, ProgressStore

__all__ = ["COLUMNS", "progress_chart", "progress_table", "show_progress"]

COLUMNS = [
    "lesson_id",
    "status",
    "steps_passed",
    "steps_graded",
    "step_score",
    "quiz_answered",
    "quiz_first_correct",
    "quiz_score",
    "attempts",
    "last_activity",
    "quiz_rounds",
    "hints_used",
]

_EMPTY_MESSAGE = (
    "No progress yet: answer a quiz question or grade a lesson, then run this cell again."
)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")


def progress_table(store: ProgressStore) -> pd.DataFrame:
    """One row per lesson with a grader run or a quiz attempt, sorted by lesson id.

    Step columns come from the lesson's latest grader run (``status`` is
    ``"not graded"`` and the step columns are missing without one).
    ``quiz_first_correct`` counts first attempts right in each checkpoint's best round;
    ``quiz_rounds`` is the highest round answered; ``hints_used`` counts exercise hints
    shown. ``quiz_score`` is ``quiz_first_correct / quiz_answered``: this view only knows the questions
    the learner answered, while the grader's official quiz score divides by all
    questions in the lesson's quiz file, so the two differ until every question
    has an answer.
    """
    runs = store.latest_runs()
    attempts: dict[str, list[Attempt]] = {}
    for attempt in store.attempts():
        attempts.setdefault(attempt.lesson_id, []).append(attempt)

    rows: list[dict[str, Any]] = []
    for lesson_id in sorted(set(runs) | set(attempts) | set(store.lessons_with_hints())):
        run = runs.get(lesson_id)
        tries = attempts.get(lesson_id, [])
        answered = len({a.question_id for a in tries})
        rounds = store.round_scores(lesson_id, [a.question_id for a in tries])
        first_correct = sum(max(per_round.values(), default=0) for per_round in rounds.values())
        hints = sum(store.hints_used(lesson_id).values())
        times = [a.created_at for a in tries] + ([run["created_at"]] if run else [])
        rows.append(
            {
                "lesson_id": lesson_id,
                "status": run["status"] if run else "not graded",
                "steps_passed": run["passed_steps"] if run else None,
                "steps_graded": run["graded_steps"] if run else None,
                "step_score": run["score"] if run else None,
                "quiz_answered": answered,
                "quiz_first_correct": first_correct,
                "quiz_score": first_correct / answered if answered else None,
                "attempts": len(tries),
                "last_activity": _iso(max(times)) if times else None,
                "quiz_rounds": max((a.round_no for a in tries), default=0),
                "hints_used": hints,
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype(
        {
            "lesson_id": "object",
            "status": "object",
            "steps_passed": "Int64",
            "steps_graded": "Int64",
            "step_score": "float64",
            "quiz_answered": "int64",
            "quiz_first_correct": "int64",
            "quiz_score": "float64",
            "attempts": "int64",
            "last_activity": "object",
            "quiz_rounds": "int64",
            "hints_used": "int64",
        }
    )


def _chart(table: pd.DataFrame, pass_scores: dict[str, float]) -> str:
    """Two bars per lesson: step score (with its pass-score tick) and quiz score so far."""
    labels: list[str] = []
    values: list[float | None] = []
    ticks: list[float | None] = []
    for row in table.itertuples(index=False):
        labels += [f"{row.lesson_id} steps", f"{row.lesson_id} quiz"]
        values += [row.step_score, row.quiz_score]
        ticks += [pass_scores.get(row.lesson_id), None]
    return bar_chart(labels, values, threshold=ticks, title="Your progress: steps and quiz")


def _pass_scores(store: ProgressStore) -> dict[str, float]:
    return {lesson: run["pass_score"] for lesson, run in store.latest_runs().items()}


def progress_chart(store: ProgressStore) -> str:
    """SVG with the step score and quiz score (answered questions) of every lesson."""
    return _chart(progress_table(store), _pass_scores(store))


def show_progress(store: ProgressStore | None = None) -> pd.DataFrame:
    """Display the progress table and chart in a notebook and return the table.

    ``store`` defaults to the learner's store (``ProgressStore()``). With no
    progress yet it shows a one-line message instead of an empty table.
    """
    from IPython.display import HTML, display

    own = store is None
    active = ProgressStore() if store is None else store
    try:
        table = progress_table(active)
        if table.empty:
            display(HTML(f"<p>{_EMPTY_MESSAGE}</p>"))
            return table
        display(table)
        display(HTML(_chart(table, _pass_scores(active))))
        return table
    finally:
        if own:
            active.close()
