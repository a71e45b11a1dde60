"""Restart: a new executor on the same SQLite file sees what earlier processes' jobs did, and
marks failed the jobs that were queued or running when their process stopped."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import odibi_core
from odibi_core.jobs import (
    ORPHANED_MESSAGE,
    BackgroundJobExecutor,
    JobFailedError,
    JobResultUnavailableError,
    SQLiteJobStore,
)

WAIT = 30

# A process that finishes two jobs, starts a third that never ends, queues a fourth, then dies
# without any cleanup (os._exit skips atexit), as a crash or a killed kernel would.
CRASHING_SCRIPT = textwrap.dedent("""
    import json, os, sys, threading
    from odibi_core.jobs import BackgroundJobExecutor, JobFailedError, SQLiteJobStore

    executor = BackgroundJobExecutor(1, store=SQLiteJobStore(sys.argv[1])).start()
    def boom():
        raise KeyError("no such column")
    started = threading.Event()
    def forever():
        started.set()
        threading.Event().wait()
    ok = executor.submit_job(lambda: {"rows": 3}, workflow_id="wf")
    odd = executor.submit_job(lambda: {1, 2}, workflow_id="wf")
    bad = executor.submit_job(boom, workflow_id="wf")
    running = executor.submit_job(forever, workflow_id="wf")
    queued = executor.submit_job(print, workflow_id="wf")
    executor.wait_for_job(ok, timeout=60)
    executor.wait_for_job(odd, timeout=60)
    try:
        executor.wait_for_job(bad, timeout=60)
    except JobFailedError:
        pass
    assert started.wait(60)
    print(json.dumps({"ok": ok, "odd": odd, "bad": bad, "running": running, "queued": queued}))
    sys.stdout.flush()
    os._exit(0)
""")


def test_a_new_process_sees_finished_jobs_and_fails_orphans(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(Path(odibi_core.__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, str(script), str(db)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout.strip().splitlines()[-1])

    executor = BackgroundJobExecutor(1, store=SQLiteJobStore(db))
    try:
        assert sorted(executor.orphans_failed) == sorted([ids["running"], ids["queued"]])
        assert executor.get_job_status(ids["ok"])["status"] == "succeeded"
        assert executor.get_job_status(ids["ok"])["result"] == {"rows": 3}
        assert executor.wait_for_job(ids["ok"], timeout=WAIT) == {"rows": 3}

        odd = executor.get_job_status(ids["odd"])
        assert (odd["status"], odd["result"], odd["result_restorable"]) == ("succeeded", "{1, 2}", False)
        with pytest.raises(JobResultUnavailableError, match="not JSON-able"):
            executor.wait_for_job(ids["odd"], timeout=WAIT)

        bad = executor.get_job_status(ids["bad"])
        assert bad["status"] == "failed"
        assert (bad["error"]["type"], bad["error"]["message"]) == ("KeyError", "'no such column'")
        assert "in boom" in bad["error"]["traceback"]
        with pytest.raises(JobFailedError, match="KeyError"):
            executor.wait_for_job(ids["bad"], timeout=WAIT)

        for key in ("running", "queued"):
            status = executor.get_job_status(ids[key])
            assert status["status"] == "failed" and status["finished_at"] is not None
            assert status["error"]["message"] == ORPHANED_MESSAGE
            with pytest.raises(JobFailedError, match="stopped before it finished"):
                executor.wait_for_job(ids[key], timeout=WAIT)
        assert executor.get_job_status(ids["running"])["started_at"] is not None
        assert executor.get_job_status(ids["queued"])["started_at"] is None
        assert [s["status"] for s in executor.list_jobs(workflow_id="wf")] == (
            ["succeeded", "succeeded", "failed", "failed", "failed"])
    finally:
        executor.shutdown()


def test_jobs_of_a_collected_executor_are_orphans_in_the_same_process(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    first = BackgroundJobExecutor(1, store=SQLiteJobStore(db))  # never started
    job_id = first.submit_job(print)
    del first
    gc.collect()
    second = BackgroundJobExecutor(1, store=SQLiteJobStore(db))
    assert second.orphans_failed == [job_id]
    assert second.get_job_status(job_id)["error"]["message"] == ORPHANED_MESSAGE


def test_a_live_executor_s_jobs_are_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    started, release = threading.Event(), threading.Event()

    def job() -> str:
        started.set()
        assert release.wait(WAIT)
        return "done"

    first = BackgroundJobExecutor(1, store=SQLiteJobStore(db)).start()
    try:
        running = first.submit_job(job)
        assert started.wait(WAIT)
        queued = first.submit_job(lambda: "later")
        second = BackgroundJobExecutor(1, store=SQLiteJobStore(db))
        assert second.orphans_failed == []
        assert second.get_job_status(running)["status"] == "running"
        assert second.get_job_status(queued)["status"] == "queued"
        release.set()
        # the second executor waits on a job it does not run by polling the shared store
        assert second.wait_for_job(queued, timeout=WAIT) == "later"
        assert second.wait_for_job(running, timeout=WAIT) == "done"
    finally:
        release.set()
        first.shutdown()
