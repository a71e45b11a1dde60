"""The content-addressed cache inside runs: hits on unchanged steps, misses on any change to
data, source files, SQL or function code; sinks always run."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pandas as pd
import pytest

from odibi_core.core import EventEmitter, NodeState, Orchestrator, Step
from odibi_core.functions import register_function, unregister_function


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ODIBI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "sales.csv"
    pd.DataFrame({"region": ["n", "s", "n", "e"], "amount": [10, 20, 30, 40]}).to_csv(path, index=False)
    return path


def steps(csv, out, sql="SELECT region, SUM(amount) AS total FROM sales GROUP BY region ORDER BY region"):
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"d": "raw"}),
        Step("transform", "totals", "sql", "pandas", sql, inputs={"sales": "raw"}, outputs={"d": "totals"}),
        Step("store", "save", "config_op", "pandas", str(out), inputs={"d": "totals"}),
    ]


def run(pipeline, **options):
    return Orchestrator(steps=pipeline, engine_type="pandas", use_cache=True, **options).execute()


def test_second_run_hits_and_sinks_still_run(csv, tmp_path) -> None:
    out = tmp_path / "totals.parquet"
    first = run(steps(csv, out))
    assert first.stats["cache_hits"] == 0
    out.unlink()
    events = []
    bus = EventEmitter()
    bus.on("node_cached", events.append)
    second = run(steps(csv, out), event_bus=bus)
    assert second.success and second.stats["cache_hits"] == 2
    assert second.node_results["read"].state is NodeState.CACHED
    assert second.node_results["save"].state is NodeState.SUCCESS  # a sink is never skipped
    assert out.is_file(), "the store step must run even when its input came from the cache"
    assert sorted(e["step_name"] for e in events) == ["read", "totals"]
    assert second.data_map["totals"].equals(first.data_map["totals"])
    statuses = {e.step_name: str(e.status) for e in second.tracker.step_executions}
    assert statuses == {"read": "CACHED", "totals": "CACHED", "save": "SUCCESS"}


def test_editing_the_source_file_misses(csv, tmp_path) -> None:
    out = tmp_path / "t.parquet"
    run(steps(csv, out))
    pd.DataFrame({"region": ["n"], "amount": [99]}).to_csv(csv, index=False)
    stat = csv.stat()
    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = run(steps(csv, out))
    assert again.stats["cache_hits"] == 0, "a changed CSV must not be served from the cache"
    assert again.data_map["totals"]["total"].tolist() == [99]


def test_changed_sql_misses_only_from_that_step_on(csv, tmp_path) -> None:
    out = tmp_path / "t.parquet"
    run(steps(csv, out))
    changed = run(steps(csv, out, sql="SELECT region, MAX(amount) AS total FROM sales GROUP BY region ORDER BY region"))
    assert changed.node_results["read"].cached and not changed.node_results["totals"].cached
    assert changed.data_map["totals"]["total"].tolist() == [40, 30, 20]


def test_changed_function_code_misses(csv, tmp_path) -> None:
    def pipeline():
        return [Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"d": "raw"}),
                Step("transform", "scale", "function", "pandas", "scale", inputs={"t": "raw"},
                     outputs={"d": "scaled"})]

    try:
        @register_function("scale", replace=True)
        def scale(t):
            return t.assign(amount=t["amount"] * 2)

        assert run(pipeline()).data_map["scaled"]["amount"].tolist() == [20, 40, 60, 80]
        assert run(pipeline()).node_results["scale"].cached

        @register_function("scale", replace=True)
        def scale(t):  # noqa: F811 - a new version of the same function
            return t.assign(amount=t["amount"] * 3)

        rerun = run(pipeline())
        assert not rerun.node_results["scale"].cached
        assert rerun.data_map["scaled"]["amount"].tolist() == [30, 60, 90, 120]
    finally:
        unregister_function("scale")


def test_cache_off_by_default(csv, tmp_path) -> None:
    Orchestrator(steps=steps(csv, tmp_path / "a.parquet"), engine_type="pandas").execute()
    again = Orchestrator(steps=steps(csv, tmp_path / "a.parquet"), engine_type="pandas").execute()
    assert again.stats["cache_hits"] == 0
    assert not (tmp_path / "cache").exists()


def test_phase5_mission7_checkpoint(csv, tmp_path, monkeypatch, capsys) -> None:
    """The seed's checkpoint code, unchanged, on a config.db built here."""
    monkeypatch.chdir(tmp_path)
    rows = [(s.layer, s.name, s.type, s.engine, s.value, json.dumps(s.params), json.dumps(s.inputs),
             json.dumps(s.outputs), json.dumps(s.metadata), order)
            for order, s in enumerate(steps(csv, tmp_path / "out.parquet"), start=1)]
    with sqlite3.connect("config.db") as db:
        db.execute("CREATE TABLE transformation_config (Layer, StepName, StepType, Engine, Value, Params,"
                   " Inputs, Outputs, Metadata, execution_order INTEGER)")
        db.executemany("INSERT INTO transformation_config VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    from odibi_core.core import (
        ConfigLoader,
        EventEmitter,
        Orchestrator,
        Tracker,
        create_engine_context,
    )

    loader = ConfigLoader()
    steps_ = loader.load("config.db")

    context = create_engine_context("pandas")
    tracker = Tracker()
    events = EventEmitter()

    orch_seq = Orchestrator(steps_, context, tracker, events, parallel=False)
    result_seq = orch_seq.run()

    orch_par = Orchestrator(steps_, context, tracker, events, parallel=True, use_cache=True)
    result_par = orch_par.run()

    print(f"Sequential: {result_seq.duration_ms}ms")
    print(f"Parallel: {result_par.duration_ms}ms, cache hits: {result_par.stats.get('cache_hits', 0)}")

    assert result_seq.success and result_par.success
    assert "cache hits: 0" in capsys.readouterr().out
    time.sleep(0.01)
    assert Orchestrator(steps_, context, tracker, events, parallel=True, use_cache=True).run().stats["cache_hits"] == 2
