"""The progress store: attempts numbered per question, first-attempt scores, runs, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.paths import course_home
from grader.progress import ProgressStore, default_store_path
from grader.results import LessonResult, LessonStatus


def test_default_store_lives_in_the_course_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(tmp_path / "elsewhere"))
    assert course_home() == tmp_path / "elsewhere"
    assert default_store_path() == tmp_path / "elsewhere" / "progress.db"
    with ProgressStore() as store:
        store.record_attempt("l", "q", 1, "a", True)
    assert (tmp_path / "elsewhere" / "progress.db").is_file()


def test_attempts_are_numbered_and_first_attempts_score(tmp_path) -> None:
    with ProgressStore(tmp_path / "p.db") as store:
        assert store.record_attempt("l1", "q1", 1, "a", False).attempt_no == 1
        assert store.record_attempt("l1", "q1", 1, "b", True).attempt_no == 2
        assert store.record_attempt("l1", "q2", 1, "c", True).attempt_no == 1
        assert store.record_attempt("l2", "q1", 1, "d", True).attempt_no == 1
        assert store.first_attempts("l1") == {"q1": False, "q2": True}
        assert store.quiz_score("l1", ["q1", "q2"]) == 0.5
        assert store.quiz_score("l1", ["q1", "q2", "q3", "q4"]) == 0.25  # unanswered count as wrong
        assert [a.answer for a in store.attempts("l1", "q1")] == ["a", "b"]
        mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_runs_round_trip(tmp_path) -> None:
    result = LessonResult(lesson_id="l1", notebook="x.ipynb", status=LessonStatus.PASSED, pass_score=0.75)
    with ProgressStore(tmp_path / "p.db") as store:
        store.record_run(result)
        result.status = LessonStatus.FAILED
        store.record_run(result)
        runs = store.runs("l1")
        assert [r["status"] for r in runs] == ["passed", "failed"]
        assert store.latest_runs()["l1"]["status"] == "failed"


WRITER = textwrap.dedent(
    """
    import sys
    from grader.progress import ProgressStore
    path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ProgressStore(path)
    for i in range(count):
        # both writers answer the same questions, so attempt numbers race
        store.record_attempt("lesson", f"q{i % 7}", 1, f"{worker}-{i}", i % 3 == 0)
    store.close()
    """
)


@pytest.mark.slow
def test_two_processes_writing_500_answers_each(tmp_path) -> None:
    db = tmp_path / "shared.db"
    ProgressStore(db).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"w{n}", "500"],
                              stderr=subprocess.PIPE, text=True) for n in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with ProgressStore(db) as store:
        attempts = store.attempts("lesson")
        assert len(attempts) == 1000
        assert store.integrity_check() == "ok"
        for q in {a.question_id for a in attempts}:
            numbers = sorted(a.attempt_no for a in attempts if a.question_id == q)
            assert numbers == list(range(1, len(numbers) + 1)), f"{q}: attempt numbers {numbers}"
        assert {a.answer.split("-")[0] for a in attempts} == {"w0", "w1"}


def test_unwritable_store_is_a_clear_error(tmp_path) -> None:
    from grader.errors import ProgressError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ProgressError, match=r"file/p\.db"):
        ProgressStore(blocker / "p.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProgressError, match=r"garbage\.db"):
        ProgressStore(garbage)
    assert Path(garbage).read_bytes().startswith(b"this is not sqlite")
