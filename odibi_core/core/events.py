"""The event system: hooks called when things happen during a run.

One class with two faces: ``EventEmitter.on(event, fn)`` and, by its Level 3 name,
``EventBus.register_hook(event_type, hook_func, priority=...)``. ``emit(event, **payload)``
calls the event's hooks in priority order (CRITICAL first; registration order within a
priority). A hook that raises is logged and isolated, unless registered with
``strict=True``. Safe to use from worker threads.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from enum import IntEnum
from typing import Any

__all__ = ["EVENTS", "EventBus", "EventEmitter", "EventPriority", "Hook"]

log = logging.getLogger(__name__)

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
)


class EventPriority(IntEnum):
    """Hook order: lower values run first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3


class EventEmitter:
    """Registers hooks per event name and calls them with the event's payload dict."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[tuple[int, int, Hook, bool]]] = {}
        self._order = itertools.count()
        self._lock = threading.Lock()

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
            except Exception:
                if strict:
                    raise
                log.exception("hook %r for event %r raised; continuing", fn, event)


EventBus = EventEmitter
"""The Level 3 name of the one event class."""
