"""File-watch batches: new complete files, oldest first, failures retried then quarantined.

A file is delivered at most once: the committed seen-set of (path, size, mtime_ns) is persisted,
so a restart does not re-read committed files. Files are immutable once committed by default
(as Spark's file source and Auto Loader assume), so a poll never stats a committed file; with
``allow_overwrites=True`` each committed file is stat-ed on every poll and one rewritten with
a new size or mtime counts as a new file and is read again. A file that fails to read is NOT marked
processed: its failure count is persisted and it is retried on later polls; after
``max_file_failures`` failures it is quarantined (a log line and a :class:`StreamWarning`
name the file and the error; it is listed in the status and never delivered). Rewriting a
quarantined file (new size or mtime) gives it a fresh start.

A zero-byte file is not complete, in any format: it is what a producer leaves between
creating a file and writing it (a lease cannot tell, once the producer has closed it), or what
a broken producer leaves. It is not taken until it has content or has been empty for
``settle_seconds``; after that it is an unreadable file like any other (retried, then
quarantined), never delivered as an empty batch and marked processed.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.base import EngineContext
from ..errors import OdibiError
from .config import StreamConfig
from .errors import StreamError, StreamWarning
from .files import FileEntry, list_files, writer_has_open
from .runtime import SourceRuntime

__all__ = ["complete_files", "read_files", "replay_files"]

log = logging.getLogger(__name__)


def complete_files(runtime: SourceRuntime, config: StreamConfig,
                   clock: Callable[[], float] = time.time) -> list[FileEntry]:
    """New files (not committed, not in flight, not quarantined) that are complete, in
    (mtime_ns, path) order, at most ``max_files_per_trigger``."""
    state, inflight = runtime.state, runtime.inflight

    def known(path: str, size: int, mtime_ns: int) -> bool:
        taken = inflight.get(path)
        if taken is not None and (taken.size, taken.mtime_ns) == (size, mtime_ns):
            return True
        bad = state.quarantined.get(path)
        return bad is not None and (bad["size"], bad["mtime_ns"]) == (size, mtime_ns)

    cap = config.max_files_per_trigger
    chosen: list[FileEntry] = []
    watching: dict[str, tuple[int, int]] = {}
    now = clock()
    for entry in list_files(config.source_path, config.file_pattern, state.seen, known,
                            stat_seen=config.allow_overwrites):
        if cap is not None and len(chosen) >= cap:
            break
        if entry.size == 0 and now - entry.mtime_ns / 1e9 < config.settle_seconds:
            continue  # created, not written yet: wait for content (or settle_seconds)
        busy = writer_has_open(entry.path)
        if busy is None:  # no leases here: stable since the last poll, or old enough
            identity = (entry.size, entry.mtime_ns)
            watching[entry.path] = identity
            settled = now - entry.mtime_ns / 1e9 >= config.settle_seconds
            busy = not (settled or runtime.candidates.get(entry.path) == identity)
        if not busy:
            chosen.append(entry)
    runtime.candidates = watching
    return chosen


def read_files(engine: EngineContext, name: str, config: StreamConfig, runtime: SourceRuntime,
               entries: list[FileEntry], save: Callable[[], Any]) -> tuple[list[Any], list[FileEntry]]:
    """Read each file; returns the frames and the entries read. Failures are counted (and
    persisted through ``save``), quarantining a file after ``max_file_failures``."""
    frames, read = [], []
    failed = False
    for entry in entries:
        try:
            frames.append(_read(engine, config, entry))
        except OdibiError as exc:
            failed = True
            _record_failure(name, config, runtime, entry, exc)
            continue
        runtime.state.failures.pop(entry.path, None)
        read.append(entry)
    if failed:
        save()
    return frames, read


def _read(engine: EngineContext, config: StreamConfig, entry: FileEntry) -> Any:
    """The file's frame; an empty file is unreadable whatever the format (some readers would
    return an empty frame for it, others fail)."""
    if entry.size == 0:
        raise StreamError(f"{entry.path} is empty (0 bytes for at least {config.settle_seconds:g}"
                          f" s); expected a {config.format} file with content")
    return engine.read(entry.path, format=config.format, **config.read_options)


def _record_failure(name: str, config: StreamConfig, runtime: SourceRuntime, entry: FileEntry,
                    exc: Exception) -> None:
    state = runtime.state
    previous = state.failures.get(entry.path)
    same = previous is not None and (previous["size"], previous["mtime_ns"]) == (entry.size,
                                                                                 entry.mtime_ns)
    count = previous["count"] + 1 if same else 1
    record = {"size": entry.size, "mtime_ns": entry.mtime_ns, "count": count, "error": str(exc)}
    if count < config.max_file_failures:
        state.failures[entry.path] = record
        log.warning("source %s: cannot read %s (failure %s of %s, will retry): %s", name,
                    entry.path, count, config.max_file_failures, exc)
        return
    state.failures.pop(entry.path, None)
    state.quarantined[entry.path] = record
    message = (f"source {name!r}: quarantined {entry.path!r} after {count} failed reads; it will"
               f" not be delivered (rewrite the file to retry it). Last error: {exc}")
    log.error(message)
    warnings.warn(message, StreamWarning, stacklevel=4)


def replay_files(engine: EngineContext, name: str, config: StreamConfig,
                 records: list[Any]) -> tuple[list[Any], list[FileEntry]]:
    """Re-read exactly the logged files; StreamError when one is gone, changed or unreadable."""
    entries = [FileEntry.from_record(record) for record in records]
    frames = []
    for entry in entries:
        try:
            stat = os.stat(entry.path)
        except FileNotFoundError as exc:
            raise StreamError(f"source {name!r}: cannot replay {entry.path!r}: the file is gone")\
                from exc
        if (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns):
            raise StreamError(f"source {name!r}: cannot replay {entry.path!r}: expected size"
                              f" {entry.size} and mtime_ns {entry.mtime_ns}, found"
                              f" {stat.st_size} and {stat.st_mtime_ns} (it was rewritten)")
        try:
            frames.append(engine.read(str(Path(entry.path)), format=config.format,
                                      **config.read_options))
        except OdibiError as exc:
            raise StreamError(f"source {name!r}: cannot replay {entry.path!r}: {exc}") from exc
    return frames, entries
