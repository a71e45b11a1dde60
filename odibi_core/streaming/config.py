"""What a stream source is: its mode, its configuration, its in-memory record and one batch.

The seed's names and fields are kept (``StreamMode``, ``StreamConfig``, ``StreamSource``);
``StreamBatch`` is what :meth:`StreamManager.poll` hands out: data plus the positions needed
to commit it or to replay it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["StreamBatch", "StreamConfig", "StreamMode", "StreamSource"]


class StreamMode(StrEnum):
    """How a source produces batches.

    FILE_WATCH: new complete files in a folder. INTERVAL: the whole source again every
    ``interval_seconds``. INCREMENTAL: rows whose watermark column reached past the last
    committed high-water mark. EVENT: frames handed in with :meth:`StreamManager.push`.
    """

    FILE_WATCH = "file_watch"
    INTERVAL = "interval"
    INCREMENTAL = "incremental"
    EVENT = "event"


@dataclass
class StreamConfig:
    """Configuration of one stream source.

    Attributes:
        mode: the :class:`StreamMode` (its string value is accepted too).
        source_path: the folder to watch, or the file/folder to read (INTERVAL, INCREMENTAL).
        interval_seconds: INTERVAL mode: seconds between full reads.
        file_pattern: FILE_WATCH: ``fnmatch`` pattern for file names (case-sensitive).
        watermark_column: INCREMENTAL: the column whose values only grow (ids, timestamps).
        watermark_file: kept for the seed's API and not used: the watermark is folded into the
            source's state file ``<checkpoint_dir>/<name>.stream.json`` with the rest.
        batch_size: kept for the seed's API and not used (cap file batches with
            ``max_files_per_trigger``).
        format: csv, json or parquet (what the engine reads).
        read_options: passed to the engine's ``read``.
        max_files_per_trigger: FILE_WATCH: at most this many files per batch (oldest first).
        max_file_failures: FILE_WATCH: reads a file may fail before it is quarantined.
        key_columns: INCREMENTAL: columns that identify a row for boundary dedupe (default all).
        settle_seconds: FILE_WATCH fallback where read leases are unsupported: a file is
            complete once its size and mtime are unchanged since the previous poll or its mtime
            is older than this. Everywhere, a zero-byte file waits until it is this old, then
            counts as a failed read (retried, then quarantined), whatever the format.
        allow_overwrites: FILE_WATCH: re-read a committed file that was rewritten (new size or
            mtime). Off by default: committed files are treated as immutable and never
            stat-ed again, which keeps polls of large folders fast.
    """

    mode: StreamMode
    source_path: str
    interval_seconds: float = 60
    file_pattern: str = "*.*"
    watermark_column: str | None = None
    watermark_file: str | None = None
    batch_size: int = 1000
    format: str = "csv"
    read_options: dict[str, Any] = field(default_factory=dict)
    max_files_per_trigger: int | None = None
    max_file_failures: int = 3
    key_columns: list[str] | None = None
    settle_seconds: float = 5.0
    allow_overwrites: bool = False


@dataclass
class StreamSource:
    """One registered source: the seed's public record plus the manager's internal state.

    ``last_watermark`` and ``processed_files`` show what is *committed* (persisted); a polled
    but uncommitted batch is not in them.
    """

    name: str
    config: StreamConfig
    last_watermark: Any | None = None
    last_run: datetime | None = None
    processed_files: set[str] = field(default_factory=set)
    is_active: bool = False
    #: internal: the manager's cursor, committed state and pending batches
    runtime: Any = field(default=None, repr=False, compare=False)


@dataclass
class StreamBatch:
    """One polled batch.

    Attributes:
        source: the source name.
        data: the engine's frame.
        offsets: JSON data for the batch's end position: ``{"files": [[path, size, mtime_ns],
            ...]}`` (FILE_WATCH), ``{"watermark": {"type": ..., "value": ...}, "boundary":
            {rowkey: count}}`` (INCREMENTAL), ``{"read_at": epoch}`` (INTERVAL) or
            ``{"event_seq": n}`` (EVENT). :meth:`StreamManager.commit` persists it.
        start: the position the batch started from (same shape; ``{}`` for FILE_WATCH). Log
            ``{"start": batch.start, "end": batch.offsets}`` to replay the batch later.
        row_count: rows in ``data`` when counting is cheap (pandas), else None.
        files: FILE_WATCH: the files read, in order.
    """

    source: str
    data: Any
    offsets: dict[str, Any]
    start: dict[str, Any] = field(default_factory=dict)
    row_count: int | None = None
    files: list[str] = field(default_factory=list)

    @property
    def replay_record(self) -> dict[str, Any]:
        """``{"start": ..., "end": ...}``: what to pass as ``poll(..., replay=)`` later."""
        return {"start": self.start, "end": self.offsets}
