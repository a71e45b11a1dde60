"""The real course: every lesson passes the grader in strict mode, and nbval runs the lessons.
Neither writes into the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _snapshot() -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in (REPO / "lessons").rglob("*")} | {
        str(p): p.stat().st_mtime for p in (REPO / "quizzes").rglob("*")}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ODIBI_COURSE_ROOT", None)
    return env


def test_every_lesson_passes_strict(tmp_path) -> None:
    before = _snapshot()
    out = tmp_path / "report"
    spark = ["--spark"] if os.environ.get("ODIBI_REQUIRE_SPARK") == "1" else []
    proc = subprocess.run([sys.executable, "-m", "grader", "--strict", "--jobs", "2", "--out", str(out), *spark],
                          cwd=tmp_path, env=_env() | {"ODIBI_COURSE_ROOT": str(REPO)},
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    lessons = sorted(p.name for p in (REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert len(report["lessons"]) == len(lessons) >= 1
    assert all(lesson["status"] == "passed" and lesson["lint"] == [] for lesson in report["lessons"])
    assert _snapshot() == before, "grading must not write into lessons/ or quizzes/"


def test_nbval_runs_the_lessons() -> None:
    before = _snapshot()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
                           "-q", "lessons/"], cwd=REPO, env=_env() | {"ODIBI_GRADING": "1"},
                          capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    assert _snapshot() == before, "nbval must not write into lessons/"
