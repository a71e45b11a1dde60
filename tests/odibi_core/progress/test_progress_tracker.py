"""WorkflowProgressTracker: events per step, progress clamped to 0..1, ETA from the mean
completed-step duration (injected clock), failures; ProgressEvent validation; seed Example 2."""

from __future__ import annotations

import pytest

from odibi_core.errors import ConfigError
from odibi_core.progress import (
    EventType,
    ProgressEvent,
    ProgressStreamer,
    WorkflowProgressTracker,
    reset_streamer,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_mean_completed_step_duration_times_steps_remaining() -> None:
    streamer, clock = ProgressStreamer(), Clock()
    seen = streamer.subscribe("t")
    tracker = WorkflowProgressTracker("wf", "th-1", total_steps=4, streamer=streamer, clock=clock)
    assert tracker.eta() is None  # nothing completed: unknown
    start = tracker.start_step("a")
    assert (start.event_type, start.progress, start.eta) == (EventType.START, 0.0, None)
    clock.now += 10
    done = tracker.complete_step("a")
    assert (done.event_type, done.progress, done.eta) == (EventType.PROGRESS, 0.25, 30.0)  # 10 x 3
    tracker.start_step("b")
    clock.now += 30
    done = tracker.complete_step("b")
    assert done.progress == 0.5 and done.eta == pytest.approx(40.0)  # mean 20 x 2
    assert (done.completed_steps, done.total_steps, done.thread_id) == (2, 4, "th-1")
    # a duration the caller measured wins over the clock; a step never started adds none
    tracker.complete_step("c", duration=60)
    assert tracker.eta() == pytest.approx(33.333, abs=0.01)  # mean (10+30+60)/3 x 1
    tracker.complete_step("never-started")
    assert tracker.eta() == 0.0 and tracker.progress == 1.0
    clock.now += 5
    end = tracker.complete_workflow()
    assert (end.event_type, end.step, end.progress, end.eta) == (EventType.COMPLETE, None, 1.0, 0.0)
    assert end.is_terminal and "complete in 45.0s" in end.message
    assert [e.event_type.value for e in seen.drain()] == ["start", "progress", "start", "progress",
                                                          "progress", "progress", "complete"]


def test_progress_is_clamped_and_zero_steps_is_fine() -> None:
    streamer = ProgressStreamer()
    tracker = WorkflowProgressTracker("wf", None, total_steps=1, streamer=streamer)
    tracker.complete_step("a")
    assert tracker.complete_step("a again").progress == 1.0  # 2/1 clamped
    empty = WorkflowProgressTracker("empty", None, total_steps=0, streamer=streamer)
    assert empty.start_step("x").progress == 0.0
    assert empty.complete_workflow().progress == 1.0


def test_fail_step_publishes_a_terminal_error_and_failed_steps_can_go_on() -> None:
    streamer = ProgressStreamer()
    tracker = WorkflowProgressTracker("wf", None, total_steps=3, streamer=streamer)
    tracker.start_step("a")
    soft = tracker.complete_step("a", error="bad row")
    assert soft.event_type is EventType.PROGRESS and soft.message == "a failed: bad row"
    assert not soft.is_terminal and tracker.completed_steps == 1
    tracker.start_step("b")
    assert tracker.running_steps == ["b"]
    err = tracker.fail_step("b", ValueError("boom"))
    assert err.event_type == "error" and err.is_terminal and err.step == "b"
    assert err.message == "b failed: ValueError: boom" and err.progress == pytest.approx(1 / 3)
    assert tracker.running_steps == []
    assert tracker.fail_step(None, "gave up").message == "workflow wf failed: gave up"


def test_start_workflow_restarts_the_count() -> None:
    streamer, clock = ProgressStreamer(), Clock()
    tracker = WorkflowProgressTracker("wf", None, total_steps=2, streamer=streamer, clock=clock)
    tracker.complete_step("a", duration=1.0)
    clock.now += 7
    assert tracker.elapsed == 7
    start = tracker.start_workflow(total_steps=5)
    assert (start.event_type, start.step, start.progress, start.total_steps) == ("start", None, 0.0, 5)
    assert tracker.completed_steps == 0 and tracker.eta() is None and tracker.elapsed == 0


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="total_steps must be an integer >= 0, got -1"):
        WorkflowProgressTracker("wf", None, total_steps=-1, streamer=ProgressStreamer())
    with pytest.raises(ConfigError, match="unknown event_type 'done'"):
        ProgressEvent("wf", "a", "done", 0.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"progress must be between 0 and 1, got 1\.5"):
        ProgressEvent("wf", "a", "progress", 1.5)
    with pytest.raises(ConfigError, match="eta must be None or >= 0"):
        ProgressEvent("wf", "a", "progress", 0.5, eta=-1)
    ok = ProgressEvent("wf", "a", "complete", 1)  # type: ignore[arg-type]
    assert ok.event_type is EventType.COMPLETE and ok.progress == 1.0
    assert ok.to_dict()["event_type"] == "complete"


def test_seed_example_2_runs_verbatim(capsys) -> None:
    reset_streamer()  # a fresh process-wide streamer: no other test's history
    # -- the seed's Example 2; only the import line is adapted --------------------------
    from odibi_core.progress import WorkflowProgressTracker, get_streamer

    # Create tracker
    tracker = WorkflowProgressTracker(
        workflow_id="spec-001",
        thread_id="thread-123",
        total_steps=5
    )

    # Track progress
    tracker.start_step("SPEC")
    # ... do work ...
    tracker.complete_step("SPEC")

    tracker.start_step("PLAN")
    # ... do work ...
    tracker.complete_step("PLAN")

    tracker.complete_workflow()

    # Subscribe to events (in another thread/process)
    streamer = get_streamer()
    for event in streamer.stream_events("subscriber-1"):
        print(f"{event.step}: {event.progress*100:.0f}% - {event.message}")
        if event.event_type in ["complete", "error"]:
            break
    # -----------------------------------------------------------------------------------
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == ["SPEC: 0% - SPEC started", "SPEC: 20% - SPEC complete",
                         "PLAN: 20% - PLAN started", "PLAN: 40% - PLAN complete"]
    assert lines[4].startswith("None: 100% - workflow spec-001 complete in ")
    assert len(lines) == 5
    assert streamer.subscribers == []
