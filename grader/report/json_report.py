"""The JSON report of a grading run, plus the two helpers every report shares.

``summarize`` counts lessons and steps once for all reports, and
``write_text_atomic`` writes each report file so a reader (a CI upload, a
browser refresh) never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder.

    ``os.replace`` within one folder is atomic, so the old file or the new one
    is visible, never a partial write. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # backslashreplace: a lone surrogate that reached a report is escaped, never a crash
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


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
