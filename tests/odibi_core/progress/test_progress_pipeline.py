"""PipelineProgress.attach on real Orchestrator runs: a start and a finish event for every node
and one final complete (or error); cached nodes finish once; detach removes the hooks."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi_core.core import EventEmitter, Orchestrator, Step
from odibi_core.progress import EventType, PipelineProgress, ProgressStreamer


@pytest.fixture
def orders_csv(tmp_path):
    path = tmp_path / "orders.csv"
    pd.DataFrame({"customer": ["ana", "bo", "ana"], "amount": [10.0, 25.5, 7.5]}).to_csv(path, index=False)
    return path


def steps(csv, bad: bool = False) -> list[Step]:
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"data": "raw"}),
        Step("transform", "totals", "sql", "pandas",
             "SELECT customer, SUM(amount) AS total FROM t GROUP BY customer",
             inputs={"t": "raw"}, outputs={"data": "totals"}),
        Step("transform", "count", "sql", "pandas",
             "SELECT no_such_column FROM t" if bad else "SELECT COUNT(*) AS n FROM t",
             inputs={"t": "raw"}, outputs={"data": "n"}),
        Step("transform", "both", "sql", "pandas", "SELECT * FROM a CROSS JOIN b",
             inputs={"a": "totals", "b": "n"}, outputs={"data": "both"}),
    ]


NODES = ["both", "count", "read", "totals"]


def node_events(events, kind: str) -> list[str]:
    return sorted(e.step for e in events if e.event_type == kind and e.step is not None)


@pytest.mark.parametrize("parallel", [False, True])
def test_attach_publishes_start_and_finish_for_every_node_and_a_final_complete(orders_csv, parallel) -> None:
    streamer, emitter = ProgressStreamer(), EventEmitter()
    watcher = streamer.subscribe("watcher", workflow_id="orders")
    progress = PipelineProgress.attach(emitter, streamer, workflow_id="orders")
    result = Orchestrator(steps(orders_csv), events=emitter, engine_type="pandas", parallel=parallel,
                          max_workers=2).run()
    assert result.success, result.errors
    events = watcher.drain()
    # the workflow start, one start and one finish per node, and one terminal event, last
    assert events[0].event_type == "start" and events[0].step is None and events[0].total_steps == 4
    assert node_events(events, "start") == NODES
    assert node_events(events, "progress") == NODES
    assert [e.event_type for e in events].count(EventType.COMPLETE) == 1
    assert events[-1].event_type == "complete" and events[-1].progress == 1.0
    assert "4/4 steps succeeded" in events[-1].message
    assert len(events) == 1 + 2 * len(NODES) + 1
    finished = [e for e in events if e.event_type == "progress"]
    assert [e.completed_steps for e in finished] == [1, 2, 3, 4]
    assert [e.progress for e in finished] == [0.25, 0.5, 0.75, 1.0]
    assert all(e.eta is not None for e in finished)
    # every event is ordered: read starts first, both finishes last among the nodes
    assert (events[1].step, finished[-1].step) == ("read", "both")

    progress.detach()
    Orchestrator(steps(orders_csv), events=emitter, engine_type="pandas").run()
    assert watcher.drain() == []  # detached: a second run publishes nothing


def test_a_failing_run_ends_with_one_error_event(orders_csv) -> None:
    streamer, emitter = ProgressStreamer(), EventEmitter()
    PipelineProgress.attach(emitter, streamer)  # workflow id: the pipeline's name
    result = Orchestrator(steps(orders_csv, bad=True), events=emitter, engine_type="pandas",
                          pipeline_name="orders-bad", fail_fast=False, max_retries=0).run()
    assert result.failed_nodes == ["count"]
    events = streamer.history("orders-bad")
    assert node_events(events, "start") == ["count", "read", "totals"]  # 'both' was skipped
    failed = next(e for e in events if e.step == "count" and e.event_type == "progress")
    assert failed.message.startswith("count failed:") and "no_such_column" in failed.message
    terminal = [e for e in events if e.is_terminal]
    assert len(terminal) == 1 and terminal[0] is events[-1]
    assert terminal[0].event_type == "error" and terminal[0].step == "count"
    assert "no_such_column" in terminal[0].message and terminal[0].progress == 0.75


def test_a_cached_node_finishes_once(orders_csv, tmp_path) -> None:
    streamer, emitter = ProgressStreamer(), EventEmitter()
    PipelineProgress.attach(emitter, streamer, workflow_id="cached", total_steps=4)
    for _ in range(2):
        result = Orchestrator(steps(orders_csv), events=emitter, engine_type="pandas", use_cache=True,
                              cache_dir=str(tmp_path / "cache")).run()
        assert result.success, result.errors
    history = streamer.history("cached")
    second = history[history.index(next(e for e in history if e.is_terminal)) + 1:]
    assert node_events(second, "progress") == NODES  # one finish per node, cached or not
    assert any(e.message.endswith("(cached)") for e in second)
    assert second[-1].event_type == "complete" and second[-1].progress == 1.0


def test_attach_twice_is_refused() -> None:
    emitter = EventEmitter()
    progress = PipelineProgress.attach(emitter, ProgressStreamer())
    with pytest.raises(RuntimeError, match="already attached"):
        progress.attach_to(emitter)
    progress.detach()
    progress.detach()  # a no-op
    assert emitter.hooks("node_start") == []
