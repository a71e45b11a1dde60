"""The learner's progress store: quiz attempts and grader runs in one SQLite file.

WAL mode and ``BEGIN IMMEDIATE`` writes make it safe for several kernels (and
the grader) writing at once; each attempt gets its number inside the same write
transaction, so first attempts are well defined even under concurrency.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ProgressError
from .paths import course_home

__all__ = ["Attempt", "ProgressStore", "default_store_path"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quiz_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id   TEXT    NOT NULL,
    question_id TEXT    NOT NULL,
    checkpoint  INTEGER NOT NULL,
    answer      TEXT    NOT NULL,
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    attempt_no  INTEGER NOT NULL,
    created_at  REAL    NOT NULL,
    round       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (lesson_id, question_id, attempt_no)
);
CREATE TABLE IF NOT EXISTS quiz_rounds (
    lesson_id   TEXT    NOT NULL,
    checkpoint  INTEGER NOT NULL,
    round       INTEGER NOT NULL,
    started_at  REAL    NOT NULL,
    UNIQUE (lesson_id, checkpoint, round)
);
CREATE TABLE IF NOT EXISTS hints_used (
    lesson_id   TEXT    NOT NULL,
    step        INTEGER NOT NULL,
    hint_no     INTEGER NOT NULL,
    created_at  REAL    NOT NULL,
    UNIQUE (lesson_id, step, hint_no)
);
CREATE TABLE IF NOT EXISTS grader_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lesson_id   TEXT    NOT NULL,
    notebook    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    score       REAL,
    pass_score  REAL    NOT NULL,
    quiz_score  REAL,
    passed_steps INTEGER NOT NULL,
    graded_steps INTEGER NOT NULL,
    learner_copy INTEGER NOT NULL,
    result_json TEXT    NOT NULL,
    created_at  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS quiz_attempts_lesson ON quiz_attempts (lesson_id, question_id);
CREATE INDEX IF NOT EXISTS grader_runs_lesson ON grader_runs (lesson_id, created_at);
"""


def default_store_path(*, create_home: bool = True) -> Path:
    """``progress.db`` in the course home (``$ODIBI_COURSE_HOME`` or ``~/.odibi_course``)."""
    return course_home(create=create_home) / "progress.db"


@dataclass(frozen=True)
class Attempt:
    """One answer a learner gave to one quiz question."""

    lesson_id: str
    question_id: str
    checkpoint: int
    answer: str
    correct: bool
    attempt_no: int
    created_at: float
    round_no: int = 1


class ProgressStore:
    """Quiz attempts and grader runs, persisted in SQLite (WAL).

    Args:
        path: database file; defaults to :func:`default_store_path`.
        timeout: seconds a writer waits for another process's lock.
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProgressError(f"cannot create the folder for progress store {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # CREATE ... IF NOT EXISTS is idempotent, so concurrent openers need no transaction.
            self._conn.executescript(_SCHEMA)
            self._migrate()
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot open progress store {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        """Version 1 stores had no quiz rounds: their attempts all belong to round 1."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(quiz_attempts)")}
        if "round" in columns:
            return
        try:
            self._conn.execute("ALTER TABLE quiz_attempts ADD COLUMN round INTEGER NOT NULL"
                               " DEFAULT 1")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise

    # -- plumbing -----------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE so writers queue instead of deadlocking."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise ProgressError(f"cannot read progress store {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- quiz attempts ---------------------------------------------------------
    def record_attempt(
        self, lesson_id: str, question_id: str, checkpoint: int, answer: str, correct: bool,
        *, round_no: int | None = None,
    ) -> Attempt:
        """Store one answer and return it with its attempt number (1 = first attempt ever)
        and its quiz round (default: the checkpoint's current round)."""
        now = time.time()
        try:
            with self._write() as conn:
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM quiz_attempts WHERE lesson_id = ? AND question_id = ?",
                    (lesson_id, question_id),
                ).fetchone()
                attempt_no = count + 1
                if round_no is None:
                    round_no = self._current_round(conn, lesson_id, int(checkpoint))
                conn.execute(
                    "INSERT INTO quiz_attempts (lesson_id, question_id, checkpoint, answer, correct,"
                    " attempt_no, created_at, round) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (lesson_id, question_id, int(checkpoint), str(answer), int(bool(correct)),
                     attempt_no, now, int(round_no)),
                )
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot record quiz attempt in {self.path}: {exc}") from exc
        return Attempt(lesson_id, question_id, int(checkpoint), str(answer), bool(correct),
                       attempt_no, now, int(round_no))

    def attempts(self, lesson_id: str | None = None, question_id: str | None = None) -> list[Attempt]:
        """Attempts in the order they were made, optionally for one lesson or question."""
        sql = ("SELECT lesson_id, question_id, checkpoint, answer, correct, attempt_no, created_at,"
               " round FROM quiz_attempts WHERE 1 = 1")
        params: list[Any] = []
        if lesson_id is not None:
            sql += " AND lesson_id = ?"
            params.append(lesson_id)
        if question_id is not None:
            sql += " AND question_id = ?"
            params.append(question_id)
        rows = self._read(sql + " ORDER BY id", params)
        return [Attempt(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7]) for r in rows]

    def first_attempts(self, lesson_id: str, round_no: int = 1) -> dict[str, bool]:
        """question id -> whether the learner's first answer to it in ``round_no`` was correct."""
        first: dict[str, bool] = {}
        for attempt in self.attempts(lesson_id):
            if attempt.round_no == round_no:
                first.setdefault(attempt.question_id, attempt.correct)
        return first

    # -- quiz rounds -----------------------------------------------------------
    @staticmethod
    def _current_round(conn: sqlite3.Connection, lesson_id: str, checkpoint: int) -> int:
        (latest,) = conn.execute(
            "SELECT MAX(round) FROM quiz_rounds WHERE lesson_id = ? AND checkpoint = ?",
            (lesson_id, checkpoint),
        ).fetchone()
        return int(latest or 1)

    def current_round(self, lesson_id: str, checkpoint: int) -> int:
        """The round a checkpoint's answers go to now (1 until a retake starts another)."""
        rows = self._read("SELECT MAX(round) FROM quiz_rounds WHERE lesson_id = ? AND checkpoint = ?",
                          (lesson_id, int(checkpoint)))
        return int(rows[0][0] or 1)

    def start_round(self, lesson_id: str, checkpoint: int) -> int:
        """Start a new round of one checkpoint (a retake); returns its number. Earlier attempts
        stay stored; the best round counts."""
        try:
            with self._write() as conn:
                number = self._current_round(conn, lesson_id, int(checkpoint)) + 1
                conn.execute("INSERT INTO quiz_rounds (lesson_id, checkpoint, round, started_at)"
                             " VALUES (?, ?, ?, ?)", (lesson_id, int(checkpoint), number, time.time()))
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot start a quiz round in {self.path}: {exc}") from exc
        return number

    def round_scores(
        self, lesson_id: str, questions: Mapping[str, int] | Iterable[str]
    ) -> dict[int, dict[int, int]]:
        """checkpoint -> {round: questions right at their first attempt in that round}.

        ``questions`` maps question id -> checkpoint (or lists ids; each then belongs to the
        checkpoint its attempts were recorded under).
        """
        wanted = dict(questions) if isinstance(questions, Mapping) else dict.fromkeys(questions)
        first: dict[tuple[str, int], Attempt] = {}
        for attempt in self.attempts(lesson_id):
            if attempt.question_id in wanted:
                first.setdefault((attempt.question_id, attempt.round_no), attempt)
        scores: dict[int, dict[int, int]] = {}
        for (question_id, round_no), attempt in first.items():
            checkpoint = wanted[question_id]
            checkpoint = attempt.checkpoint if checkpoint is None else checkpoint
            per_round = scores.setdefault(int(checkpoint), {})
            per_round[round_no] = per_round.get(round_no, 0) + int(attempt.correct)
        return scores

    def quiz_score(self, lesson_id: str, questions: Mapping[str, int] | Iterable[str]) -> float:
        """Share of ``questions`` answered right at their first attempt, taking each
        checkpoint's best round (unanswered = wrong)."""
        wanted = dict(questions) if isinstance(questions, Mapping) else dict.fromkeys(questions)
        if not wanted:
            return 0.0
        scores = self.round_scores(lesson_id, wanted)
        best = sum(max(per_round.values(), default=0) for per_round in scores.values())
        return best / len(wanted)

    # -- hints -------------------------------------------------------------------
    def record_hint(self, lesson_id: str, step: int, hint_no: int) -> None:
        """Record that hint ``hint_no`` (1-based) of an exercise step was shown (once)."""
        try:
            with self._write() as conn:
                conn.execute("INSERT OR IGNORE INTO hints_used (lesson_id, step, hint_no, created_at)"
                             " VALUES (?, ?, ?, ?)", (lesson_id, int(step), int(hint_no), time.time()))
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot record a hint in {self.path}: {exc}") from exc

    def lessons_with_hints(self) -> list[str]:
        """Lesson ids with at least one hint shown."""
        return [row[0] for row in self._read("SELECT DISTINCT lesson_id FROM hints_used ORDER BY 1")]

    def hints_used(self, lesson_id: str) -> dict[int, int]:
        """exercise step -> how many of its hints were shown."""
        rows = self._read("SELECT step, COUNT(DISTINCT hint_no) FROM hints_used WHERE lesson_id = ?"
                          " GROUP BY step", (lesson_id,))
        return {int(step): int(count) for step, count in rows}

    # -- grader runs -----------------------------------------------------------
    def record_run(self, result: Any) -> int:
        """Store a graded lesson (a :class:`grader.results.LessonResult`); returns the row id."""
        data = result.to_dict()
        try:
            with self._write() as conn:
                cursor = conn.execute(
                    "INSERT INTO grader_runs (lesson_id, notebook, status, score, pass_score,"
                    " quiz_score, passed_steps, graded_steps, learner_copy, result_json, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (data["lesson_id"], data["notebook"], data["status"], data["score"],
                     data["pass_score"], data["quiz_score"], data["passed_steps"],
                     data["graded_steps"], int(data["learner_copy"]), json.dumps(data),
                     time.time()),
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot record grader run in {self.path}: {exc}") from exc

    def runs(self, lesson_id: str | None = None) -> list[dict[str, Any]]:
        """Stored grader results (as ``LessonResult.to_dict`` dicts plus ``created_at`` and
        ``run_id``), oldest first; damaged rows are left out (see :meth:`damaged_runs`)."""
        return self._load_runs(lesson_id)[0]

    def damaged_runs(self) -> list[tuple[int, str]]:
        """``(row id, what is wrong)`` for each stored grader run that cannot be read back
        (not JSON, not an object, a key missing or of the wrong type)."""
        return self._load_runs(None)[1]

    def _load_runs(self, lesson_id: str | None) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        sql = "SELECT id, result_json, created_at FROM grader_runs"
        params: list[Any] = []
        if lesson_id is not None:
            sql += " WHERE lesson_id = ?"
            params.append(lesson_id)
        good: list[dict[str, Any]] = []
        damaged: list[tuple[int, str]] = []
        for row_id, text, created in self._read(sql + " ORDER BY id", params):
            problem = _run_problem(text, created)
            if problem:
                damaged.append((int(row_id), problem))
            else:
                good.append({**json.loads(text), "created_at": float(created), "run_id": int(row_id)})
        return good, damaged

    def latest_runs(self) -> dict[str, dict[str, Any]]:
        """The newest stored result of each lesson, by lesson id."""
        latest: dict[str, dict[str, Any]] = {}
        for run in self.runs():
            latest[run["lesson_id"]] = run
        return latest

    def integrity_check(self) -> str:
        """SQLite's own integrity check: ``"ok"`` for an intact database."""
        return str(self._read("PRAGMA integrity_check")[0][0])


_RUN_FIELDS: dict[str, tuple[type, ...]] = {
    "lesson_id": (str,),
    "status": (str,),
    "passed_steps": (int,),
    "graded_steps": (int,),
    "pass_score": (int, float),
    "score": (int, float, type(None)),
}


def _run_problem(text: Any, created: Any) -> str:
    """What makes one stored run unreadable, or ``""`` when it is fine."""
    if not isinstance(text, str):
        return f"result_json is {type(text).__name__}, expected JSON text"
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and RecursionError's cousin for deep nesting
        return f"result_json is not valid JSON ({exc})"
    except RecursionError:
        return "result_json is nested too deeply"
    if not isinstance(data, dict):
        return f"result_json is a JSON {type(data).__name__}, expected an object"
    for key, kinds in _RUN_FIELDS.items():
        if key not in data:
            return f"result_json has no {key!r}"
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            return f"result_json field {key!r} is {type(value).__name__} {value!r:.60}, expected {names}"
    if isinstance(created, bool) or not isinstance(created, int | float):
        return f"created_at is {type(created).__name__}, expected a number"
    return ""
