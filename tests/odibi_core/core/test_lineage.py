"""Lineage as OpenLineage-style run events: one START and one terminal event per run,
datasets read and written with their schemas, the per-step run facet, attempts, and the
executor's node lifecycle."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from odibi_core import __version__
from odibi_core.core import NodeState, Orchestrator, Step, Tracker, create_engine_context
from odibi_core.core.tracker import LineageDataset


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    pd.DataFrame({
        "order_id": [1, 2, 3, 4],
        "customer": ["ana", "bo", "ana", "cy"],
        "amount": [10.0, 25.5, 7.5, 100.0],
    }).to_csv(path, index=False)
    return path


def pipeline(csv, out, sql="SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer") -> list[Step]:
    return [
        Step("ingest", "read_orders", "config_op", "pandas", str(csv), outputs={"data": "raw_orders"}),
        Step("transform", "by_customer", "sql", "pandas", sql, inputs={"orders": "raw_orders"},
             outputs={"data": "totals"}),
        Step("store", "save_totals", "config_op", "pandas", str(out), inputs={"data": "totals"}),
    ]


def exported(tracker: Tracker, tmp_path) -> dict:
    with open(tracker.export_lineage(tmp_path / "lineage.json")) as f:
        return json.load(f)


def event_types(lineage: dict) -> list[str]:
    return [e["eventType"] for e in lineage["run_events"]]


def fields(dataset: dict) -> list[tuple[str, str]]:
    return [(f["name"], f["type"]) for f in dataset["facets"]["schema"]["fields"]]


def test_successful_run_has_one_start_and_one_complete_event(orders_csv, tmp_path) -> None:
    out = tmp_path / "totals.parquet"
    result = Orchestrator(steps=pipeline(orders_csv, out), engine_type="pandas",
                          pipeline_name="orders").execute()
    assert result.success, result.errors
    lineage = exported(result.tracker, tmp_path)

    assert event_types(lineage) == ["START", "COMPLETE"]
    start, complete = lineage["run_events"]
    for event in (start, complete):
        assert event["run"]["runId"] == lineage["execution_id"]
        assert event["job"] == {"namespace": "odibi_core", "name": "orders"}
        assert event["producer"] == f"odibi_core/{__version__}"
        assert event["schemaURL"].endswith("OpenLineage.json#/$defs/RunEvent")
    assert (start["eventTime"], complete["eventTime"]) == (lineage["start_time"], lineage["end_time"])
    assert (start["inputs"], start["outputs"]) == ([], [])

    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("file", str(orders_csv))
    assert fields(source) == [("order_id", "int64"), ("customer", "str"), ("amount", "float64")]
    (target,) = complete["outputs"]
    assert (target["namespace"], target["name"]) == ("file", str(out))
    assert fields(target) == [("customer", "str"), ("total", "float64")]

    steps = complete["run"]["facets"]["odibi_steps"]["steps"]
    assert [(s["name"], s["state"], s["attempt"]) for s in steps] == [
        ("read_orders", "SUCCESS", 1), ("by_customer", "SUCCESS", 1), ("save_totals", "SUCCESS", 1)]
    assert all(s["start_time"] <= s["end_time"] and s["duration_ms"] >= 0 for s in steps)
    assert "errorMessage" not in complete["run"]["facets"]
    assert [s["attempt"] for s in lineage["steps"]] == [1, 1, 1]
    assert lineage["steps"][0]["source"] == {"namespace": "file", "name": str(orders_csv)}
    assert lineage["steps"][2]["target"] == {"namespace": "file", "name": str(out)}


def test_failed_step_ends_the_run_with_one_fail_event_naming_it(orders_csv, tmp_path) -> None:
    steps = pipeline(orders_csv, tmp_path / "never.parquet", sql="SELECT no_such_column FROM orders")
    result = Orchestrator(steps=steps, engine_type="pandas").execute()
    assert not result.success
    lineage = exported(result.tracker, tmp_path)

    assert event_types(lineage) == ["START", "FAIL"]
    fail = lineage["run_events"][1]
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"].startswith("step 'by_customer' failed: ")
    assert "no_such_column" in error["message"] and error["programmingLanguage"] == "python"
    states = {s["name"]: s["state"] for s in fail["run"]["facets"]["odibi_steps"]["steps"]}
    assert states == {"read_orders": "SUCCESS", "by_customer": "FAILED"}
    assert [d["name"] for d in fail["inputs"]] == [str(orders_csv)]
    assert fail["outputs"] == []  # the store step never ran, so nothing was written
    assert not (tmp_path / "never.parquet").exists()
    # the plan keeps the wiring of the step that never ran; the lifecycle says why
    assert lineage["plan"]["save_totals"] == {"layer": "store", "inputs": {"data": "totals"},
                                              "outputs": {}}
    assert lineage["nodes"]["save_totals"]["state"] == "SKIPPED"


def test_second_start_pipeline_keeps_only_the_second_runs_events(tmp_path) -> None:
    tracker, context = Tracker(pipeline_name="first"), create_engine_context("pandas")
    read = Step("ingest", "read", "config_op", "pandas", "a.csv", outputs={"data": "a"})
    tracker.start_pipeline()
    tracker.end_step(tracker.start_step(read, context, {}), {"data": pd.DataFrame({"x": [1]})})
    tracker.end_pipeline(success=True)
    first_id = tracker.execution_id
    assert event_types(tracker.to_lineage()) == ["START", "COMPLETE"]

    tracker.start_pipeline("second")
    running = tracker.to_lineage()
    assert event_types(running) == ["START"]  # no terminal event before the run ends
    failing = tracker.start_step(read, context, {})
    tracker.fail_step(failing, "disk gone")
    tracker.end_pipeline(success=False)

    lineage = exported(tracker, tmp_path)
    assert event_types(lineage) == ["START", "FAIL"]
    assert {e["run"]["runId"] for e in lineage["run_events"]} == {tracker.execution_id} != {first_id}
    assert {e["job"]["name"] for e in lineage["run_events"]} == {"second"}
    fail = lineage["run_events"][1]
    assert fail["run"]["facets"]["errorMessage"]["message"] == "step 'read' failed: disk gone"
    assert [s["state"] for s in fail["run"]["facets"]["odibi_steps"]["steps"]] == ["FAILED"]
    # a read that failed still names its source, without a schema (no frame was read)
    assert fail["inputs"] == [{"namespace": "file", "name": "a.csv", "facets": {}}]


def test_a_tracker_reused_by_two_runs_reports_the_latest_run(orders_csv, tmp_path) -> None:
    tracker = Tracker()
    first = Orchestrator(steps=pipeline(orders_csv, tmp_path / "1.parquet"), engine_type="pandas",
                         tracker=tracker).execute()
    first_id = first.tracker.execution_id
    Orchestrator(steps=pipeline(orders_csv, tmp_path / "2.parquet"), engine_type="pandas",
                 tracker=tracker).execute()
    lineage = exported(tracker, tmp_path)
    assert event_types(lineage) == ["START", "COMPLETE"]
    assert lineage["execution_id"] != first_id
    assert [d["name"] for d in lineage["run_events"][1]["outputs"]] == [str(tmp_path / "2.parquet")]
    assert len(lineage["steps"]) == 3


def test_external_keys_and_sqlite_tables_are_datasets(orders_csv, tmp_path) -> None:
    db = tmp_path / "warehouse.db"
    steps = [
        Step("connect", "warehouse", "config_op", "pandas", str(db), outputs={"conn": "wh"}),
        Step("transform", "big", "sql", "pandas", "SELECT * FROM given WHERE x > 1",
             inputs={"given": "from_outside"}, outputs={"data": "big"}),
        Step("store", "save", "config_op", "pandas", "big_rows", inputs={"data": "big", "conn": "wh"}),
    ]
    given = pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]})
    result = Orchestrator(steps=steps, engine_type="pandas", data_map={"from_outside": given}).execute()
    assert result.success, result.errors
    complete = result.tracker.to_lineage()["run_events"][1]
    (external,) = complete["inputs"]
    assert (external["namespace"], external["name"]) == ("odibi_core.data_map", "from_outside")
    assert fields(external) == [("x", "int64"), ("label", "str")]
    (table,) = complete["outputs"]
    assert (table["namespace"], table["name"]) == (f"sqlite:{db}", "big_rows")
    assert fields(table) == [("x", "int64"), ("label", "str")]


def test_dataset_of_a_step() -> None:
    conns = {"wh": "/data/w.db", "lake": "/data/lake"}
    def of(step: Step) -> LineageDataset | None:
        return LineageDataset.for_step(step, conns)

    assert of(Step("ingest", "r", "config", "pandas", "x.csv")) == LineageDataset("file", "x.csv")
    assert of(Step("ingest", "r", "config_op", "pandas", "db.sqlite", params={"table": "t"})) == \
        LineageDataset("sqlite:db.sqlite", "t")
    assert of(Step("ingest", "r", "config_op", "pandas", "t", inputs={"c": "wh"})) == \
        LineageDataset("sqlite:/data/w.db", "t")
    assert of(Step("publish", "p", "config_op", "pandas", "o.csv", inputs={"c": "lake"})) == \
        LineageDataset("file", "/data/lake/o.csv")
    assert of(Step("transform", "t", "sql", "pandas", "SELECT 1")) is None


def test_each_attempt_is_its_own_record() -> None:
    tracker, context = Tracker(), create_engine_context("pandas")
    flaky = Step("ingest", "flaky", "config_op", "pandas", "remote.csv", outputs={"data": "d"})
    tracker.start_pipeline("retries")
    tracker.fail_step(tracker.start_step(flaky, context, {}), "ConnectionError: reset")
    second = tracker.start_step(flaky, context, {}, attempt=2)
    tracker.end_step(second, {"data": pd.DataFrame({"x": [1]})})
    tracker.end_pipeline(success=True)
    assert [e.attempt for e in tracker.step_executions] == [1, 2]
    assert second.to_dict()["attempt"] == 2
    complete = tracker.to_lineage()["run_events"][-1]
    assert [(s["name"], s["state"], s["attempt"]) for s in complete["run"]["facets"]["odibi_steps"]["steps"]] \
        == [("flaky", "FAILED", 1), ("flaky", "SUCCESS", 2)]
    assert complete["eventType"] == "COMPLETE" and "errorMessage" not in complete["run"]["facets"]
    assert fields(complete["inputs"][0]) == [("x", "int64")]  # the schema of the read that worked
    with pytest.raises(ValueError, match="attempt counts from 1"):
        tracker.start_step(flaky, context, {}, attempt=0)


def test_lifecycle_from_executor_results(orders_csv, tmp_path) -> None:
    steps = pipeline(orders_csv, tmp_path / "x.parquet", sql="SELECT nope FROM orders")
    result = Orchestrator(steps=steps, engine_type="pandas").execute()
    assert Tracker().to_lineage()["nodes"] == {}  # safe when never recorded
    tracker = result.tracker
    tracker.record_lifecycle(result.node_results)  # the orchestrator may have done it too: same data
    nodes = tracker.to_lineage()["nodes"]
    assert {n: r["state"] for n, r in nodes.items()} == {
        "read_orders": "SUCCESS", "by_customer": "FAILED", "save_totals": "SKIPPED"}
    assert "nope" in nodes["by_customer"]["error"] and nodes["by_customer"]["attempts"] >= 1
    assert "by_customer" in nodes["save_totals"]["reason"] and nodes["save_totals"]["attempts"] == 0
    states = [t["state"] for t in nodes["read_orders"]["transitions"]]
    assert states[0] == "PENDING" and states[-1] == "SUCCESS" and "RUNNING" in states
    times = [t["at_ms"] for n in nodes.values() for t in n["transitions"]]
    assert min(times) == 0.0
    for record in nodes.values():
        at = [t["at_ms"] for t in record["transitions"]]
        assert at == sorted(at)
    json.dumps(nodes)  # plain data
    tracker.start_pipeline()
    assert tracker.lifecycle == {} and tracker.to_lineage()["nodes"] == {}


def test_a_node_failing_before_its_record_is_named_in_the_error() -> None:
    tracker = Tracker()
    tracker.start_pipeline("p")
    result = SimpleNamespace(node_name="wrong_engine", state=NodeState.FAILED, attempts=1, cached=False,
                             duration_ms=1.0, error="step is for the 'spark' engine", reason="",
                             transitions=[(NodeState.PENDING, 10.0), (NodeState.RUNNING, 10.5),
                                          (NodeState.FAILED, 11.0)])
    tracker.record_lifecycle({"wrong_engine": result})
    tracker.end_pipeline(success=False)
    lineage = tracker.to_lineage()
    assert [t["at_ms"] for t in lineage["nodes"]["wrong_engine"]["transitions"]] == [0.0, 500.0, 1000.0]
    message = lineage["run_events"][1]["run"]["facets"]["errorMessage"]["message"]
    assert message == "step 'wrong_engine' failed: step is for the 'spark' engine"
