"""Code from the seed lessons, run unchanged against the package.

Phase 5, Mission 9 (tests/test_phase5_integration.py in the seed) and the Level 3
examples.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

# ---- Phase 5, Mission 9, Step 9.1: verbatim ---------------------------------------------
from odibi_core.core import (
    CacheManager,
    DAGBuilder,
    EventEmitter,
    Orchestrator,
    Step,
    Tracker,
    create_engine_context,
)


def test_dag_builder_simple():
    """Test basic DAG building."""
    steps = [
        Step(layer="ingestion", name="read", type="config", engine="pandas",
             value="data.csv", inputs={}, outputs={"out": "raw"}),
        Step(layer="transformation", name="clean", type="sql", engine="pandas",
             value="SELECT 1", inputs={"in": "raw"}, outputs={"out": "clean"}),
    ]

    builder = DAGBuilder(steps)
    dag = builder.build()

    assert len(dag) == 2
    assert dag["clean"].dependencies == {"read"}
    assert dag["read"].dependents == {"clean"}
    assert dag["read"].level == 0
    assert dag["clean"].level == 1


def test_dag_builder_parallel_branches():
    """Test DAG with parallel branches."""
    steps = [
        Step(layer="i", name="read", type="c", engine="pandas", value="data.csv",
             inputs={}, outputs={"out": "raw"}),
        Step(layer="t", name="branch1", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "raw"}, outputs={"out": "b1"}),
        Step(layer="t", name="branch2", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "raw"}, outputs={"out": "b2"}),
        Step(layer="t", name="merge", type="s", engine="pandas", value="SELECT 1",
             inputs={"in1": "b1", "in2": "b2"}, outputs={"out": "final"}),
    ]

    builder = DAGBuilder(steps)
    dag = builder.build()  # noqa: F841 - the seed's code, unchanged
    batches = builder.get_parallel_batches()

    assert len(batches) == 3
    assert len(batches[0]) == 1
    assert len(batches[1]) == 2
    assert len(batches[2]) == 1


def test_dag_builder_cycle_detection():
    """Test cycle detection."""
    steps = [
        Step(layer="t", name="A", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "C_out"}, outputs={"out": "A_out"}),
        Step(layer="t", name="B", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "A_out"}, outputs={"out": "B_out"}),
        Step(layer="t", name="C", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "B_out"}, outputs={"out": "C_out"}),
    ]

    builder = DAGBuilder(steps)

    with pytest.raises(ValueError, match="Circular dependencies"):
        builder.build()


@pytest.fixture
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ODIBI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.usefixtures("_isolated_cache")
def test_cache_manager():
    """Test cache manager."""
    cache = CacheManager(enabled=True)

    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})

    key = cache.compute_cache_key("test", {}, "hash123", "SELECT 1")

    cache.put(key, df, engine="pandas")

    cached = cache.get(key, engine="pandas")
    assert cached is not None
    assert len(cached) == 2

    stats = cache.get_stats()
    assert stats["entry_count"] == 1
    assert stats["total_hits"] == 1


def test_parallel_vs_sequential():
    """Test parallel execution vs sequential."""
    steps = [
        Step(layer="i", name="read", type="c", engine="pandas", value="data.csv",
             inputs={}, outputs={"out": "raw"}),
        Step(layer="t", name="transform", type="s", engine="pandas", value="SELECT 1",
             inputs={"in": "raw"}, outputs={"out": "clean"}),
    ]

    context = create_engine_context("pandas")
    tracker = Tracker()
    events = EventEmitter()

    orch_seq = Orchestrator(steps, context, tracker, events, parallel=False)

    orch_par = Orchestrator(steps, context, tracker, events, parallel=True)

    assert isinstance(orch_seq, Orchestrator)
    assert isinstance(orch_par, Orchestrator)


# ---- Level 3 examples, with a real pipeline under them ----------------------------------
@pytest.fixture
def steps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"customer_id": [1, 2, 3, 4], "name": ["Alice", "Bob", "Cy", "Di"],
                  "active": [1, 0, 1, 1]}).to_csv("customers.csv", index=False)
    return [
        Step(layer="ingest", name="read_customers", type="config_op", engine="pandas",
             value="customers.csv", outputs={"data": "raw_customers"}),
        Step(layer="transform", name="filter_customers", type="sql", engine="pandas",
             value="SELECT customer_id, name FROM customers WHERE active = 1",
             inputs={"customers": "raw_customers"}, outputs={"data": "active_customers"}),
    ]


def test_level3_using_tracker_and_example_1(steps, capsys):
    from odibi_core.orchestrator import Orchestrator

    orchestrator = Orchestrator(
        steps=steps,
        engine_type="pandas",
        enable_tracker=True  # ← Enable Tracker
    )

    result = orchestrator.execute()

    # Access Tracker
    tracker = result['tracker']

    # Export lineage
    tracker.export_lineage("lineage_output.json")

    # Get execution summary
    print(f"Total steps: {len(tracker.step_executions)}")
    for step_exec in tracker.step_executions:
        print(f"{step_exec.step_name}: {step_exec.duration_ms}ms, {step_exec.row_delta} rows")

    for step_exec in tracker.step_executions:
        if step_exec.step_name == "filter_customers":
            print(f"Before: {step_exec.before_snapshot.row_count} rows")
            print(f"After: {step_exec.after_snapshot.row_count} rows")
            print(f"Rows removed: {step_exec.before_snapshot.row_count - step_exec.after_snapshot.row_count}")
            print(f"Schema diff: {step_exec.schema_diff}")

    out = capsys.readouterr().out
    assert "Total steps: 2" in out
    assert "Before: 4 rows" in out and "After: 3 rows" in out and "Rows removed: 1" in out


def test_level3_registering_hooks_and_error_alert(steps, capsys):
    from odibi_core.event_bus import EventBus, EventPriority
    from odibi_core.orchestrator import Orchestrator

    event_bus = EventBus()

    def send_slack_alert(event_data):
        print(f"[SLACK] Pipeline started: {event_data['pipeline_name']}")

    def log_node_completion(event_data):
        print(f"[LOG] Node {event_data['step_name']} completed in {event_data['duration_ms']}ms")

    event_bus.register_hook(event_type="pipeline_start", hook_func=send_slack_alert, priority=EventPriority.HIGH)
    event_bus.register_hook(event_type="node_complete", hook_func=log_node_completion,
                            priority=EventPriority.MEDIUM)

    def error_alert_hook(event_data):
        step_name = event_data['step_name']
        error_msg = event_data['error_message']
        print("ERROR ALERT")
        print(f"Step '{step_name}' failed: {error_msg}")

    event_bus.register_hook("node_error", error_alert_hook, priority=EventPriority.CRITICAL)

    orchestrator = Orchestrator(steps=steps, engine_type="pandas", event_bus=event_bus)
    result = orchestrator.execute()
    assert result["success"]
    out = capsys.readouterr().out
    assert "[SLACK] Pipeline started: pipeline" in out
    assert "[LOG] Node filter_customers completed in" in out

    steps[1].value = "SELECT missing_column FROM customers"
    result = Orchestrator(steps=steps, engine_type="pandas", event_bus=event_bus).execute()
    assert not result["success"] and result["failed_nodes"] == ["filter_customers"]
    assert "Step 'filter_customers' failed:" in capsys.readouterr().out


def test_level3_example_3_export_and_read_lineage(steps, capsys):
    from odibi_core.orchestrator import Orchestrator

    orchestrator = Orchestrator(steps=steps, engine_type="pandas", enable_tracker=True)
    result = orchestrator.execute()

    result['tracker'].export_lineage("pipeline_lineage.json")

    with open("pipeline_lineage.json") as f:
        lineage = json.load(f)

    print(f"Pipeline: {lineage['pipeline_name']}")
    print(f"Total duration: {lineage['total_duration_ms']}ms")
    for step in lineage['steps']:
        print(f"  - {step['step_name']}: {step['duration_ms']}ms, {step['row_delta']} rows")

    out = capsys.readouterr().out
    assert "Pipeline: pipeline" in out
    assert "- read_customers:" in out and "- filter_customers:" in out and "-1 rows" in out
