"""Streaming sources for odibi_core: file watch, incremental (high-water mark), interval, event.

Poll a batch, process it, commit it: :class:`StreamManager` (``poll`` / ``commit`` /
``poll(replay=...)``, and the seed's auto-committing ``read_batch`` / ``read``).
"""

from __future__ import annotations

from .config import StreamBatch, StreamConfig, StreamMode, StreamSource
from .errors import StreamError, StreamWarning
from .stream_manager import StreamManager

__all__ = ["StreamBatch", "StreamConfig", "StreamError", "StreamManager", "StreamMode",
           "StreamSource", "StreamWarning"]
