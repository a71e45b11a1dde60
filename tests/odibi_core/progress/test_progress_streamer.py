"""ProgressStreamer: fan-out to bounded per-subscriber queues that never block the publisher,
drops of the oldest event counted per subscriber, history replay, stream_events."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from odibi_core.errors import ConfigError
from odibi_core.progress import (
    EventType,
    ProgressEvent,
    ProgressStreamer,
    get_streamer,
    reset_streamer,
)

N = 5000


def event(i: int, workflow: str = "wf", kind: EventType = EventType.PROGRESS) -> ProgressEvent:
    return ProgressEvent(workflow, f"s{i}", kind, min(1.0, i / N), message=str(i))


def publish_all(streamer: ProgressStreamer, count: int = N) -> float:
    """The 'workflow': publish ``count`` events on its own thread; return its seconds."""
    took: list[float] = []

    def workflow() -> None:
        started = time.perf_counter()
        for i in range(count):
            streamer.publish(event(i))
        took.append(time.perf_counter() - started)

    thread = threading.Thread(target=workflow)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "publish blocked the workflow"
    return took[0]


def reader(streamer: ProgressStreamer, name: str, got: list[ProgressEvent],
           ready: threading.Barrier) -> threading.Thread:
    subscription = streamer.subscribe(name, max_queue=N)  # room for all: no drop however late

    def drain() -> None:
        ready.wait()
        while len(got) < N:
            item = subscription.get(timeout=30)
            if item is None:
                return
            got.append(item)

    thread = threading.Thread(target=drain)
    thread.start()
    return thread


def test_three_subscribers_one_never_reading_do_not_slow_the_workflow(caplog) -> None:
    # baseline: the same workflow with only the two readers
    base = ProgressStreamer(history=0)
    ready = threading.Barrier(3)
    base_got: tuple[list, list] = ([], [])
    threads = [reader(base, f"r{i}", base_got[i], ready) for i in range(2)]
    ready.wait()
    baseline = publish_all(base)
    for thread in threads:
        thread.join(timeout=60)

    streamer = ProgressStreamer(history=0)
    ready = threading.Barrier(3)
    got: tuple[list, list] = ([], [])
    threads = [reader(streamer, f"reader-{i}", got[i], ready) for i in range(2)]
    slow = streamer.subscribe("never-reads", max_queue=100)
    ready.wait()
    with caplog.at_level(logging.WARNING, logger="odibi_core.progress.streamer"):
        with_slow = publish_all(streamer)
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()

    # the two readers received every event, in order
    for events in got:
        assert [e.message for e in events] == [str(i) for i in range(N)]
    assert streamer.dropped("reader-0") == streamer.dropped("reader-1") == 0
    # the never-reading one kept the latest 100 and counted the rest as dropped
    assert streamer.dropped("never-reads") == N - 100 == slow.dropped
    assert [e.message for e in slow.drain()] == [str(i) for i in range(N - 100, N)]
    stats = streamer.stats()
    assert stats["published"] == N
    assert stats["subscribers"]["never-reads"] == {"queued": 0, "delivered": 100, "dropped": N - 100,
                                                   "max_queue": 100}
    assert stats["subscribers"]["reader-0"]["delivered"] == N
    # one warning for the slow subscriber, not one per drop
    warnings = [r for r in caplog.records if "never-reads" in r.getMessage()]
    assert len(warnings) == 1 and "not keeping up" in warnings[0].getMessage()
    # the slow subscriber costs the workflow next to nothing (loose bound: no flaky timing)
    assert with_slow < 2 * baseline + 1.0


def test_publish_returns_while_a_full_queue_is_never_read() -> None:
    streamer = ProgressStreamer(history=0)
    stuck = streamer.subscribe("stuck", max_queue=1)
    streamer.publish(event(0))
    assert stuck.qsize() == 1  # full from here on
    publish_all(streamer, 200)  # asserts the thread finished: publish never waited
    assert stuck.dropped == 200 and [e.message for e in stuck.drain()] == ["199"]


def test_late_subscriber_replays_the_history_then_gets_live_events() -> None:
    streamer = ProgressStreamer(history=3)
    for i in range(5):
        streamer.publish(event(i))
    late = streamer.subscribe("late")
    assert late.replayed == 3
    streamer.publish(event(5))
    assert [e.message for e in late.drain()] == ["2", "3", "4", "5"]
    fresh = streamer.subscribe("fresh", replay=False)
    assert fresh.qsize() == 0
    # a replay never exceeds the subscriber's queue, and is not counted as drops
    small = streamer.subscribe("small", max_queue=2)
    assert [e.message for e in small.drain()] == ["4", "5"] and small.dropped == 0
    assert [e.message for e in streamer.history()] == ["3", "4", "5"]
    streamer.clear_history()
    assert streamer.history() == []


def test_workflow_filter_applies_to_replay_and_live_events() -> None:
    streamer = ProgressStreamer()
    streamer.publish(event(1, "a"))
    streamer.publish(event(2, "b"))
    only_b = streamer.subscribe("only-b", workflow_id="b")
    streamer.publish(event(3, "a"))
    streamer.publish(event(4, "b"))
    assert [(e.workflow_id, e.message) for e in only_b.drain()] == [("b", "2"), ("b", "4")]
    assert [e.message for e in streamer.history("a")] == ["1", "3"]


def test_stream_events_stops_after_timeout_and_unsubscribes_what_it_subscribed() -> None:
    streamer = ProgressStreamer()
    streamer.publish(event(1))
    started = time.monotonic()
    seen = [e.message for e in streamer.stream_events("sub", timeout=0.05)]
    assert seen == ["1"]
    assert time.monotonic() - started >= 0.05
    assert streamer.subscribers == []  # it subscribed, so it unsubscribed on the way out

    # an explicit subscription is used as it is and stays subscribed
    subscription = streamer.subscribe("kept", replay=False)
    assert streamer.subscribe("kept") is subscription  # subscribing again: the same queue
    streamer.publish(event(2))
    assert [e.message for e in streamer.stream_events("kept", timeout=0.01)] == ["2"]
    assert streamer.subscribers == ["kept"]


def test_breaking_out_of_stream_events_unsubscribes() -> None:
    streamer = ProgressStreamer()
    for i in range(3):
        streamer.publish(event(i))
    stream = streamer.stream_events("breaker")
    assert streamer.subscribers == ["breaker"]  # subscribed at the call, before the first event
    for item in stream:
        if item.message == "1":
            break
    stream.close()
    assert streamer.subscribers == []


def test_unsubscribe_ends_a_waiting_generator() -> None:
    streamer = ProgressStreamer()
    received: list[str] = []
    first = threading.Event()

    def consume() -> None:
        for item in streamer.stream_events("waiting", timeout=None):
            received.append(item.message)
            first.set()

    thread = threading.Thread(target=consume)
    thread.start()
    streamer.publish(event(1))
    assert first.wait(10)
    assert streamer.unsubscribe("waiting") is True
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert received == ["1"]
    assert streamer.unsubscribe("waiting") is False
    with pytest.raises(ConfigError, match="no subscriber 'waiting'"):
        streamer.dropped("waiting")


def test_bad_arguments_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_queue must be an integer >= 1, got 0"):
        ProgressStreamer(max_queue=0)
    with pytest.raises(ConfigError, match="history must be an integer >= 0"):
        ProgressStreamer(history=-1)
    with pytest.raises(ConfigError, match="expected a ProgressEvent"):
        ProgressStreamer().publish({"step": "x"})  # type: ignore[arg-type]


def test_get_streamer_is_a_singleton_until_reset() -> None:
    first = get_streamer()
    assert get_streamer() is first
    fresh = reset_streamer(max_queue=5)
    assert fresh is not first and get_streamer() is fresh and fresh.max_queue == 5
