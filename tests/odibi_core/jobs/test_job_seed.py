"""The seed's background-jobs usage (Example 3) runs as written, importing from odibi_core.jobs;
get_executor() returns one shared, started executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from odibi_core.errors import ConfigError
from odibi_core.jobs import BackgroundJobExecutor, MemoryJobStore, get_executor, shutdown_executor

# Seed Example 3, verbatim except for its import line (``from .background_jobs import ...``).
SEED_EXAMPLE_3 = '''
from odibi_core.jobs import get_executor

# Get executor
executor = get_executor(num_workers=2)

# Submit job
def my_workflow(spec_id):
    # Long-running workflow
    return f"Completed {spec_id}"

job_id = executor.submit_job(
    func=my_workflow,
    args=("spec-core-001",),
    workflow_id="spec-001"
)

# Check status
status = executor.get_job_status(job_id)
print(f"Status: {status['status']}")

# Wait for completion (with timeout)
try:
    result = executor.wait_for_job(job_id, timeout=300)
    print(f"Result: {result}")
except TimeoutError:
    print("Job timeout!")
'''


@pytest.fixture(autouse=True)
def odibi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shared executor's default store goes under a temporary odibi home; reset after."""
    shutdown_executor()
    monkeypatch.setenv("ODIBI_HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    shutdown_executor()


def test_seed_example_3_runs_as_written(odibi_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(SEED_EXAMPLE_3, "seed_example_3", "exec"), namespace)
    out = capsys.readouterr().out.splitlines()
    assert out[0] in {"Status: queued", "Status: running", "Status: succeeded"}
    assert out[1] == "Result: Completed spec-core-001"
    assert namespace["result"] == "Completed spec-core-001"
    executor = namespace["executor"]
    assert isinstance(executor, BackgroundJobExecutor) and executor.num_workers == 2
    status = executor.get_job_status(namespace["job_id"])  # type: ignore[arg-type]
    assert status["workflow_id"] == "spec-001" and status["result"] == "Completed spec-core-001"
    assert (odibi_home / "jobs.sqlite3").exists()


def test_get_executor_is_a_started_singleton() -> None:
    first = get_executor(num_workers=2)
    assert first.started and not first.is_shut_down
    assert get_executor() is first
    assert get_executor(num_workers=2) is first
    with pytest.raises(ConfigError, match="already runs 2 workers; got num_workers=3"):
        get_executor(num_workers=3)
    with pytest.raises(ConfigError, match="call shutdown_executor"):
        get_executor(store=MemoryJobStore())
    shutdown_executor()
    assert first.is_shut_down
    second = get_executor(store=MemoryJobStore())
    assert second is not first and second.num_workers == 4
    assert get_executor().wait_for_job(second.submit_job(lambda: "ok"), timeout=30) == "ok"
