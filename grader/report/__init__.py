"""Reports of a grading run: terminal table, JSON, JUnit XML and a self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..results import LessonResult
from .html import render_html, write_html
from .json_report import summarize, write_json, write_text_atomic
from .junit import junit_tree, write_junit
from .terminal import render_table, summary_line

__all__ = [
    "junit_tree",
    "render_html",
    "render_table",
    "summarize",
    "summary_line",
    "write_html",
    "write_json",
    "write_junit",
    "write_reports",
    "write_text_atomic",
]


def write_reports(
    results: Sequence[LessonResult], out_dir: str | Path, *, meta: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``report.json``, ``junit.xml`` and ``report.html`` into ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(results, out / "report.json", meta=meta),
        "junit": write_junit(results, out / "junit.xml"),
        "html": write_html(results, out / "report.html"),
    }
