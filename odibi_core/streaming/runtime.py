"""The in-memory side of a source: the cursor polls advance and the batches not yet committed.

Polling moves the cursor (``inflight`` files, the incremental ``cursor``, the event sequence)
so a second poll does not hand out the same data; only :meth:`StreamManager.commit` moves
the persisted :class:`SourceState`. A restart therefore starts from the last commit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .config import StreamBatch
from .files import FileEntry
from .state import SourceState

__all__ = ["SourceRuntime"]


@dataclass
class SourceRuntime:
    state: SourceState
    inflight: dict[str, FileEntry] = field(default_factory=dict)
    cursor: dict[str, Any] = field(default_factory=dict)
    pending: list[StreamBatch] = field(default_factory=list)
    #: FILE_WATCH fallback: path -> (size, mtime_ns) seen at the previous poll
    candidates: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: INTERVAL: epoch seconds when the next read is due
    next_due: float | None = None
    #: EVENT: frames pushed and not yet polled; polled batches kept until commit for replay
    events: deque[Any] = field(default_factory=deque)
    event_seq: int = 0
    event_log: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    warned_missing: bool = False
