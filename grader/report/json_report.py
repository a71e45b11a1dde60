"""The JSON report of a grading run, plus the two helpers every report shares.

``summarize`` counts lessons and steps once for all reports, and
``write_text_atomic`` writes each report file so a reader (a CI upload, a
browser refresh) never sees half a file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..results import LessonResult, LessonStatus, StepState

__all__ = ["summarize", "write_json", "write_text_atomic"]


def summarize(results: Sequence[LessonResult]) -> dict[str, Any]:
    """Lesson counts by status and runnable-step counts by state, every key present."""
    summary: dict[str, Any] = {"lessons": len(results)}
    for status in LessonStatus:
        summary[status.value] = sum(1 for r in results if r.status is status)
    steps = {state.value: 0 for state in StepState}
    for result in results:
        for state, count in result.counts().items():
            steps[state] += count
    summary["steps"] = steps
    summary["passed_steps"] = sum(r.passed_steps for r in results)
    summary["graded_steps"] = sum(len(r.graded_steps) for r in results)
    return summary


def write_json(
    results: Sequence[LessonResult], path: str | Path, *, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``{"meta", "summary", "lessons"}`` as indented JSON and return the path.

    ``meta`` always has ``created_at`` (ISO 8601, UTC); the caller's keys (for
    example ``grader_version``) are added and win over the defaults; values JSON
    cannot encode (paths) are written as strings.
    """
    document = {
        "meta": {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), **(meta or {})},
        "summary": summarize(results),
        "lessons": [result.to_dict() for result in results],
    }
    return write_text_atomic(
        path, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    )
