"""ProgressBar: follows a running workflow (text lines without a widget frontend, ipywidgets
with one), stops at the workflow's end, and shows the latest run of a replayed history."""

from __future__ import annotations

import io
import threading

import ipywidgets
import pytest

from odibi_core.core import EventEmitter, Orchestrator, Step
from odibi_core.errors import ConfigError
from odibi_core.progress import (
    PipelineProgress,
    ProgressBar,
    ProgressStreamer,
    WorkflowProgressTracker,
    widget_frontend,
)


def test_text_bar_follows_a_workflow_running_on_another_thread() -> None:
    streamer, out = ProgressStreamer(), io.StringIO()
    bar = ProgressBar(streamer, "wf", frontend="text", stream=out)
    assert not widget_frontend()  # pytest has no kernel: "auto" would choose text too
    go = threading.Event()

    def workflow() -> None:
        go.wait(10)
        tracker = WorkflowProgressTracker("wf", None, total_steps=2, streamer=streamer)
        for step in ("a", "b"):
            tracker.start_step(step)
            tracker.complete_step(step)
        tracker.complete_workflow()

    thread = threading.Thread(target=workflow)
    thread.start()
    assert bar.wait(0.01) is None and not bar.done  # nothing yet
    go.set()
    end = bar.wait(30)
    thread.join(10)
    assert end is not None and end.event_type == "complete" and bar.done
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert lines[1].startswith("wf:  50% 1/2 steps [a] a complete (ETA ")
    assert lines[-1].startswith("wf: 100% 2/2 steps workflow wf complete")
    assert streamer.subscribers == []  # the bar unsubscribed at the end
    bar.close()


def test_widget_bar_follows_an_orchestrator_run(tmp_path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a\n1\n2\n")
    streamer, emitter, shown = ProgressStreamer(), EventEmitter(), []
    PipelineProgress.attach(emitter, streamer, workflow_id="demo")
    bar = ProgressBar(streamer, "demo", frontend="widget", display=shown.append)
    assert isinstance(shown[0], ipywidgets.VBox)
    assert isinstance(bar.widget, ipywidgets.IntProgress) and bar.widget.value == 0
    steps = [Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"data": "raw"}),
             Step("transform", "n", "sql", "pandas", "SELECT COUNT(*) AS n FROM t",
                  inputs={"t": "raw"}, outputs={"data": "n"})]
    assert Orchestrator(steps, events=emitter, engine_type="pandas").run().success
    end = bar.wait(30)
    assert end is not None and end.event_type == "complete"
    assert (bar.widget.value, bar.widget.description, bar.widget.bar_style) == (100, "100%", "success")
    assert "demo complete" in bar.label.value
    bar.close()


def test_an_error_turns_the_widget_red() -> None:
    streamer = ProgressStreamer()
    bar = ProgressBar(streamer, "wf", frontend="widget", display=lambda _: None)
    tracker = WorkflowProgressTracker("wf", None, total_steps=2, streamer=streamer)
    tracker.start_step("a")
    tracker.fail_step("a", RuntimeError("disk full"))
    end = bar.wait(30)
    assert end is not None and end.event_type == "error"
    assert bar.widget.bar_style == "danger" and "disk full" in bar.label.value


def test_replay_shows_the_latest_run_and_replay_false_waits_for_a_new_one() -> None:
    streamer = ProgressStreamer()
    first = WorkflowProgressTracker("wf", "run-1", total_steps=1, streamer=streamer)
    first.complete_step("a")
    first.complete_workflow()
    second = WorkflowProgressTracker("wf", "run-2", total_steps=2, streamer=streamer)
    second.start_step("a")

    # replayed: run-1's end is not taken for the end of run-2, which is still going
    following = ProgressBar(streamer, "wf", frontend="text", stream=io.StringIO())
    fresh = ProgressBar(streamer, "wf", frontend="text", stream=io.StringIO(), replay=False)
    assert following.wait(0.3) is None and fresh.wait(0.01) is None
    second.complete_step("a")
    second.complete_workflow()
    assert following.wait(30).thread_id == "run-2"
    assert fresh.wait(30).thread_id == "run-2"

    # created after a run ended, a replaying bar shows that end at once
    after = ProgressBar(streamer, "wf", frontend="text", stream=io.StringIO())
    assert after.wait(30).thread_id == "run-2"


def test_close_stops_following_and_bad_frontend_is_refused() -> None:
    streamer = ProgressStreamer()
    with ProgressBar(streamer, "wf", frontend="text", stream=io.StringIO()) as bar:
        assert streamer.subscribers == [bar.subscriber_id]
    assert streamer.subscribers == [] and not bar.done
    with pytest.raises(ConfigError, match="frontend must be"):
        ProgressBar(streamer, "wf", frontend="html")
