"""PipelineMetrics fed by a real Orchestrator run (parallel workers): a retried node, a failing
node, then a cached rerun; checked through the parsed Prometheus text and the JSON export."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from odibi_core.core import EventEmitter, NodeState, Orchestrator, Step
from odibi_core.errors import RetryableError
from odibi_core.functions import register_function, unregister_function
from odibi_core.metrics import PipelineMetrics

CALLS: dict[str, int] = {}
BOOM = {"fail": True}
NOW = [0.0]

EXPECTED_LABELS = {
    "odibi_node_runs": {"pipeline", "node", "status"},
    "odibi_node_failures": {"pipeline", "node", "error_type"},
    "odibi_node_retries": {"pipeline", "node"},
    "odibi_node_cache_hits": {"pipeline", "node"},
    "odibi_node_duration_seconds": {"pipeline", "node"},
    "odibi_node_last_success_timestamp_seconds": {"pipeline", "node"},
    "odibi_pipeline_runs": {"pipeline", "status"},
    "odibi_pipeline_duration_seconds": {"pipeline"},
    "odibi_pipeline_last_success_timestamp_seconds": {"pipeline"},
}


@pytest.fixture(autouse=True)
def _functions():
    CALLS.clear()
    BOOM["fail"] = True

    @register_function("mx_flaky", replace=True)
    def flaky(frame: pd.DataFrame) -> pd.DataFrame:
        CALLS["flaky"] = CALLS.get("flaky", 0) + 1
        if CALLS["flaky"] == 1:
            raise RetryableError("the service blinked")
        return frame

    @register_function("mx_boom", replace=True)
    def boom(frame: pd.DataFrame) -> pd.DataFrame:
        if BOOM["fail"]:
            raise ValueError("bad value in column v")
        return frame

    yield
    unregister_function("mx_flaky")
    unregister_function("mx_boom")


def steps(tmp: Path) -> list[Step]:
    csv = tmp / "seed.csv"
    if not csv.exists():
        pd.DataFrame({"v": [1, 2, 3]}).to_csv(csv, index=False)
    return [
        Step("ingest", "load", "config_op", "pandas", str(csv), outputs={"data": "raw"}),
        Step("transform", "flaky", "function", "pandas", "mx_flaky", inputs={"frame": "raw"},
             outputs={"data": "flaky_out"}),
        Step("transform", "boom", "function", "pandas", "mx_boom", inputs={"frame": "raw"},
             outputs={"data": "boom_out"}),
    ]


def run_pipeline(tmp: Path, bus: EventEmitter):
    return Orchestrator(steps(tmp), engine_type="pandas", events=bus, pipeline_name="sales",
                        parallel=True, max_workers=2, fail_fast=False, use_cache=True,
                        cache_dir=str(tmp / "cache"), max_retries=2, retry_delay=0.001).run()


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value, without the ``_created`` timestamps."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if not s.name.endswith("_created")}


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def flatten_json(doc: dict) -> dict[tuple[str, frozenset], float]:
    """The JSON export back as samples; zero defaults with no series behind them left out."""
    ns = doc["namespace"]
    out: dict[tuple[str, frozenset], float] = {}

    def put(name: str, val: float | None, **labels: str) -> None:
        if val:  # every series here has a non-zero value (counters only ever go up from 1)
            out[(f"{ns}_{name}", frozenset(labels.items()))] = val

    def histogram(name: str, hist: dict, **labels: str) -> None:
        if hist["count"]:
            for le, count in hist["buckets"].items():
                out[(f"{ns}_{name}_bucket", frozenset({**labels, "le": le}.items()))] = count
            out[(f"{ns}_{name}_count", frozenset(labels.items()))] = hist["count"]
            out[(f"{ns}_{name}_sum", frozenset(labels.items()))] = hist["sum"]

    for p, pipe in doc["pipelines"].items():
        for status, n in pipe["runs"].items():
            put("pipeline_runs_total", n, pipeline=p, status=status)
        histogram("pipeline_duration_seconds", pipe["duration_seconds"], pipeline=p)
        put("pipeline_last_success_timestamp_seconds", pipe["last_success"], pipeline=p)
        for node, entry in pipe["nodes"].items():
            for status, n in entry["runs"].items():
                put("node_runs_total", n, pipeline=p, node=node, status=status)
            for error_type, n in entry["failures"].items():
                put("node_failures_total", n, pipeline=p, node=node, error_type=error_type)
            put("node_retries_total", entry["retries"], pipeline=p, node=node)
            put("node_cache_hits_total", entry["cache_hits"], pipeline=p, node=node)
            histogram("node_duration_seconds", entry["duration_seconds"], pipeline=p, node=node)
            put("node_last_success_timestamp_seconds", entry["last_success"], pipeline=p, node=node)
    return out


@pytest.fixture
def two_runs(tmp_path):
    """Run 1: flaky retried once then succeeds, boom fails (ValueError). Run 2: load and flaky
    come from the cache, boom (fixed) runs and succeeds."""
    bus = EventEmitter()
    metrics = PipelineMetrics(clock=lambda: NOW[0])
    handle = metrics.attach(bus, "sales")
    NOW[0] = 1000.0
    first = run_pipeline(tmp_path, bus)
    after_first = metrics.to_prometheus()
    BOOM["fail"] = False
    NOW[0] = 2000.0
    second = run_pipeline(tmp_path, bus)
    handle.detach()
    assert not first.success and first.failed_nodes == ["boom"]
    assert first.node_results["flaky"].attempts == 2
    assert second.success and second.stats["cache_hits"] == 2
    assert second.node_results["load"].state is NodeState.CACHED
    assert not first.hook_failures and not second.hook_failures
    return metrics, after_first, first, second


def test_first_run_counts(two_runs) -> None:
    _, text, _, _ = two_runs
    s = parse(text)
    node = "odibi_node_runs_total"
    assert value(s, node, pipeline="sales", node="load", status="success") == 1
    assert value(s, node, pipeline="sales", node="flaky", status="success") == 1
    assert value(s, node, pipeline="sales", node="boom", status="failed") == 1
    assert value(s, "odibi_node_retries_total", pipeline="sales", node="flaky") == 1
    assert value(s, "odibi_node_failures_total", pipeline="sales", node="boom", error_type="ValueError") == 1
    assert value(s, "odibi_pipeline_runs_total", pipeline="sales", status="failed") == 1
    assert value(s, "odibi_pipeline_runs_total", pipeline="sales", status="success") is None
    assert value(s, "odibi_node_last_success_timestamp_seconds", pipeline="sales", node="load") == 1000.0
    assert value(s, "odibi_node_last_success_timestamp_seconds", pipeline="sales", node="boom") is None
    assert value(s, "odibi_pipeline_last_success_timestamp_seconds", pipeline="sales") is None
    assert value(s, "odibi_pipeline_duration_seconds_count", pipeline="sales") == 1
    assert not any(name == "odibi_node_cache_hits_total" for name, _ in s)


def test_after_cached_rerun(two_runs) -> None:
    metrics, _, _, second = two_runs
    s = parse(metrics.to_prometheus())
    runs = "odibi_node_runs_total"
    assert value(s, runs, pipeline="sales", node="load", status="success") == 1
    assert value(s, runs, pipeline="sales", node="load", status="cached") == 1
    assert value(s, runs, pipeline="sales", node="flaky", status="cached") == 1
    assert value(s, runs, pipeline="sales", node="boom", status="success") == 1
    assert value(s, runs, pipeline="sales", node="boom", status="failed") == 1
    for name in ("load", "flaky"):
        assert value(s, "odibi_node_cache_hits_total", pipeline="sales", node=name) == 1
        assert value(s, "odibi_node_duration_seconds_count", pipeline="sales", node=name) == 2
    assert value(s, "odibi_node_cache_hits_total", pipeline="sales", node="boom") is None
    assert value(s, "odibi_node_retries_total", pipeline="sales", node="flaky") == 1  # not retried again
    assert value(s, "odibi_node_duration_seconds_count", pipeline="sales", node="boom") == 1
    boom_ms = second.node_results["boom"].duration_ms
    assert value(s, "odibi_node_duration_seconds_sum", pipeline="sales", node="boom") == pytest.approx(boom_ms / 1000)
    assert value(s, "odibi_node_duration_seconds_bucket", pipeline="sales", node="boom", le="+Inf") == 1
    for name in ("load", "flaky", "boom"):
        assert value(s, "odibi_node_last_success_timestamp_seconds", pipeline="sales", node=name) == 2000.0
    assert value(s, "odibi_pipeline_runs_total", pipeline="sales", status="success") == 1
    assert value(s, "odibi_pipeline_runs_total", pipeline="sales", status="failed") == 1
    assert value(s, "odibi_pipeline_duration_seconds_count", pipeline="sales") == 2
    assert value(s, "odibi_pipeline_last_success_timestamp_seconds", pipeline="sales") == 2000.0


def test_json_export_equals_parsed_prometheus(two_runs) -> None:
    metrics, _, _, _ = two_runs
    doc = metrics.to_json()
    assert flatten_json(doc) == parse(metrics.to_prometheus())
    node = doc["pipelines"]["sales"]["nodes"]["boom"]
    assert node["runs"] == {"success": 1, "failed": 1, "cached": 0}
    assert node["failures"] == {"ValueError": 1}
    assert list(doc["pipelines"]["sales"]["nodes"]) == ["boom", "flaky", "load"]


def test_labels_are_exactly_the_low_cardinality_set(two_runs) -> None:
    metrics, _, first, second = two_runs
    families = list(text_string_to_metric_families(metrics.to_prometheus()))
    seen = {}
    values = set()
    for family in families:
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            keys = set(sample.labels) - ({"le"} if sample.name.endswith("_bucket") else set())
            seen.setdefault(family.name, set()).add(frozenset(keys))
            values |= {v for k, v in sample.labels.items() if k != "le"}
    assert seen == {name: {frozenset(labels)} for name, labels in EXPECTED_LABELS.items()}
    run_ids = {first.tracker.execution_id, second.tracker.execution_id}
    assert not values & run_ids
    assert values == {"sales", "load", "flaky", "boom", "success", "failed", "cached", "ValueError"}
    hexish = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}|[0-9a-f]{16}", re.IGNORECASE)
    assert not [v for v in values if hexish.search(v)]
