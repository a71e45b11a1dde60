"""Hooks called from 8 threads at once count exactly (prometheus_client values are locked)."""

from __future__ import annotations

import threading

import pytest

from odibi_core.core import EventEmitter
from odibi_core.metrics import PipelineMetrics

THREADS = 8
ROUNDS = 250


def test_eight_threads_emitting_count_correctly() -> None:
    bus = EventEmitter()
    metrics = PipelineMetrics()
    metrics.attach(bus, "p")
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            node = f"n{index % 2}"  # two nodes shared by four threads each
            for i in range(ROUNDS):
                bus.emit("node_retry", step_name=node, layer="transform", attempt=1)
                bus.emit("node_cached", step_name=node, layer="transform", duration_ms=1.0)
                bus.emit("node_complete", step_name=node, layer="transform", duration_ms=1.0,
                         status="CACHED" if i % 2 else "SUCCESS", attempts=1)
                bus.emit("node_error", step_name=node, layer="transform", error_message="x",
                         error_type="KeyError" if i % 2 else "ValueError", retry_count=0, attempts=1)
                bus.emit("pipeline_complete", pipeline_name="p", duration_ms=2000.0)
        except BaseException as exc:  # surfaced below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not bus.failures
    doc = metrics.to_json()["pipelines"]["p"]
    per_node = ROUNDS * THREADS // 2
    for node in ("n0", "n1"):
        entry = doc["nodes"][node]
        assert entry["retries"] == per_node
        assert entry["cache_hits"] == per_node
        assert entry["runs"] == {"success": per_node // 2, "cached": per_node // 2, "failed": per_node}
        assert entry["failures"] == {"KeyError": per_node // 2, "ValueError": per_node // 2}
        assert entry["duration_seconds"]["count"] == per_node
        assert entry["duration_seconds"]["sum"] == pytest.approx(per_node * 0.001)
        assert entry["duration_seconds"]["buckets"]["0.01"] == per_node
    assert doc["runs"] == {"success": ROUNDS * THREADS, "failed": 0}
    assert doc["duration_seconds"]["count"] == ROUNDS * THREADS
    assert doc["duration_seconds"]["buckets"]["1.0"] == 0
    assert doc["duration_seconds"]["buckets"]["2.5"] == ROUNDS * THREADS
