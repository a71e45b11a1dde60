"""Exports: textfile (atomic), HTTP endpoint, JSON shape; attach/detach; registry isolation."""

from __future__ import annotations

import json
import urllib.request

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import odibi_core.metrics as metrics_pkg
from odibi_core.core import EventEmitter
from odibi_core.errors import ConfigError
from odibi_core.metrics import METRIC_EVENTS, PipelineMetrics


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


def test_all_is_pinned() -> None:
    assert metrics_pkg.__all__ == ["DEFAULT_BUCKETS", "METRIC_EVENTS", "ErrorTypeLimiter",
                                   "MetricsAttachment", "MetricsServer", "PipelineMetrics",
                                   "PipelineStatus", "RunStatus", "metrics_to_json"]


def test_write_textfile_is_atomic_and_parses(tmp_path) -> None:
    metrics = PipelineMetrics()
    metrics.node_finished("p", "a", "success", duration_seconds=0.3)
    target = tmp_path / "textfile" / "odibi.prom"
    assert metrics.write_textfile(target) == str(target)
    assert target.read_text() == metrics.to_prometheus()
    metrics.node_failed("p", "a", "OSError")
    metrics.write_textfile(target)  # replaces the file
    assert [p.name for p in target.parent.iterdir()] == ["odibi.prom"]  # no temp file left
    text = target.read_text()
    assert sample(text, "odibi_node_runs_total", node="a", pipeline="p", status="failed") == 1
    assert sample(text, "odibi_node_failures_total", node="a", pipeline="p", error_type="OSError") == 1


def test_serve_on_a_free_port() -> None:
    metrics = PipelineMetrics()
    metrics.pipeline_finished("p", "success", duration_seconds=3.0)
    with metrics.serve(0) as server:
        assert server.port > 0
        with urllib.request.urlopen(server.url, timeout=10) as response:
            body = response.read().decode()
    assert sample(body, "odibi_pipeline_runs_total", pipeline="p", status="success") == 1
    assert not server.thread.is_alive()
    server.close()  # idempotent


def test_json_shape_is_stable_and_serialisable() -> None:
    metrics = PipelineMetrics(buckets=[1, 10], clock=lambda: 5.0)
    assert metrics.to_json() == {"namespace": "odibi", "pipelines": {}}
    metrics.node_retried("p", "a")
    empty = {"count": 0, "sum": 0.0, "buckets": {"1.0": 0, "10.0": 0, "+Inf": 0}}
    assert metrics.to_json() == {"namespace": "odibi", "pipelines": {"p": {
        "runs": {"success": 0, "failed": 0}, "duration_seconds": empty, "last_success": None,
        "nodes": {"a": {"runs": {"success": 0, "failed": 0, "cached": 0}, "failures": {},
                        "retries": 1, "cache_hits": 0, "duration_seconds": empty,
                        "last_success": None}}}}}
    metrics.node_finished("p", "a", "cached", duration_seconds=2.0)
    node = json.loads(json.dumps(metrics.to_json()))["pipelines"]["p"]["nodes"]["a"]
    assert node["duration_seconds"] == {"count": 1, "sum": 2.0, "buckets": {"1.0": 0, "10.0": 1, "+Inf": 1}}
    assert node["last_success"] == 5.0 and node["runs"]["cached"] == 1


def test_detach_stops_counting_and_is_idempotent() -> None:
    bus = EventEmitter()
    metrics = PipelineMetrics()
    with metrics.attach(bus, "p") as handle:
        assert handle.attached
        bus.emit("node_retry", step_name="a")
    assert not handle.attached and all(not bus.hooks(e) for e in METRIC_EVENTS)
    bus.emit("node_retry", step_name="a")
    handle.detach()
    assert metrics.to_json()["pipelines"]["p"]["nodes"]["a"]["retries"] == 1


def test_a_bad_payload_is_isolated_by_the_emitter() -> None:
    bus = EventEmitter()
    metrics = PipelineMetrics()
    metrics.attach(bus, "p")
    bus.emit("node_complete", layer="x", duration_ms=1.0, status="SUCCESS")  # no step_name
    assert len(bus.failures) == 1 and "step_name" in bus.failures[0].error
    assert metrics.to_json()["pipelines"] == {}


def test_instances_never_share_or_touch_the_global_registry() -> None:
    one, two = PipelineMetrics(), PipelineMetrics()
    one.node_retried("p", "a")
    assert sample(two.to_prometheus(), "odibi_node_retries_total", node="a", pipeline="p") is None
    assert prometheus_client.REGISTRY.get_sample_value("odibi_node_retries_total",
                                                       {"pipeline": "p", "node": "a"}) is None


def test_a_shared_registry_refuses_a_second_instance_cleanly() -> None:
    registry = CollectorRegistry()
    first = PipelineMetrics(registry)
    with pytest.raises(ConfigError, match="cannot register the odibi_"):
        PipelineMetrics(registry)
    other = PipelineMetrics(registry, namespace="acme")  # nothing half-registered was left
    first.node_retried("p", "a")
    other.node_retried("p", "a")
    text = first.to_prometheus()
    assert sample(text, "odibi_node_retries_total", node="a", pipeline="p") == 1
    assert sample(text, "acme_node_retries_total", node="a", pipeline="p") == 1
    assert other.to_json()["namespace"] == "acme"
