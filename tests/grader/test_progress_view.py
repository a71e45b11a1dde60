from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import grader.progress
from grader.progress import ProgressStore
from grader.progress_view import COLUMNS, progress_chart, progress_table, show_progress
from grader.results import LessonResult, LessonStatus, StepResult, StepState

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00


def _run(lesson_id: str, passed: int, failed: int) -> LessonResult:
    steps = [StepResult(i + 1, f"s{i}", True, False, StepState.PASSED) for i in range(passed)]
    steps += [
        StepResult(passed + i + 1, f"f{i}", True, False, StepState.FAILED) for i in range(failed)
    ]
    status = LessonStatus.PASSED if failed == 0 else LessonStatus.FAILED
    return LessonResult(
        lesson_id, f"{lesson_id}.ipynb", status=status, pass_score=0.75, steps=steps
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each store write happens 10 s after the previous one, starting at T0."""
    now = [T0 - 10]

    def tick() -> float:
        now[0] += 10
        return now[0]

    monkeypatch.setattr(grader.progress, "time", SimpleNamespace(time=tick))
    return now


@pytest.fixture
def store(tmp_path: Path, clock: list[float]) -> Iterator[ProgressStore]:
    s = ProgressStore(tmp_path / "p.db")
    s.record_attempt("phase_5", "q1", 1, "a", False)  # T0
    s.record_attempt("phase_5", "q1", 1, "b", True)  # T0+10
    s.record_attempt("phase_5", "q2", 1, "c", True)  # T0+20
    s.record_run(_run("phase_5", passed=1, failed=1))  # T0+30, superseded below
    s.record_run(_run("phase_5", passed=3, failed=1))  # T0+40
    s.record_run(_run("level_3", passed=2, failed=0))  # T0+50
    s.record_attempt("phase_6", "q9", 2, "x", True)  # T0+60
    yield s
    s.close()


def test_progress_table_numbers(store: ProgressStore) -> None:
    table = progress_table(store)
    assert list(table.columns) == COLUMNS
    assert list(table["lesson_id"]) == ["level_3", "phase_5", "phase_6"]
    rows = table.set_index("lesson_id")

    phase_5 = rows.loc["phase_5"]
    assert phase_5["status"] == "failed"  # the latest run, not the first
    assert (phase_5["steps_passed"], phase_5["steps_graded"]) == (3, 4)
    assert phase_5["step_score"] == pytest.approx(0.75)
    assert (phase_5["quiz_answered"], phase_5["quiz_first_correct"]) == (2, 1)
    assert phase_5["quiz_score"] == pytest.approx(0.5)
    assert phase_5["attempts"] == 3
    assert phase_5["last_activity"] == "2023-11-14T22:14:00+00:00"  # the run at T0+40

    level_3 = rows.loc["level_3"]
    assert (level_3["status"], level_3["step_score"]) == ("passed", 1.0)
    assert (level_3["quiz_answered"], level_3["attempts"]) == (0, 0)
    assert math.isnan(level_3["quiz_score"])

    phase_6 = rows.loc["phase_6"]
    assert phase_6["status"] == "not graded"
    assert pd.isna(phase_6["steps_passed"]) and math.isnan(phase_6["step_score"])
    assert (phase_6["quiz_first_correct"], phase_6["quiz_score"]) == (1, 1.0)
    assert phase_6["last_activity"] == "2023-11-14T22:14:20+00:00"


def test_empty_store_gives_empty_table_with_columns(tmp_path: Path) -> None:
    with ProgressStore(tmp_path / "empty.db") as empty:
        table = progress_table(empty)
    assert table.empty and list(table.columns) == COLUMNS


def test_progress_chart_has_step_and_quiz_bars(store: ProgressStore) -> None:
    svg = progress_chart(store)
    texts = [el.text for el in ET.fromstring(svg).iter("text")]
    for lesson in ("level_3", "phase_5", "phase_6"):
        assert f"{lesson} steps" in texts and f"{lesson} quiz" in texts
    assert texts.count("n/a") == 2  # level_3 quiz, phase_6 steps
    assert "75%" in texts and "50%" in texts
    # pass-score ticks only on graded step bars
    assert len(list(ET.fromstring(svg).iter("line"))) == 2


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    displayed: list[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: displayed.extend(objs))
    return displayed


def test_show_progress_displays_table_and_chart(store: ProgressStore, shown: list[Any]) -> None:
    table = show_progress(store)
    assert len(table) == 3
    assert isinstance(shown[0], pd.DataFrame) and shown[0].equals(table)
    assert "<svg" in shown[1].data
    assert store.attempts()  # a store passed in stays open


def test_show_progress_on_empty_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: list[Any]
) -> None:
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(tmp_path / "home"))
    table = show_progress()
    assert table.empty and list(table.columns) == COLUMNS
    assert len(shown) == 1 and "No progress yet" in shown[0].data
    assert (tmp_path / "home" / "progress.db").exists()
