"""Fan progress events out to subscribers, each with its own bounded queue.

:meth:`ProgressStreamer.publish` never blocks the workflow: it appends the event to every
subscriber's queue without waiting, and when a queue is full it drops that subscriber's
OLDEST event and counts the drop (:meth:`~ProgressStreamer.dropped`, :meth:`~ProgressStreamer.stats`,
and one log warning per subscriber). A slow or absent reader therefore loses old events
instead of slowing the run. The streamer also keeps the latest ``history`` events, so a
subscriber that starts late is first given the workflow so far (``replay``).

Locks: publish and subscribe take the streamer lock (so a replay and the live events that
follow it never overlap nor leave a gap), then one subscriber's lock at a time; readers take
only their subscriber's lock, and hold it just long enough to pop an event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError
from .event import ProgressEvent

__all__ = ["ProgressStreamer", "Subscription", "get_streamer", "reset_streamer"]

log = logging.getLogger(__name__)


class Subscription:
    """One subscriber's bounded queue of events (made by :meth:`ProgressStreamer.subscribe`).

    Attributes:
        subscriber_id: the name it was subscribed under.
        workflow_id: only events of this workflow are queued (None: every workflow).
        max_queue: how many events the queue holds before the oldest is dropped.
        replayed: how many events the queue was pre-filled with from the history.
    """

    def __init__(self, subscriber_id: str, max_queue: int, workflow_id: str | None) -> None:
        self.subscriber_id = subscriber_id
        self.workflow_id = workflow_id
        self.max_queue = max_queue
        self.replayed = 0
        self._queue: deque[ProgressEvent] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._dropped = 0
        self._delivered = 0
        self._closed = False

    def __repr__(self) -> str:
        return (f"Subscription({self.subscriber_id!r}, queued={self.qsize()}, dropped={self.dropped},"
                f" closed={self.closed})")

    def _wants(self, event: ProgressEvent) -> bool:
        return self.workflow_id is None or event.workflow_id == self.workflow_id

    def _offer(self, event: ProgressEvent) -> bool:
        """Queue ``event`` without waiting; True when this is the subscriber's first drop."""
        with self._cond:
            if self._closed:
                return False
            first_drop = False
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self._dropped += 1
                first_drop = self._dropped == 1
            self._queue.append(event)
            self._cond.notify_all()
            return first_drop

    def _close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the subscriber was unsubscribed (its queue is gone)."""
        return self._closed

    @property
    def dropped(self) -> int:
        """Events dropped because the queue was full (the oldest went first)."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """Events handed to the reader so far."""
        return self._delivered

    def qsize(self) -> int:
        """Events waiting in the queue."""
        return len(self._queue)

    def get(self, timeout: float | None = None) -> ProgressEvent | None:
        """The next event, waiting up to ``timeout`` seconds (None: as long as it takes).

        Returns None when the wait timed out or the subscriber was unsubscribed
        (:attr:`closed` tells which)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                return None
            self._delivered += 1
            return self._queue.popleft()

    def drain(self) -> list[ProgressEvent]:
        """Every event waiting now, oldest first, without waiting for more."""
        with self._cond:
            events = list(self._queue)
            self._queue.clear()
            self._delivered += len(events)
            return events


class ProgressStreamer:
    """Broadcasts :class:`ProgressEvent` records to subscribers.

    Args:
        max_queue: default size of each subscriber's queue.
        history: how many of the latest events are kept for late subscribers (0: none).
    """

    def __init__(self, max_queue: int = 1000, history: int = 1000) -> None:
        _check_size("max_queue", max_queue, minimum=1)
        _check_size("history", history, minimum=0)
        self.max_queue = max_queue
        self._history: deque[ProgressEvent] = deque(maxlen=history)
        self._subscribers: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._published = 0

    def publish(self, event: ProgressEvent) -> None:
        """Send ``event`` to every subscriber that wants it; never waits for a reader.

        A full queue loses its oldest event (counted per subscriber; the first drop of a
        subscriber is logged as a warning)."""
        if not isinstance(event, ProgressEvent):
            raise ConfigError("ProgressStreamer.publish", f"expected a ProgressEvent, got {event!r}")
        first_drops: list[Subscription] = []
        with self._lock:
            self._published += 1
            self._history.append(event)
            for subscription in self._subscribers.values():
                if subscription._wants(event) and subscription._offer(event):
                    first_drops.append(subscription)
        for subscription in first_drops:  # logged outside the lock: a handler may be slow
            log.warning("progress subscriber %r is not keeping up: its queue of %d events is full,"
                        " so its oldest events are dropped (see ProgressStreamer.dropped(%r))",
                        subscription.subscriber_id, subscription.max_queue, subscription.subscriber_id)

    def subscribe(self, subscriber_id: str, *, replay: bool = True, max_queue: int | None = None,
                  workflow_id: str | None = None) -> Subscription:
        """Give ``subscriber_id`` its own queue and return it.

        Args:
            subscriber_id: a name unique among the current subscribers.
            replay: pre-fill the queue with the kept history (the latest ``max_queue`` events of
                ``workflow_id``), so a subscriber that starts late sees the workflow so far.
            max_queue: this queue's size (default: the streamer's ``max_queue``).
            workflow_id: queue only this workflow's events (None: every workflow).

        Subscribing an id that is already subscribed returns its existing subscription
        unchanged (the other arguments are ignored)."""
        size = self.max_queue if max_queue is None else max_queue
        _check_size("max_queue", size, minimum=1)
        with self._lock:
            existing = self._subscribers.get(subscriber_id)
            if existing is not None:
                return existing
            subscription = Subscription(subscriber_id, size, workflow_id)
            if replay:
                past = [event for event in self._history if subscription._wants(event)][-size:]
                subscription._queue.extend(past)
                subscription.replayed = len(past)
            self._subscribers[subscriber_id] = subscription
        return subscription

    def unsubscribe(self, subscriber_id: str) -> bool:
        """Remove the subscriber: its queue is discarded and its :meth:`stream_events` ends.
        Returns whether it was subscribed."""
        with self._lock:
            subscription = self._subscribers.pop(subscriber_id, None)
        if subscription is None:
            return False
        subscription._close()
        return True

    def stream_events(self, subscriber_id: str, timeout: float | None = None, *,
                      workflow_id: str | None = None, replay: bool = True) -> Iterator[ProgressEvent]:
        """Yield the subscriber's events as they arrive.

        Subscribes ``subscriber_id`` first when needed (with ``replay`` and ``workflow_id``),
        and then unsubscribes it when the generator ends or is closed; an existing
        subscription is used as it is and left subscribed. The stream ends when ``timeout``
        seconds pass without an event (None: wait forever) or when the subscriber is
        unsubscribed. It does not end at a workflow's last event by itself: the caller breaks
        on ``event.is_terminal`` (``event_type in ("complete", "error")``), and passes
        ``workflow_id`` so that another workflow's end (or an earlier run's, replayed from
        the history) is not taken for its own."""
        with self._lock:
            created = subscriber_id not in self._subscribers
        # subscribed now, not at the first next(): events published meanwhile are queued
        subscription = self.subscribe(subscriber_id, replay=replay, workflow_id=workflow_id)
        return self._stream(subscription, timeout, workflow_id, created)

    def _stream(self, subscription: Subscription, timeout: float | None, workflow_id: str | None,
                created: bool) -> Iterator[ProgressEvent]:
        try:
            while True:
                event = subscription.get(timeout)
                if event is None:
                    return
                if workflow_id is None or event.workflow_id == workflow_id:
                    yield event
        finally:
            if created:
                with self._lock:
                    mine = self._subscribers.get(subscription.subscriber_id) is subscription
                if mine:
                    self.unsubscribe(subscription.subscriber_id)

    def subscription(self, subscriber_id: str) -> Subscription:
        """The subscription of ``subscriber_id``; ConfigError when it is not subscribed."""
        with self._lock:
            subscription = self._subscribers.get(subscriber_id)
            if subscription is None:
                raise ConfigError("ProgressStreamer", f"no subscriber {subscriber_id!r}; subscribers:"
                                  f" {sorted(self._subscribers)}")
            return subscription

    def dropped(self, subscriber_id: str) -> int:
        """How many events ``subscriber_id`` lost because its queue was full."""
        return self.subscription(subscriber_id).dropped

    @property
    def subscribers(self) -> list[str]:
        """The current subscriber ids, sorted."""
        with self._lock:
            return sorted(self._subscribers)

    def history(self, workflow_id: str | None = None) -> list[ProgressEvent]:
        """The kept events (of ``workflow_id``, or all), oldest first."""
        with self._lock:
            return [e for e in self._history if workflow_id is None or e.workflow_id == workflow_id]

    def clear_history(self) -> None:
        """Forget the kept events (subscribers' queues are unchanged)."""
        with self._lock:
            self._history.clear()

    def stats(self) -> dict[str, Any]:
        """Counts: events published, kept in history, and per subscriber queued, delivered,
        dropped and max_queue."""
        with self._lock:
            return {
                "published": self._published,
                "history": len(self._history),
                "subscribers": {
                    sid: {"queued": s.qsize(), "delivered": s.delivered, "dropped": s.dropped,
                          "max_queue": s.max_queue}
                    for sid, s in sorted(self._subscribers.items())
                },
            }


def _check_size(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError("ProgressStreamer", f"{name} must be an integer >= {minimum}, got {value!r}")


_default: ProgressStreamer | None = None
_default_lock = threading.Lock()


def get_streamer() -> ProgressStreamer:
    """The process-wide streamer (made on first use) that trackers publish to by default."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ProgressStreamer()
        return _default


def reset_streamer(max_queue: int = 1000, history: int = 1000) -> ProgressStreamer:
    """Replace the process-wide streamer with a new, empty one and return it (its old
    subscribers keep their queues but receive nothing more)."""
    global _default
    with _default_lock:
        _default = ProgressStreamer(max_queue=max_queue, history=history)
        return _default
