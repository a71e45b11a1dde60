"""The one event system: priority order, isolation and reporting of raising hooks, strict hooks,
thread safety, and the documented payloads in sequential and parallel runs."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from odibi_core.core import EventEmitter, Orchestrator, Step
from odibi_core.core.events import EventPriority, HookFailure
from odibi_core.event_bus import EventBus

# the Level 3 table, plus the fields the executor adds
PAYLOADS = {
    "pipeline_start": {"pipeline_name", "start_time", "total_steps"},
    "pipeline_complete": {"duration_ms", "nodes_executed", "success_count"},
    "pipeline_error": {"error_message", "failed_step"},
    "node_start": {"step_name", "layer", "start_time", "attempt"},
    "node_complete": {"step_name", "duration_ms", "row_count", "status", "attempts"},
    "node_error": {"step_name", "error_message", "retry_count"},
}


def test_event_bus_is_the_event_emitter() -> None:
    assert EventBus is EventEmitter


def test_hooks_run_in_priority_order_then_registration_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    for name, priority in [("low", EventPriority.LOW), ("medium-1", EventPriority.MEDIUM),
                           ("critical", EventPriority.CRITICAL), ("high", EventPriority.HIGH),
                           ("medium-2", EventPriority.MEDIUM)]:
        bus.register_hook("node_complete", lambda data, name=name: calls.append(name), priority=priority)
    bus.emit("node_complete", step_name="s")
    assert calls == ["critical", "high", "medium-1", "medium-2", "low"]


def test_a_raising_hook_is_isolated_and_reported() -> None:
    bus = EventBus()
    after: list[dict] = []

    def broken(data):
        raise RuntimeError(f"cannot page for {data['step_name']}")

    bus.register_hook("node_error", broken, priority=EventPriority.CRITICAL)
    bus.register_hook("node_error", after.append)
    mark = bus.failure_count
    bus.emit("node_error", step_name="load", error_message="boom")
    assert [d["step_name"] for d in after] == ["load"], "later hooks still run"
    [failure] = bus.failures_since(mark)
    assert isinstance(failure, HookFailure)
    assert (failure.event, failure.error) == ("node_error", "RuntimeError: cannot page for load")
    assert failure.hook.endswith("broken") and "broken" in str(failure)


def test_a_strict_hook_propagates() -> None:
    bus = EventBus()
    bus.register_hook("node_start", lambda data: 1 / 0, strict=True)
    with pytest.raises(ZeroDivisionError):
        bus.emit("node_start", step_name="s")
    assert bus.failures == []


def test_failures_keep_only_the_latest() -> None:
    bus = EventEmitter(keep_failures=2)
    bus.on("x", lambda data: 1 / 0)
    for _ in range(5):
        bus.emit("x")
    assert bus.failure_count == 5 and [f.seq for f in bus.failures] == [3, 4]


def test_emit_and_register_from_many_threads() -> None:
    bus = EventEmitter()
    seen: list[int] = []
    lock = threading.Lock()

    def hook(data):
        with lock:
            seen.append(data["i"])

    bus.on("e", hook)
    start = threading.Barrier(8)

    def work(k: int) -> None:
        start.wait()
        for i in range(200):
            bus.emit("e", i=k * 1000 + i)
            if i % 50 == 0:
                bus.on("other", lambda data: None)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seen) == sorted(k * 1000 + i for k in range(8) for i in range(200))
    assert len(bus.hooks("other")) == 8 * 4


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "orders.csv"
    pd.DataFrame({"c": [1, 1, 2], "amount": [5, 7, 9]}).to_csv(path, index=False)
    return path


def steps(csv, sql="SELECT c, SUM(amount) AS total FROM orders GROUP BY c ORDER BY c"):
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"d": "raw"}),
        Step("transform", "left", "sql", "pandas", sql, inputs={"orders": "raw"}, outputs={"d": "l"}),
        Step("transform", "right", "sql", "pandas", "SELECT * FROM orders WHERE amount > 5",
             inputs={"orders": "raw"}, outputs={"d": "r"}),
    ]


def record_all(bus: EventEmitter) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def hook(data):
        with lock:
            seen.append((data["event"], data))

    for event in PAYLOADS:
        bus.on(event, hook)
    return seen


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_documented_payloads_on_success(csv, parallel) -> None:
    bus = EventBus()
    seen = record_all(bus)
    result = Orchestrator(steps=steps(csv), engine_type="pandas", event_bus=bus, parallel=parallel,
                          max_workers=3).execute()
    assert result.success
    for event, data in seen:
        assert PAYLOADS[event] <= data.keys(), (event, sorted(data))
    names = [e for e, _ in seen]
    assert names[0] == "pipeline_start" and names[-1] == "pipeline_complete"
    for step in ("read", "left", "right"):
        per_step = [e for e, d in seen if d.get("step_name") == step]
        assert per_step == ["node_start", "node_complete"], (step, per_step)
    assert seen[-1][1]["success_count"] == 3 and seen[0][1]["total_steps"] == 3


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_documented_payloads_on_failure_and_hook_failures_in_the_result(csv, parallel) -> None:
    bus = EventBus()
    seen = record_all(bus)
    bus.register_hook("node_complete", lambda data: 1 / 0, priority=EventPriority.LOW)
    result = Orchestrator(steps=steps(csv, "SELEC broken"), engine_type="pandas", event_bus=bus,
                          parallel=parallel, max_workers=3, fail_fast=False).execute()
    assert result.failed_nodes == ["left"]
    for event, data in seen:
        assert PAYLOADS[event] <= data.keys(), (event, sorted(data))
    error = next(d for e, d in seen if e == "node_error")
    assert error["step_name"] == "left" and error["retry_count"] == 0
    assert seen[-1][0] == "pipeline_error" and seen[-1][1]["failed_step"] == "left"
    # the broken hook ran on both successful nodes; the run went on and reports it
    assert sorted(f.event for f in result.hook_failures) == ["node_complete", "node_complete"]
    assert all("ZeroDivisionError" in f.error for f in result.hook_failures)


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_a_strict_hook_stops_the_run_and_every_node_says_why(csv, parallel) -> None:
    pipeline = [*steps(csv), Step("transform", "after_left", "sql", "pandas", "SELECT * FROM l", inputs={"l": "l"}, outputs={"d": "al"})]
    bus = EventBus()
    seen = record_all(bus)

    def gate(data):
        if data["step_name"] == "left":
            raise RuntimeError("gate closed")

    bus.register_hook("node_start", gate, strict=True)
    orchestrator = Orchestrator(steps=pipeline, engine_type="pandas", event_bus=bus,
                                parallel=parallel, max_workers=2)
    with pytest.raises(RuntimeError, match="gate closed"):
        orchestrator.execute()
    nodes = orchestrator.tracker.to_lineage()["nodes"]
    assert nodes["read"]["state"] == "SUCCESS"
    assert nodes["left"]["state"] == "FAILED"
    assert "strict node_start hook raised RuntimeError: gate closed" in nodes["left"]["error"]
    assert nodes["after_left"]["state"] == "SKIPPED"
    # no node is left RUNNING, PENDING or READY: each ran, failed or says why it did not
    assert {n["state"] for n in nodes.values()} <= {"SUCCESS", "FAILED", "SKIPPED"}
    lineage = orchestrator.tracker.to_lineage()
    assert [e["eventType"] for e in lineage["run_events"]] == ["START", "FAIL"]
    assert "step 'left' failed" in lineage["run_events"][1]["run"]["facets"]["errorMessage"]["message"]
    assert [e for e, _ in seen].count("pipeline_error") == 1
    assert next(d for e, d in seen if e == "node_error")["step_name"] == "left"
