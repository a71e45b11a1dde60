"""The job store contract, run against every store; then what only the SQLite store promises
(persistence across reopen, WAL, compare-and-set across connections).

To add a store, add a ``pytest.param`` to ``STORES``: every contract test runs against it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odibi_core.jobs import (
    JobError,
    JobNotFoundError,
    JobRecord,
    JobStatus,
    JobStore,
    MemoryJobStore,
    SQLiteJobStore,
)

STORES = [
    pytest.param(lambda tmp: MemoryJobStore(), id="memory"),
    pytest.param(lambda tmp: SQLiteJobStore(tmp / "jobs" / "jobs.sqlite3"), id="sqlite"),
]

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    make: Callable[[Path], JobStore] = request.param
    return make(tmp_path)


def record(job_id: str, *, workflow_id: str | None = None, at: int = 0, **fields: object) -> JobRecord:
    values: dict[str, object] = {
        "job_id": job_id,
        "name": "load_sales",
        "status": JobStatus.QUEUED,
        "submitted_at": T0 + timedelta(seconds=at),
        "owner": "host:1:token",
        "workflow_id": workflow_id,
    }
    values.update(fields)
    return JobRecord(**values)  # type: ignore[arg-type]


def test_add_then_get_returns_the_same_record(store: JobStore) -> None:
    finished = record(
        "a1",
        workflow_id="wf",
        status=JobStatus.FAILED,
        started_at=T0 + timedelta(seconds=1),
        finished_at=T0 + timedelta(seconds=2),
        result={"rows": [1, 2]},
        result_restorable=True,
        error={"type": "ValueError", "message": "bad", "traceback": "Traceback ...\nValueError: bad"},
    )
    store.add(finished)
    assert store.get("a1") == finished


def test_get_of_an_unknown_id_is_none(store: JobStore) -> None:
    store.add(record("a1"))
    assert store.get("zz") is None


def test_adding_an_existing_id_is_an_error(store: JobStore) -> None:
    store.add(record("a1"))
    with pytest.raises(JobError, match="a1"):
        store.add(record("a1", at=5))
    assert store.get("a1") == record("a1")


def test_transition_applies_changes_only_from_an_expected_status(store: JobStore) -> None:
    store.add(record("a1"))
    started = T0 + timedelta(seconds=3)
    updated = store.transition("a1", {JobStatus.QUEUED}, status=JobStatus.RUNNING, started_at=started)
    assert updated == record("a1", status=JobStatus.RUNNING, started_at=started)
    assert store.get("a1") == updated
    # a second claim of the same job finds it running: nothing changes
    assert store.transition("a1", {JobStatus.QUEUED}, status=JobStatus.CANCELLED) is None
    assert store.get("a1") == updated


def test_transition_returns_stored_json_values(store: JobStore) -> None:
    store.add(record("a1"))
    updated = store.transition("a1", {JobStatus.QUEUED}, status="succeeded", result=[1, {"x": None}])
    assert updated is not None
    assert updated.status is JobStatus.SUCCEEDED
    assert updated.result == [1, {"x": None}]


def test_transition_of_an_unknown_id_or_field_is_an_error(store: JobStore) -> None:
    store.add(record("a1"))
    with pytest.raises(JobNotFoundError, match="no job with id 'zz'"):
        store.transition("zz", {JobStatus.QUEUED}, status=JobStatus.RUNNING)
    with pytest.raises(JobError, match="owner"):
        store.transition("a1", {JobStatus.QUEUED}, owner="someone else")
    assert store.get("a1") == record("a1")


def test_list_filters_by_workflow_and_status_oldest_first(store: JobStore) -> None:
    store.add(record("c", workflow_id="wf1", at=2))
    store.add(record("a", workflow_id="wf1", at=0, status=JobStatus.SUCCEEDED))
    store.add(record("b", workflow_id="wf2", at=1))
    store.add(record("d", at=1))
    assert [r.job_id for r in store.list()] == ["a", "b", "d", "c"]
    assert [r.job_id for r in store.list("wf1")] == ["a", "c"]
    assert [r.job_id for r in store.list(statuses={JobStatus.QUEUED})] == ["b", "d", "c"]
    assert [r.job_id for r in store.list("wf1", {JobStatus.QUEUED, JobStatus.RUNNING})] == ["c"]
    assert store.list(statuses=set()) == []
    assert store.list("nope") == []


def test_records_are_copies(store: JobStore) -> None:
    store.add(record("a1", status=JobStatus.SUCCEEDED, result={"rows": [1]}))
    got = store.get("a1")
    assert got is not None
    got.result["rows"].append(2)
    assert store.get("a1") == record("a1", status=JobStatus.SUCCEEDED, result={"rows": [1]})


def test_concurrent_claims_of_one_job_have_exactly_one_winner(store: JobStore) -> None:
    store.add(record("a1"))
    barrier = threading.Barrier(8, timeout=30)
    wins: list[JobRecord | None] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        won = store.transition("a1", {JobStatus.QUEUED}, status=JobStatus.RUNNING)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([w for w in wins if w is not None]) == 1


# -- SQLite only ----------------------------------------------------------------------------------
def test_sqlite_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with SQLiteJobStore(path) as first:
        first.add(record("a1", workflow_id="wf", status=JobStatus.SUCCEEDED, result="done"))
    with SQLiteJobStore(path) as second:
        assert second.get("a1") == record("a1", workflow_id="wf", status=JobStatus.SUCCEEDED, result="done")


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.sqlite3"
    SQLiteJobStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_default_path_is_in_the_odibi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODIBI_HOME", str(tmp_path / "home"))
    with SQLiteJobStore() as store:
        assert store.path == tmp_path / "home" / "jobs.sqlite3"
        assert store.path.exists()


def test_sqlite_claims_through_separate_connections_never_overlap(tmp_path: Path) -> None:
    """Two stores on one file stand in for two processes: every job is claimed exactly once."""
    path = tmp_path / "jobs.sqlite3"
    stores = [SQLiteJobStore(path), SQLiteJobStore(path)]
    ids = [f"job{n:02d}" for n in range(20)]
    for n, job_id in enumerate(ids):
        stores[0].add(record(job_id, at=n))
    claimed: list[list[str]] = [[], []]
    barrier = threading.Barrier(2, timeout=30)

    def claim_all(index: int) -> None:
        barrier.wait()
        for job_id in ids:
            if stores[index].transition(job_id, {JobStatus.QUEUED}, status=JobStatus.RUNNING):
                claimed[index].append(job_id)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed[0] + claimed[1]) == ids
    assert [r.status for r in stores[1].list()] == [JobStatus.RUNNING] * 20
    for store in stores:
        store.close()
