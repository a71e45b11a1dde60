"""The orchestrator and its executor on the pandas engine: data flow, node types, failures,
events, tracking, and parallel runs equal to sequential ones."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pandas as pd
import pytest

from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    EventEmitter,
    NodeState,
    OrchestrationResult,
    Orchestrator,
    Step,
    Tracker,
    create_engine_context,
)
from odibi_core.errors import PipelineError, ValidationError
from odibi_core.functions import register_function, unregister_function


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    pd.DataFrame({
        "order_id": [1, 2, 3, 4, 5],
        "customer": ["ana", "bo", "ana", "cy", "bo"],
        "amount": [10.0, 25.5, 7.5, 100.0, 4.0],
    }).to_csv(path, index=False)
    return path


def pipeline(csv, out) -> list[Step]:
    return [
        Step("ingest", "read_orders", "config_op", "pandas", str(csv), outputs={"data": "raw_orders"}),
        Step("transform", "by_customer", "sql", "pandas",
             "SELECT customer, SUM(amount) AS total, COUNT(*) AS orders FROM orders GROUP BY customer ORDER BY customer",
             inputs={"orders": "raw_orders"}, outputs={"data": "totals"}),
        Step("store", "save_totals", "config_op", "pandas", str(out), inputs={"data": "totals"}),
    ]


def test_csv_to_sql_to_parquet_both_styles(orders_csv, tmp_path) -> None:
    out = tmp_path / "out" / "totals.parquet"
    context = create_engine_context("pandas")
    result = Orchestrator(pipeline(orders_csv, out), context, Tracker(), EventEmitter()).run()
    assert isinstance(result, OrchestrationResult)
    assert result.success and result["success"] is True
    assert result.successful_nodes == ["by_customer", "read_orders", "save_totals"]
    totals = result.data_map["totals"]
    assert totals.to_dict("records") == [
        {"customer": "ana", "total": 17.5, "orders": 2},
        {"customer": "bo", "total": 29.5, "orders": 2},
        {"customer": "cy", "total": 100.0, "orders": 1},
    ]
    assert pd.read_parquet(out).equals(totals)

    second = Orchestrator(steps=pipeline(orders_csv, tmp_path / "again.parquet"), engine_type="pandas",
                          enable_tracker=True).execute()
    assert second["success"] and second["failed_nodes"] == []
    assert len(second["tracker"].step_executions) == 3
    assert "success" in second and second.get("nope", 7) == 7
    with pytest.raises(KeyError, match="has"):
        second["nope"]


def test_function_transform_calls_the_registered_function(orders_csv) -> None:
    seen = {}

    @register_function("add_tax", replace=True)
    def add_tax(orders, *, rate):
        seen["rate"] = rate
        return orders.assign(with_tax=orders["amount"] * (1 + rate))

    try:
        steps = [
            Step("ingest", "read", "config_op", "pandas", str(orders_csv), outputs={"data": "raw"}),
            Step("transform", "tax", "function", "pandas", "add_tax", params={"args": {"rate": 0.5}},
                 inputs={"orders": "raw"}, outputs={"data": "taxed"}),
        ]
        result = Orchestrator(steps=steps, engine_type="pandas").execute()
    finally:
        unregister_function("add_tax")
    assert result.success, result.errors
    assert seen == {"rate": 0.5}
    assert result.data_map["taxed"]["with_tax"].tolist() == [15.0, 38.25, 11.25, 150.0, 6.0]


def test_unknown_function_names_the_step_and_the_registry(orders_csv) -> None:
    steps = [
        Step("ingest", "read", "config_op", "pandas", str(orders_csv), outputs={"data": "raw"}),
        Step("transform", "tax", "function", "pandas", "no_such_fn", inputs={"orders": "raw"},
             outputs={"data": "taxed"}),
    ]
    result = Orchestrator(steps=steps, engine_type="pandas").execute()
    assert not result.success and result.failed_nodes == ["tax"]
    assert "no function registered as 'no_such_fn'" in result.errors["tax"]


def _branches(csv, bad_sql: str) -> list[Step]:
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"data": "raw"}),
        Step("transform", "bad", "sql", "pandas", bad_sql, inputs={"t": "raw"}, outputs={"data": "bad_out"}),
        Step("transform", "after_bad", "sql", "pandas", "SELECT * FROM t", inputs={"t": "bad_out"},
             outputs={"data": "after"}),
        Step("transform", "good", "sql", "pandas", "SELECT COUNT(*) AS n FROM t", inputs={"t": "raw"},
             outputs={"data": "good_out"}),
    ]


def test_fail_fast_stops_and_continue_finishes_independent_branches(orders_csv) -> None:
    steps = _branches(orders_csv, "SELECT no_such_column FROM t")
    fast = Orchestrator(steps=steps, engine_type="pandas", fail_fast=True).execute()
    assert not fast.success
    assert fast.failed_nodes == ["bad"]
    assert "no_such_column" in fast.errors["bad"]
    assert fast.skipped_nodes == ["after_bad", "good"]  # 'good' sorts after 'bad', never started

    cont = Orchestrator(steps=steps, engine_type="pandas", fail_fast=False).execute()
    assert cont.failed_nodes == ["bad"]
    assert cont.successful_nodes == ["good", "read"]
    assert cont.skipped_nodes == ["after_bad"]
    assert cont.node_results["after_bad"].reason == "upstream step 'bad' failed"
    assert int(cont.data_map["good_out"]["n"][0]) == 5
    with pytest.raises(PipelineError, match="bad"):
        cont.raise_for_failure()


def test_invalid_config_raises_before_running(orders_csv) -> None:
    steps = pipeline(orders_csv, "x.parquet")
    steps[1].inputs = {"orders": "typo"}
    with pytest.raises(ValidationError, match="typo"):
        Orchestrator(steps=steps, engine_type="pandas").execute()


def test_engine_mismatch_is_a_step_error(orders_csv) -> None:
    steps = [Step("ingest", "read", "config_op", "spark", str(orders_csv), outputs={"data": "raw"})]
    result = Orchestrator(steps, create_engine_context("pandas")).run()
    assert "step is for the 'spark' engine but this run uses 'pandas'" in result.errors["read"]


def test_events_fire_with_payloads_and_bad_hooks_are_isolated(orders_csv, tmp_path) -> None:
    seen: list[tuple[str, dict]] = []
    bus = EventEmitter()
    for name in ("pipeline_start", "pipeline_complete", "node_start", "node_complete"):
        bus.on(name, lambda data, name=name: seen.append((name, data)))
    bus.on("node_start", lambda data: 1 / 0)  # isolated: logged, the run goes on
    result = Orchestrator(steps=pipeline(orders_csv, tmp_path / "t.parquet"), engine_type="pandas",
                          event_bus=bus).execute()
    assert result.success
    names = [n for n, _ in seen]
    assert names[0] == "pipeline_start" and names[-1] == "pipeline_complete"
    assert names.count("node_start") == names.count("node_complete") == 3
    complete = next(d for n, d in seen if n == "node_complete" and d["step_name"] == "by_customer")
    assert complete["row_count"] == 3 and complete["status"] == "SUCCESS" and complete["duration_ms"] >= 0
    assert seen[0][1]["total_steps"] == 3


def test_error_events_and_strict_hooks(orders_csv) -> None:
    errors = []
    bus = EventEmitter()
    bus.on("node_error", errors.append)
    bus.on("pipeline_error", errors.append)
    Orchestrator(steps=_branches(orders_csv, "SELEC oops"), engine_type="pandas", events=bus).run()
    assert [e["event"] for e in errors] == ["node_error", "pipeline_error"]
    assert errors[0]["step_name"] == "bad"
    assert "syntax error" in errors[0]["error_message"].lower(), errors[0]["error_message"]
    assert errors[1]["failed_step"] == "bad"

    strict = EventEmitter()
    strict.on("pipeline_start", lambda data: 1 / 0, strict=True)
    with pytest.raises(ZeroDivisionError):
        Orchestrator(steps=_branches(orders_csv, "SELECT 1"), engine_type="pandas", events=strict).run()


def test_tracker_records_snapshots_and_schema_diff(orders_csv, tmp_path) -> None:
    result = Orchestrator(steps=pipeline(orders_csv, tmp_path / "t.parquet"), engine_type="pandas").execute()
    by_name = {e.step_name: e for e in result.tracker.step_executions}
    agg = by_name["by_customer"]
    assert (agg.before_snapshot.row_count, agg.after_snapshot.row_count, agg.row_delta) == (5, 3, -2)
    assert set(agg.schema_diff["added"]) == {"total", "orders"}
    assert set(agg.schema_diff["removed"]) == {"order_id", "amount"}
    sink = by_name["save_totals"]  # a store step writes its input unchanged
    assert sink.row_delta == 0 and not sink.schema_diff.has_changes
    assert sink.after_snapshot.row_count == 3
    lineage = json.loads(result.tracker.export_lineage(tmp_path / "lineage.json").read_text())
    assert [s["step_name"] for s in lineage["steps"]] == ["read_orders", "by_customer", "save_totals"]


def test_connect_store_and_ingest_through_sqlite(orders_csv, tmp_path) -> None:
    db = tmp_path / "warehouse.db"
    steps = [
        Step("connect", "warehouse", "config_op", "pandas", str(db), outputs={"conn": "wh"}),
        Step("ingest", "read", "config_op", "pandas", str(orders_csv), outputs={"data": "raw"}),
        Step("store", "save", "config_op", "pandas", "orders", inputs={"data": "raw", "conn": "wh"},
             outputs={"data": "saved"}),
        Step("ingest", "reload", "config_op", "pandas", "orders", inputs={"conn": "wh", "after": "saved"},
             outputs={"data": "reloaded"}),
    ]
    result = Orchestrator(steps=steps, engine_type="pandas").execute()
    assert result.success, result.errors
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 5
    assert result.data_map["reloaded"]["customer"].tolist() == ["ana", "bo", "ana", "cy", "bo"]


def test_publish_writes_a_manifest(orders_csv, tmp_path) -> None:
    target = tmp_path / "gold" / "orders.parquet"
    steps = [
        Step("ingest", "read", "config_op", "pandas", str(orders_csv), outputs={"data": "raw"}),
        Step("publish", "release", "config_op", "pandas", str(target), inputs={"data": "raw"}),
    ]
    assert Orchestrator(steps=steps, engine_type="pandas").execute().success
    manifest = json.loads((tmp_path / "gold" / "orders.parquet.manifest.json").read_text())
    assert manifest["rows"] == 5 and manifest["step"] == "release"
    assert "amount: float64" in manifest["columns"] and manifest["fingerprint"]


def test_external_inputs_come_from_the_initial_data_map() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3]})
    steps = [Step("transform", "double", "sql", "pandas", "SELECT x * 2 AS y FROM t", inputs={"t": "given"},
                  outputs={"data": "doubled"})]
    result = Orchestrator(steps=steps, engine_type="pandas", data_map={"given": frame}).execute()
    assert result.data_map["doubled"]["y"].tolist() == [2, 4, 6]


def _slow_fan(n: int) -> list[Step]:
    @register_function("slow_copy", replace=True)
    def slow_copy(t):
        time.sleep(0.2)
        return t.assign(thread=threading.current_thread().name)

    steps = [Step("transform", "seed", "sql", "pandas", "SELECT 1 AS x", outputs={"data": "seed"})]
    steps += [Step("transform", f"fan{i}", "function", "pandas", "slow_copy", inputs={"t": "seed"},
                   outputs={"data": f"f{i}"}) for i in range(n)]
    steps.append(Step("transform", "join", "sql", "pandas",
                      " UNION ALL ".join(f"SELECT x FROM t{i}" for i in range(n)),
                      inputs={f"t{i}": f"f{i}" for i in range(n)}, outputs={"data": "all"}))
    return steps


def test_parallel_equals_sequential_and_overlaps() -> None:
    try:
        steps = _slow_fan(4)
        seq = Orchestrator(steps=steps, engine_type="pandas").execute()
        par = Orchestrator(steps=steps, engine_type="pandas", parallel=True, max_workers=4).execute()
    finally:
        unregister_function("slow_copy")
    assert seq.success and par.success
    assert sorted(seq.data_map) == sorted(par.data_map)
    assert par.data_map["all"]["x"].tolist() == seq.data_map["all"]["x"].tolist() == [1, 1, 1, 1]
    threads = {par.data_map[f"f{i}"]["thread"][0] for i in range(4)}
    assert len(threads) > 1, "parallel mode should run the fan-out on several threads"
    assert par.stats["mode"] == "parallel" and seq.stats["mode"] == "sequential"


def test_no_deadlock_when_workers_are_fewer_than_waiting_nodes() -> None:
    """The seed's executor deadlocks here: every worker would hold a node waiting for a parent."""
    steps = [Step("transform", f"n{i}", "sql", "pandas", f"SELECT {i} AS v" + (" FROM p" if i else ""),
                  inputs={"p": f"k{i - 1}"} if i else {}, outputs={"data": f"k{i}"}) for i in range(8)]
    executor = DAGExecutor(DAGBuilder(steps).build(), create_engine_context("pandas"), max_workers=2)
    done = threading.Event()
    holder = {}
    worker = threading.Thread(target=lambda: (holder.update(dm=executor.execute()), done.set()), daemon=True)
    worker.start()
    assert done.wait(30), "the executor deadlocked"
    assert sorted(holder["dm"]) == [f"k{i}" for i in range(8)]
    assert all(r.state is NodeState.SUCCESS for r in executor.results.values())
    states = [s for s, _ in executor.results["n3"].transitions]
    assert states == [NodeState.PENDING, NodeState.READY, NodeState.RUNNING, NodeState.SUCCESS]


def test_a_given_trackers_pipeline_name_is_kept(orders_csv, tmp_path) -> None:
    tracker = Tracker(pipeline_name="sales")
    names = []
    bus = EventEmitter()
    bus.on("pipeline_start", lambda data: names.append(data["pipeline_name"]))
    Orchestrator(pipeline(orders_csv, tmp_path / "t.parquet"), create_engine_context("pandas"), tracker, bus).run()
    assert tracker.to_lineage()["pipeline_name"] == "sales" and names == ["sales"]
    named = Orchestrator(steps=pipeline(orders_csv, tmp_path / "u.parquet"), engine_type="pandas",
                         pipeline_name="nightly").execute()
    assert named.tracker.to_lineage()["pipeline_name"] == "nightly"
