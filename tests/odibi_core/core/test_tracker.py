"""The Tracker against a tiny in-memory engine: snapshots, schema diffs, failures,
parallel records, exact durations and the lineage JSON of the Level 3 guide."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from odibi_core.core import Step, Tracker
from odibi_core.core.tracker import SchemaDiff, StepStatus
from odibi_core.engine.base import Snapshot
from odibi_core.engine.pandas_context import PandasEngineContext


@dataclass
class FakeFrame:
    """A frame as a schema plus rows of dicts."""

    schema: tuple[tuple[str, str], ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


def frame(schema: dict[str, str], n: int) -> FakeFrame:
    rows = [{col: (i if dtype.startswith("int") else f"{col}{i}") for col, dtype in schema.items()}
            for i in range(n)]
    return FakeFrame(tuple(schema.items()), rows)


class FakeContext:
    """Just what the Tracker uses of an EngineContext: ``name`` and ``snapshot``.

    Counts rows unless ``count`` is False (a Spark-like engine that was not asked);
    ``greedy`` ignores ``sample_rows`` to check that the Tracker bounds samples itself."""

    name = "pandas"
    cheap_counts = True

    def __init__(self, greedy: bool = False) -> None:
        self.greedy = greedy
        self.calls: list[tuple[int, bool | None]] = []
        self._lock = threading.Lock()

    def snapshot(self, frame: FakeFrame, *, sample_rows: int = 5, count: bool | None = None) -> Snapshot:
        with self._lock:
            self.calls.append((sample_rows, count))
        rows = frame.rows if self.greedy else frame.rows[:sample_rows]
        return Snapshot(schema=frame.schema, row_count=None if count is False else len(frame.rows),
                        sample=tuple(dict(r) for r in rows))


class FakeClock:
    """A monotonic clock and a wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.wall = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)

    def monotonic(self) -> float:
        return self.now

    def utc(self) -> dt.datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += dt.timedelta(seconds=seconds)


ORDERS = {"order_id": "int64", "customer": "object", "amount": "int64"}


def step(name: str, layer: str = "transform", inputs: dict[str, str] | None = None,
         outputs: dict[str, str] | None = None) -> Step:
    return Step(layer, name, "sql", "pandas", "SELECT 1", inputs=inputs or {}, outputs=outputs or {})


def test_filter_step_records_before_after_snapshots_and_row_delta() -> None:
    tracker, ctx = Tracker(), FakeContext()
    filt = step("filter_customers", inputs={"orders": "raw"}, outputs={"data": "big"})
    execution = tracker.start_step(filt, ctx, {"orders": frame(ORDERS, 6)})
    assert execution.status == StepStatus.RUNNING and execution.after_snapshot is None
    tracker.end_step(execution, {"data": frame(ORDERS, 2)})

    (recorded,) = tracker.step_executions
    assert recorded is execution
    assert (recorded.step_name, recorded.layer, recorded.engine) == ("filter_customers", "transform", "pandas")
    assert (recorded.inputs, recorded.outputs) == ({"orders": "raw"}, {"data": "big"})
    # Example 1 of the guide
    assert recorded.before_snapshot.row_count == 6 and recorded.after_snapshot.row_count == 2
    assert recorded.before_snapshot.row_count - recorded.after_snapshot.row_count == 4
    assert recorded.row_delta == -4 and recorded.status == "SUCCESS"
    assert not recorded.schema_diff.has_changes
    assert recorded.schema_diff == {"added": (), "removed": (), "changed": ()}
    assert recorded.after_snapshot.columns == ["order_id", "customer", "amount"]


def test_schema_diff_reports_added_removed_and_type_changed_columns() -> None:
    tracker, ctx = Tracker(), FakeContext()
    execution = tracker.start_step(step("reshape"), ctx, {"data": frame(ORDERS, 3)})
    after = frame({"order_id": "int64", "amount": "float64", "total": "float64"}, 3)
    diff = tracker.end_step(execution, {"data": after}).schema_diff

    assert isinstance(diff, SchemaDiff)
    assert diff.added == ("total",)
    assert diff.removed == ("customer",)
    assert diff.changed == (("amount", "int64", "float64"),)
    assert diff["added"] == ("total",) and set(diff) == {"added", "removed", "changed"}
    assert dataclasses.asdict(diff)["removed"] == ("customer",)
    assert diff.to_dict() == {"added": ["total"], "removed": ["customer"],
                              "changed": [["amount", "int64", "float64"]]}
    with pytest.raises(KeyError, match="nope"):
        diff["nope"]


def test_step_without_input_starts_from_an_empty_snapshot() -> None:
    tracker = Tracker()
    read = step("read_customers", layer="ingestion", outputs={"data": "customers"})
    execution = tracker.end_step(tracker.start_step(read, FakeContext(), {}),
                                 {"data": frame({"customer_id": "int64", "name": "object"}, 4)})
    assert execution.layer == "ingest"
    assert execution.before_snapshot.to_dict() == {"schema": [], "row_count": 0, "sample": []}
    assert execution.schema_diff["added"] == ("customer_id", "name")
    assert execution.row_delta == 4


def test_several_inputs_are_snapshotted_by_logical_name_first_one_is_before() -> None:
    tracker, ctx = Tracker(), FakeContext()
    join = step("join", inputs={"orders": "raw_orders", "customers": "raw_customers"})
    inputs = {"orders": frame(ORDERS, 5), "customers": frame({"customer": "object"}, 3)}
    execution = tracker.start_step(join, ctx, inputs)
    assert list(execution.input_snapshots) == ["orders", "customers"]
    assert execution.input_snapshots["customers"].row_count == 3
    assert execution.before_snapshot == execution.input_snapshots["orders"]
    tracker.end_step(execution, {"data": frame(ORDERS, 5), "rejects": frame(ORDERS, 1)})
    assert execution.after_snapshot.row_count == 5 and execution.output_snapshots["rejects"].row_count == 1
    assert execution.row_delta == 0


def test_samples_are_bounded_and_counting_is_left_to_the_setting() -> None:
    ctx = FakeContext()
    tracker = Tracker(sample_rows=2, count_rows=False)
    execution = tracker.start_step(step("s"), ctx, {"data": frame(ORDERS, 10)})
    tracker.end_step(execution, {"data": frame(ORDERS, 10)})
    assert ctx.calls == [(2, False), (2, False)]
    assert [r["order_id"] for r in execution.before_snapshot.sample] == [0, 1]
    # not counted (as on Spark unless asked): no row count, so no row delta either
    assert execution.after_snapshot.row_count is None and execution.row_delta is None

    greedy = Tracker(sample_rows=3).start_step(step("g"), FakeContext(greedy=True), {"d": frame(ORDERS, 10)})
    assert len(greedy.before_snapshot.sample) == 3 and greedy.before_snapshot.row_count == 10


def test_failed_step_keeps_error_and_duration() -> None:
    clock = FakeClock()
    tracker = Tracker(clock=clock.monotonic, wall_clock=clock.utc)
    execution = tracker.start_step(step("explode", inputs={"d": "raw"}), FakeContext(), {"d": frame(ORDERS, 2)})
    clock.advance(0.5)
    tracker.fail_step(execution, ValueError("boom"))
    assert execution.status == StepStatus.FAILED and execution.error == "ValueError: boom"
    assert execution.duration_ms == 500.0 and execution.end_time == "2024-05-01T12:00:00.500000+00:00"
    assert execution.after_snapshot is None and execution.row_delta is None
    assert tracker.summary()["status_counts"] == {"FAILED": 1}
    with pytest.raises(ValueError, match="fail_step"):
        tracker.end_step(execution, {}, status="FAILED")


def test_cache_hits_are_recorded_as_cached() -> None:
    tracker, ctx = Tracker(), FakeContext()
    tracker.end_step(tracker.start_step(step("a"), ctx, {}), {"data": frame(ORDERS, 3)})
    tracker.end_step(tracker.start_step(step("b"), ctx, {"d": frame(ORDERS, 3)}),
                     {"data": frame(ORDERS, 3)}, status="CACHED")
    hit = tracker.record_cached(step("c"), ctx, {"data": frame(ORDERS, 7)})
    assert hit.status == StepStatus.CACHED and hit.after_snapshot.row_count == 7
    summary = tracker.summary()
    assert summary["status_counts"] == {"SUCCESS": 1, "CACHED": 2}
    assert summary["total_steps"] == 3


def test_parallel_steps_get_one_record_each_without_mixing() -> None:
    tracker, ctx = Tracker(), FakeContext()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            name = f"step_{i}"
            execution = tracker.start_step(step(name, inputs={"d": f"in_{i}"}), ctx,
                                           {"d": frame({f"in_{i}": "int64"}, i + 1)})
            barrier.wait(timeout=10)  # every step has started before any ends
            tracker.end_step(execution, {"data": frame({f"out_{i}": "int64"}, 2 * (i + 1))})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []

    executions = tracker.step_executions
    assert len(executions) == 8
    assert sorted(e.step_name for e in executions) == sorted(f"step_{i}" for i in range(8))
    for e in executions:
        i = int(e.step_name.split("_")[1])
        assert e.inputs == {"d": f"in_{i}"}
        assert e.before_snapshot.columns == [f"in_{i}"] and e.after_snapshot.columns == [f"out_{i}"]
        assert (e.before_snapshot.row_count, e.row_delta) == (i + 1, i + 1)
        assert e.schema_diff.to_dict() == {"added": [f"out_{i}"], "removed": [f"in_{i}"], "changed": []}
        assert e.status == "SUCCESS"


def test_durations_come_from_the_injected_clock_exactly() -> None:
    clock = FakeClock()
    tracker = Tracker(clock=clock.monotonic, wall_clock=clock.utc)
    tracker.start_pipeline("orders")
    clock.advance(0.5)
    a = tracker.start_step(step("a"), FakeContext(), {})
    clock.advance(0.25)
    tracker.end_step(a, {"data": frame(ORDERS, 1)})
    clock.advance(1.25)
    tracker.end_pipeline(success=True)

    assert a.duration_ms == 250.0
    assert (a.start_time, a.end_time) == ("2024-05-01T12:00:00.500000+00:00",
                                          "2024-05-01T12:00:00.750000+00:00")
    assert tracker.total_duration_ms == 2000.0
    assert (tracker.start_time, tracker.end_time) == ("2024-05-01T12:00:00+00:00",
                                                      "2024-05-01T12:00:02+00:00")
    assert tracker.summary()["steps_duration_ms"] == 250.0


def test_a_new_run_starts_empty_and_get_execution_returns_the_latest() -> None:
    tracker, ctx = Tracker(), FakeContext()
    first = tracker.start_step(step("a"), ctx, {})
    tracker.fail_step(first, "broken")
    retry = tracker.end_step(tracker.start_step(step("a"), ctx, {}), {"data": frame(ORDERS, 1)})
    assert tracker.get_execution("a") is retry and tracker.get_execution("zzz") is None
    assert [e.status for e in tracker.step_executions] == ["FAILED", "SUCCESS"]

    old_id = tracker.execution_id
    tracker.start_pipeline("again")
    assert tracker.step_executions == [] and tracker.execution_id != old_id
    assert tracker.pipeline_name == "again"


def test_export_lineage_writes_the_guide_fields(tmp_path) -> None:
    clock = FakeClock()
    tracker = Tracker(pipeline_name="customer_pipeline", clock=clock.monotonic, wall_clock=clock.utc)
    ctx = FakeContext()
    tracker.start_pipeline()
    read = tracker.start_step(step("read_customers", "ingest", outputs={"data": "customers"}), ctx, {})
    clock.advance(4)
    customers = FakeFrame((("customer_id", "int64"), ("signup", "datetime64[ns]")),
                          [{"customer_id": 1, "signup": dt.datetime(2024, 1, 2)},
                           {"customer_id": 2, "signup": Decimal("1.5")}])
    tracker.end_step(read, {"data": customers})
    bad = tracker.start_step(step("score", inputs={"c": "customers"}), ctx, {"c": customers})
    tracker.fail_step(bad, "no model")
    tracker.end_pipeline(success=False)

    path = tracker.export_lineage(tmp_path / "out" / "pipeline_lineage.json")
    assert path == tmp_path / "out" / "pipeline_lineage.json"
    assert [p.name for p in path.parent.iterdir()] == ["pipeline_lineage.json"]  # no temp file left

    # Example 3 of the guide
    with open(path) as f:
        lineage = json.load(f)
    assert lineage["pipeline_name"] == "customer_pipeline"
    assert lineage["total_duration_ms"] == 4000.0
    assert [(s["step_name"], s["duration_ms"], s["row_delta"]) for s in lineage["steps"]] == [
        ("read_customers", 4000.0, 2), ("score", 0.0, None)]

    assert {"pipeline_name", "execution_id", "start_time", "end_time", "total_duration_ms",
            "steps"} <= set(lineage)
    uuid.UUID(lineage["execution_id"])
    first = lineage["steps"][0]
    assert {"step_name", "layer", "status", "start_time", "end_time", "duration_ms", "before_snapshot",
            "after_snapshot", "schema_diff", "row_delta", "inputs", "outputs", "error"} <= set(first)
    assert first["before_snapshot"] == {"schema": [], "row_count": 0, "sample": []}
    assert first["after_snapshot"]["schema"] == ["customer_id: int64", "signup: datetime64[ns]"]
    assert first["after_snapshot"]["sample"][0] == {"customer_id": 1, "signup": "2024-01-02 00:00:00"}
    assert first["schema_diff"] == {"added": ["customer_id", "signup"], "removed": [], "changed": []}
    assert (first["layer"], first["status"], first["outputs"]) == ("ingest", "SUCCESS", {"data": "customers"})
    assert (lineage["steps"][1]["status"], lineage["steps"][1]["error"]) == ("FAILED", "no model")
    assert [(e["eventType"], e["run"]["runId"]) for e in lineage["run_events"]] == [
        ("START", tracker.execution_id), ("FAIL", tracker.execution_id)]


def test_with_the_pandas_engine() -> None:
    ctx = PandasEngineContext()
    tracker = Tracker(sample_rows=2)
    orders = pd.DataFrame({"order_id": [1, 2, 3, 4], "amount": [10, 20, 30, 40]})
    execution = tracker.start_step(step("big", inputs={"orders": "raw"}), ctx, {"orders": orders})
    out = orders[orders["amount"] > 15].assign(amount=lambda d: d["amount"] * 1.5, flag=True)
    tracker.end_step(execution, {"data": out})
    assert (execution.before_snapshot.row_count, execution.after_snapshot.row_count) == (4, 3)
    assert execution.row_delta == -1 and len(execution.after_snapshot.sample) == 2
    assert execution.schema_diff["added"] == ("flag",)
    assert [c[0] for c in execution.schema_diff["changed"]] == ["amount"]
    lineage = json.loads(json.dumps(tracker.to_lineage()))
    assert lineage["steps"][0]["after_snapshot"]["schema"] == [
        "order_id: int64", "amount: float64", "flag: bool"]
