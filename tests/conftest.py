"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from coursekit import Course


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """An empty course folder (lessons/ and quizzes/) in tmp_path."""
    return Course(tmp_path / "course")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real ~/.odibi_course, ~/.odibi or the user cache folder."""
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(tmp_path / "course_home"))
    monkeypatch.setenv("ODIBI_HOME", str(tmp_path / "odibi_home"))  # job store of get_executor()
    monkeypatch.setenv("ODIBI_CACHE_DIR", str(tmp_path / "odibi_cache"))  # CacheManager's default
    monkeypatch.delenv("ODIBI_COURSE_ROOT", raising=False)
    monkeypatch.delenv("ODIBI_WORKDIR", raising=False)


@pytest.fixture(autouse=True)
def _seed_code_runs_in_tmp(request: pytest.FixtureRequest, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed code kept verbatim writes relative paths (the default ``artifacts/checkpoints``);
    it runs in the test's own folder, never in the checkout."""
    if request.module.__name__.startswith("test_seed_"):
        monkeypatch.chdir(tmp_path)
