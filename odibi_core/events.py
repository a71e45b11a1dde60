"""The event system: hooks called when things happen during a run.

One class with two faces: ``EventEmitter.on(event, fn)`` and, by its Level 3 name,
``EventBus.register_hook(event_type, hook_func, priority=...)``. ``emit(event, **payload)``
calls the event's hooks in priority order (CRITICAL first; registration order within a
priority). A hook that raises is logged and isolated, unless registered with
``strict=True``; isolated failures are kept in :attr:`EventEmitter.failures` so a run can
report them. Safe to use from worker threads.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = ["EVENTS", "EventBus", "EventEmitter", "EventPriority", "Hook", "HookFailure"]

log = logging.getLogger("odibi_core.core.events")  # the logger keeps its name from before the move

Hook = Callable[[dict[str, Any]], Any]

EVENTS = (
    "pipeline_start",
    "pipeline_complete",
    "pipeline_error",
    "node_start",
    "node_complete",
    "node_error",
    "node_retry",
    "node_cached",
    "batch_committed",  # run_continuous: a micro-batch is in the sink and committed
    "batch_error",  # run_continuous: a micro-batch failed; it is replayed (same batch id)
)


class EventPriority(IntEnum):
    """Hook order: lower values run first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3


@dataclass(frozen=True)
class HookFailure:
    """A non-strict hook that raised: which event, which hook, what error (the run went on)."""

    seq: int
    event: str
    hook: str
    error: str

    def __str__(self) -> str:
        return f"hook {self.hook} for {self.event!r} raised {self.error}"


def _hook_name(fn: Hook) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{name}" if module and module != "__main__" else name


class EventEmitter:
    """Registers hooks per event name and calls them with the event's payload dict.

    Args:
        keep_failures: how many isolated hook failures :attr:`failures` keeps (the latest).
    """

    def __init__(self, *, keep_failures: int = 1000) -> None:
        self._hooks: dict[str, list[tuple[int, int, Hook, bool]]] = {}
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._failures: deque[HookFailure] = deque(maxlen=keep_failures)
        self._failure_seq = 0

    @property
    def failures(self) -> list[HookFailure]:
        """Isolated hook failures, oldest first (the latest ``keep_failures``)."""
        with self._lock:
            return list(self._failures)

    @property
    def failure_count(self) -> int:
        """How many hook failures there have been in all (a mark for :meth:`failures_since`)."""
        with self._lock:
            return self._failure_seq

    def failures_since(self, mark: int) -> list[HookFailure]:
        """The kept failures after ``mark`` (a :attr:`failure_count` taken earlier)."""
        with self._lock:
            return [f for f in self._failures if f.seq >= mark]

    def on(self, event: str, fn: Hook, *, priority: EventPriority = EventPriority.MEDIUM,
           strict: bool = False) -> Hook:
        """Call ``fn(payload)`` on every ``event``. A strict hook's exception propagates."""
        if not callable(fn):
            raise TypeError(f"hook for {event!r} must be callable, got {fn!r}")
        with self._lock:
            hooks = self._hooks.setdefault(event, [])
            hooks.append((int(priority), next(self._order), fn, strict))
            hooks.sort(key=lambda entry: entry[:2])
        return fn

    def register_hook(self, event_type: str, hook_func: Hook,
                      priority: EventPriority = EventPriority.MEDIUM, *, strict: bool = False) -> Hook:
        """The Level 3 name of :meth:`on`."""
        return self.on(event_type, hook_func, priority=priority, strict=strict)

    def off(self, event: str, fn: Hook) -> None:
        """Remove a hook; unknown hooks are ignored."""
        with self._lock:
            self._hooks[event] = [entry for entry in self._hooks.get(event, []) if entry[2] is not fn]

    def hooks(self, event: str) -> list[Hook]:
        """The hooks registered for ``event``, in call order."""
        with self._lock:
            return [entry[2] for entry in self._hooks.get(event, [])]

    def has_hooks(self, event: str) -> bool:
        """Whether any hook listens to ``event`` (lets emitters skip building a payload)."""
        return bool(self._hooks.get(event))

    def emit(self, event: str, payload: dict[str, Any] | None = None, **fields: Any) -> None:
        """Call the hooks of ``event`` with ``{"event": event, **payload, **fields}``."""
        data = {"event": event, **(payload or {}), **fields}
        with self._lock:
            hooks = list(self._hooks.get(event, []))
        for _, _, fn, strict in hooks:
            try:
                fn(data)
            except Exception as exc:
                if strict:
                    raise
                log.exception("hook %r for event %r raised; continuing", fn, event)
                with self._lock:
                    self._failures.append(HookFailure(self._failure_seq, event, _hook_name(fn),
                                                      f"{type(exc).__name__}: {exc}"))
                    self._failure_seq += 1


EventBus = EventEmitter
"""The Level 3 name of the one event class."""
