"""BackgroundJobExecutor: lifecycle, results and errors, wait/timeout, cancel, shutdown, listing.

Every test runs on the memory store and on a SQLite file. Jobs that must stay running block on a
threading.Event; no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odibi_core.errors import ConfigError, OdibiError
from odibi_core.jobs import (
    BackgroundJobExecutor,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobNotFoundError,
    JobStore,
    JobTimeoutError,
    MemoryJobStore,
    SQLiteJobStore,
)

WAIT = 30  # generous bound for things that should happen at once on an idle machine

STORES = [
    pytest.param(lambda tmp: MemoryJobStore(), id="memory"),
    pytest.param(lambda tmp: SQLiteJobStore(tmp / "jobs.sqlite3"), id="sqlite"),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    make: Callable[[Path], JobStore] = request.param
    return make(tmp_path)


@pytest.fixture
def make_executor(store: JobStore) -> Iterator[Callable[..., BackgroundJobExecutor]]:
    made: list[BackgroundJobExecutor] = []

    def make(num_workers: int = 2, **options: object) -> BackgroundJobExecutor:
        executor = BackgroundJobExecutor(num_workers, store=store, **options)  # type: ignore[arg-type]
        made.append(executor)
        return executor.start()

    yield make
    for executor in made:
        executor.shutdown(wait=False)


def blocker() -> tuple[threading.Event, threading.Event, Callable[[], str]]:
    """A job function that says it started, then waits until released."""
    started, release = threading.Event(), threading.Event()

    def job() -> str:
        started.set()
        assert release.wait(WAIT), "test never released the job"
        return "released"

    return started, release, job


def test_a_job_runs_and_its_status_records_the_result(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor()
    job_id = executor.submit_job(lambda a, b=0: {"sum": a + b}, args=(2,), kwargs={"b": 3}, workflow_id="wf")
    assert len(job_id) == 32 and int(job_id, 16) >= 0
    assert executor.wait_for_job(job_id, timeout=WAIT) == {"sum": 5}
    status = executor.get_job_status(job_id)
    assert status["status"] == "succeeded"
    assert status["job_id"] == job_id and status["workflow_id"] == "wf"
    assert status["result"] == {"sum": 5} and status["result_restorable"] is True
    assert status["error"] is None
    assert status["submitted_at"] <= status["started_at"] <= status["finished_at"]
    json.dumps(status)  # the whole status dict is JSON-able


def test_timestamps_come_from_the_injected_clock(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    ticks = itertools.count()
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    executor = make_executor(clock=lambda: t0 + timedelta(seconds=next(ticks)))
    job_id = executor.submit_job(str)
    executor.wait_for_job(job_id, timeout=WAIT)
    status = executor.get_job_status(job_id)
    assert (status["submitted_at"], status["started_at"], status["finished_at"]) == (
        "2025-01-01T00:00:00+00:00", "2025-01-01T00:00:01+00:00", "2025-01-01T00:00:02+00:00")


def test_a_result_that_is_not_json_is_kept_as_a_repr(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor()
    value = {1, 2}
    job_id = executor.submit_job(lambda: value)
    assert executor.wait_for_job(job_id, timeout=WAIT) is value  # this process gets the object itself
    status = executor.get_job_status(job_id)
    assert status["result"] == "{1, 2}" and status["result_restorable"] is False


def test_a_job_that_raises_is_failed_with_its_error(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor()

    def explode(table: str) -> None:
        raise ValueError(f"table {table} has no rows")

    job_id = executor.submit_job(explode, args=("sales",), workflow_id="wf")
    with pytest.raises(JobFailedError) as caught:
        executor.wait_for_job(job_id, timeout=WAIT)
    failure = caught.value
    assert isinstance(failure, OdibiError)
    assert job_id in str(failure) and "explode" in str(failure)
    assert "ValueError: table sales has no rows" in str(failure)
    assert (failure.error_type, failure.error_message) == ("ValueError", "table sales has no rows")
    assert isinstance(failure.__cause__, ValueError)
    status = executor.get_job_status(job_id)
    assert status["status"] == "failed" and status["result"] is None
    assert status["error"]["type"] == "ValueError"
    assert status["error"]["message"] == "table sales has no rows"
    assert "in explode" in status["error"]["traceback"]
    assert status["finished_at"] is not None


def test_wait_for_job_times_out_with_a_timeout_error(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=1)
    started, release, job = blocker()
    job_id = executor.submit_job(job)
    assert started.wait(WAIT)
    with pytest.raises(TimeoutError) as caught:
        executor.wait_for_job(job_id, timeout=0.05)
    assert isinstance(caught.value, JobTimeoutError)
    assert job_id in str(caught.value) and "still running" in str(caught.value)
    assert executor.get_job_status(job_id)["status"] == "running"
    release.set()
    assert executor.wait_for_job(job_id, timeout=WAIT) == "released"


def test_cancel_of_a_queued_job_means_it_never_runs(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=1)
    started, release, job = blocker()
    ran: list[str] = []
    first = executor.submit_job(job)
    assert started.wait(WAIT)
    second = executor.submit_job(ran.append, args=("second ran",))
    assert executor.get_job_status(second)["status"] == "queued"

    assert executor.cancel_job(second) is True
    status = executor.get_job_status(second)
    assert status["status"] == "cancelled" and status["finished_at"] is not None
    assert status["started_at"] is None
    assert executor.cancel_job(second) is False  # already cancelled

    release.set()
    assert executor.wait_for_job(first, timeout=WAIT) == "released"
    with pytest.raises(JobCancelledError, match=second):
        executor.wait_for_job(second, timeout=WAIT)
    executor.shutdown(wait=True)  # the worker has drained its queue, including the cancelled id
    assert ran == []
    assert executor.get_job_status(second)["status"] == "cancelled"


def test_cancel_of_a_running_job_is_refused(
    make_executor: Callable[..., BackgroundJobExecutor], caplog: pytest.LogCaptureFixture
) -> None:
    executor = make_executor(num_workers=1)
    started, release, job = blocker()
    job_id = executor.submit_job(job)
    assert started.wait(WAIT)
    with caplog.at_level("INFO", logger="odibi_core.jobs.executor"):
        assert executor.cancel_job(job_id) is False
    assert "only queued jobs can be cancelled" in caplog.text
    release.set()
    assert executor.wait_for_job(job_id, timeout=WAIT) == "released"
    assert executor.get_job_status(job_id)["status"] == "succeeded"
    assert executor.cancel_job(job_id) is False


def test_shutdown_wait_runs_the_queued_jobs(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=1)
    started, release, job = blocker()
    executor.submit_job(job)
    assert started.wait(WAIT)
    queued = [executor.submit_job(lambda n=n: n * n) for n in range(5)]
    release.set()
    executor.shutdown(wait=True)
    assert [executor.get_job_status(j)["result"] for j in queued] == [0, 1, 4, 9, 16]
    with pytest.raises(JobError, match="shut down"):
        executor.submit_job(print)


def test_shutdown_without_wait_cancels_the_queued_jobs(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=1)
    started, release, job = blocker()
    running = executor.submit_job(job)
    assert started.wait(WAIT)
    queued = [executor.submit_job(print) for _ in range(3)]
    executor.shutdown(wait=False)
    assert [executor.get_job_status(j)["status"] for j in queued] == ["cancelled"] * 3
    release.set()  # the running job still finishes and records its outcome
    assert executor.wait_for_job(running, timeout=WAIT) == "released"
    assert executor.get_job_status(running)["status"] == "succeeded"


def test_jobs_submitted_before_start_wait_for_the_workers(store: JobStore) -> None:
    executor = BackgroundJobExecutor(1, store=store)
    job_id = executor.submit_job(lambda: "ok")
    assert executor.get_job_status(job_id)["status"] == "queued"
    with executor:
        assert executor.wait_for_job(job_id, timeout=WAIT) == "ok"
    with pytest.raises(JobError, match="cannot start again"):
        executor.start()


def test_workers_run_jobs_in_parallel_up_to_num_workers(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=2)
    both_running = threading.Barrier(2, timeout=WAIT)  # passes only if two jobs run at once
    lock = threading.Lock()
    active, peak = [0], [0]

    def job(n: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if n < 2:
            both_running.wait()
        with lock:
            active[0] -= 1
        return n

    # the first two jobs are the barrier pair; the rest come from several threads at once
    ids = [executor.submit_job(job, args=(0,)), executor.submit_job(job, args=(1,))]
    submitters = [threading.Thread(target=lambda k=k: ids.append(executor.submit_job(job, args=(k,))))
                  for k in range(2, 8)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    assert sorted(executor.wait_for_job(j, timeout=WAIT) for j in ids) == list(range(8))
    assert len(set(ids)) == 8
    assert peak[0] == 2


def test_list_jobs_filters_by_workflow_and_status(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor(num_workers=1)
    a = executor.submit_job(lambda: 1, workflow_id="wf1")
    b = executor.submit_job(lambda: 2, workflow_id="wf2")
    c = executor.submit_job(lambda: 1 / 0, workflow_id="wf1")
    for job_id in (a, b):
        executor.wait_for_job(job_id, timeout=WAIT)
    with pytest.raises(JobFailedError):
        executor.wait_for_job(c, timeout=WAIT)
    assert [s["job_id"] for s in executor.list_jobs()] == [a, b, c]
    assert [s["job_id"] for s in executor.list_jobs(workflow_id="wf1")] == [a, c]
    assert [s["job_id"] for s in executor.list_jobs(status="failed")] == [c]
    assert [s["job_id"] for s in executor.list_jobs("wf1", "succeeded")] == [a]
    with pytest.raises(ConfigError, match="status must be one of queued, running, succeeded"):
        executor.list_jobs(status="done")


def test_bad_arguments_and_unknown_ids_are_clear_errors(make_executor: Callable[..., BackgroundJobExecutor]) -> None:
    executor = make_executor()
    with pytest.raises(ConfigError, match="func must be callable"):
        executor.submit_job("not a function")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="args must be a tuple or list"):
        executor.submit_job(print, args="abc")
    with pytest.raises(ConfigError, match="kwargs must be a dict"):
        executor.submit_job(print, kwargs=[1])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_workers must be an int >= 1, got 0"):
        BackgroundJobExecutor(0, store=MemoryJobStore())
    for call in (executor.get_job_status, executor.cancel_job, executor.wait_for_job):
        with pytest.raises(JobNotFoundError, match="no job with id 'nope'"):
            call("nope")
