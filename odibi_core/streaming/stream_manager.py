"""StreamManager: named stream sources, polled in batches, committed explicitly.

Commit protocol (what a continuous runner builds on):

* :meth:`StreamManager.poll` returns a :class:`StreamBatch` (or None). The in-memory cursor
  advances, so the next poll returns the next data, but NOTHING is persisted.
* :meth:`StreamManager.commit` persists the batch's end position atomically to
  ``<checkpoint_dir>/<name>.stream.json`` (seen files, watermark and boundary rows). Commit
  after the batch's output is durable; a batch polled but not committed is delivered again
  after a restart (at-least-once), and a runner that logs ``batch.replay_record`` before
  processing can replay it exactly with ``poll(name, replay=record)`` and then commit it.
* :meth:`StreamManager.read_batch` and :meth:`StreamManager.read` (the seed's API) commit
  automatically: asking for the next batch commits the previous one, since the caller is done
  with it. The last batch is committed only when the next one is asked for (``read`` commits
  when the loop resumes after a ``yield``): at-least-once for the batch in hand.

Per mode: FILE_WATCH (see :mod:`.watch`, :mod:`.files`), INCREMENTAL (see
:mod:`.incremental`), INTERVAL (the whole source every ``interval_seconds``; poll returns
None until due; replay re-reads the source as it is now) and EVENT (frames handed to
:meth:`StreamManager.push`; kept in memory only, so lost on restart: at-most-once across
restarts). All frame work goes through the engine context; ``engine`` is "pandas", "spark"
or an :class:`~odibi_core.engine.EngineContext`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..clock import utc_now
from ..engine import EngineContext, create_engine_context
from ..errors import ConfigError, OdibiError
from . import incremental, watch
from .config import StreamBatch, StreamConfig, StreamMode, StreamSource
from .errors import StreamError, StreamWarning
from .files import FileEntry
from .runtime import SourceRuntime
from .state import SourceState, decode_watermark, encode_watermark

__all__ = ["StreamManager"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StreamManager:
    """Stream sources by name; poll, commit, replay; the seed's read_batch/read on top.

    Args:
        checkpoint_dir: where each source's state file ``<name>.stream.json`` lives (created
            here, as in the seed). A new manager over the same folder continues where the
            last commit left off: committed files are never re-read, the watermark continues.
        clock: epoch seconds (default ``time.time``): INTERVAL due times, settle fallback.
        sleep: how :meth:`read` waits when idle (default ``time.sleep``).
    """

    def __init__(self, checkpoint_dir: str = "artifacts/checkpoints", *,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], Any] | None = None) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.sources: dict[str, StreamSource] = {}
        self._clock = clock or time.time
        self._sleep = sleep or time.sleep
        self._engines: dict[str, EngineContext] = {}
        self._lock = threading.RLock()
        log.info("StreamManager initialized with checkpoint_dir=%s", checkpoint_dir)

    @classmethod
    def from_source(cls, format: str, path: str, mode: str = "file_watch", interval: float = 60,
                    pattern: str = "*.*", watermark_column: str | None = None,
                    name: str | None = None, checkpoint_dir: str | None = None,
                    **read_options: Any) -> StreamManager:
        """A manager with one source; its name defaults to ``f"{format}_stream_0"``."""
        manager = cls(checkpoint_dir or "artifacts/checkpoints")
        source_name = name or f"{format}_stream_{len(manager.sources)}"
        manager.add_source(source_name, StreamConfig(
            mode=StreamMode(mode), source_path=str(path), interval_seconds=interval,
            file_pattern=pattern, watermark_column=watermark_column, format=format,
            read_options=read_options))
        return manager

    # -- sources ---------------------------------------------------------------------------
    def add_source(self, name: str, config: StreamConfig) -> None:
        """Register a source and load its persisted state. ConfigError for a duplicate or
        unusable name or an invalid config (INCREMENTAL without a watermark column, ...)."""
        with self._lock:
            if name in self.sources:
                raise ConfigError("stream manager", f"source {name!r} is already added;"
                                  f" sources: {sorted(self.sources)}")
            if not isinstance(name, str) or not _NAME.match(name):
                raise ConfigError("stream manager", f"source name {name!r} must match"
                                  f" {_NAME.pattern} (it names the state file)")
            _validate(name, config)
            state = SourceState.load(self.checkpoint_dir, name, config.mode.value,
                                     config.source_path)
            runtime = SourceRuntime(state=state)
            runtime.cursor = {"watermark": state.watermark, "boundary": dict(state.boundary)}
            source = StreamSource(name=name, config=config, runtime=runtime,
                                  last_watermark=decode_watermark(state.watermark),
                                  processed_files=set(state.seen))
            self.sources[name] = source
            log.info("Added source: %s (%s mode)", name, config.mode.value)

    def remove_source(self, name: str) -> None:
        """Forget a source (its state file stays, for a later add_source of the same name)."""
        with self._lock:
            if self.sources.pop(name, None) is not None:
                log.info("Removed source: %s", name)

    def push(self, name: str, frame: Any) -> None:
        """EVENT mode: queue a frame (pandas, or the polling engine's type) for the next poll."""
        with self._lock:
            source = self._source(name)
            if source.config.mode != StreamMode.EVENT:
                raise StreamError(f"source {name!r} is {source.config.mode.value!r}; push() is"
                                  f" for 'event' sources")
            source.runtime.events.append(frame)

    # -- the commit protocol ---------------------------------------------------------------
    def poll(self, name: str, engine: str | EngineContext = "pandas", *,
             replay: dict[str, Any] | None = None) -> StreamBatch | None:
        """The next batch of ``name`` (None when there is nothing new). Advances the in-memory
        cursor only; :meth:`commit` persists. ``replay`` (a logged ``{"start": ..., "end":
        ...}``, or a FILE_WATCH ``offsets`` dict) re-reads exactly that batch instead."""
        with self._lock:
            source = self._source(name)
            context = self._engine(engine)
            handler = {StreamMode.FILE_WATCH: self._poll_files,
                       StreamMode.INCREMENTAL: self._poll_incremental,
                       StreamMode.INTERVAL: self._poll_interval,
                       StreamMode.EVENT: self._poll_events}[source.config.mode]
            batch = handler(source, context, replay)
            if batch is not None:
                if batch.row_count is None and context.cheap_counts:
                    batch.row_count = context.count_rows(batch.data)
                source.runtime.pending.append(batch)
                source.last_run = utc_now()
                source.is_active = True
            return batch

    def commit(self, name: str, offsets: dict[str, Any] | None = None) -> None:
        """Persist the end position of the pending batches (all of them, in poll order) or,
        with ``offsets`` (an end position or a ``{"start", "end"}`` record), of that batch,
        as a restart rolling a logged batch forward does. Atomic; a no-op with nothing
        pending."""
        with self._lock:
            source = self._source(name)
            runtime = source.runtime
            if offsets is None:
                ends = [batch.offsets for batch in runtime.pending]
                runtime.pending.clear()
            else:
                end = offsets["end"] if "end" in offsets and "start" in offsets else offsets
                ends = [end]
                runtime.pending = [b for b in runtime.pending if b.offsets != end]
            if not ends:
                log.debug("commit(%s): nothing pending", name)
                return
            for end in ends:
                self._apply(source, end)
            state = runtime.state
            state.commits += len(ends)
            state.last_commit = utc_now().isoformat()
            state.save(self.checkpoint_dir)
            source.last_watermark = decode_watermark(state.watermark)

    # -- the seed's API ----------------------------------------------------------------------
    def read_batch(self, source_name: str, engine: str | EngineContext = "pandas") -> Any | None:
        """Commit the source's previous batch (the caller asking for the next one is done with
        it), poll, and return the new batch's frame or None."""
        self.commit(source_name)
        batch = self.poll(source_name, engine)
        return None if batch is None else batch.data

    def read(self, source_name: str | None = None, engine: str | EngineContext = "pandas",
             max_iterations: int | None = None, sleep_seconds: float = 5) -> Iterator[Any]:
        """Yield batches (frames) forever or for ``max_iterations`` polls; sleeps
        ``sleep_seconds`` only after a poll that found nothing. A batch is committed when the
        loop resumes after yielding it; leaving the loop early leaves it uncommitted."""
        if source_name is None:
            if not self.sources:
                raise ConfigError("stream manager", "no sources configured; add_source() first")
            source_name = next(iter(self.sources))
        iteration = 0
        while max_iterations is None or iteration < max_iterations:
            data = self.read_batch(source_name, engine)
            iteration += 1
            if data is not None:
                yield data
                self.commit(source_name)
            elif max_iterations is None or iteration < max_iterations:
                self._sleep(sleep_seconds)

    def get_status(self) -> dict[str, dict[str, Any]]:
        """Per source: the seed's keys (mode, last_run, last_watermark, processed_files as a
        count, is_active) plus pending (uncommitted batches), quarantined (paths) and
        failures (path -> failed reads so far)."""
        with self._lock:
            status = {}
            for name, source in self.sources.items():
                state = source.runtime.state
                status[name] = {
                    "mode": source.config.mode.value,
                    "last_run": source.last_run.isoformat() if source.last_run else None,
                    "last_watermark": (str(source.last_watermark)
                                       if source.last_watermark is not None else None),
                    "processed_files": len(source.processed_files),
                    "is_active": source.is_active,
                    "pending": len(source.runtime.pending),
                    "quarantined": sorted(state.quarantined),
                    "failures": {p: r["count"] for p, r in sorted(state.failures.items())},
                    "commits": state.commits,
                }
            return status

    # -- the seed's watermark helpers, on the state file ------------------------------------
    def _load_watermark(self, source: StreamSource) -> Any:
        """The committed watermark (from the state file, loaded at add_source)."""
        return decode_watermark(source.runtime.state.watermark)

    def _save_watermark(self, source: StreamSource, value: Any) -> None:
        """Set and persist the committed watermark (no boundary rows known) and the cursor."""
        position = {"watermark": encode_watermark(value), "boundary": {}}
        source.runtime.state.watermark, source.runtime.state.boundary = position["watermark"], {}
        source.runtime.cursor = position
        source.runtime.state.save(self.checkpoint_dir)
        source.last_watermark = value

    # -- modes -----------------------------------------------------------------------------------
    def _poll_files(self, source: StreamSource, context: EngineContext,
                    replay: dict[str, Any] | None) -> StreamBatch | None:
        config, runtime = source.config, source.runtime
        if replay is not None:
            end = replay.get("end", replay)
            frames, entries = watch.replay_files(context, source.name, config, end.get("files", []))
        else:
            if not Path(config.source_path).is_dir():
                if not runtime.warned_missing:
                    runtime.warned_missing = True
                    message = (f"source {source.name!r}: {config.source_path!r} is not a folder"
                               f" (yet); polls return None until it exists")
                    log.warning(message)
                    warnings.warn(message, StreamWarning, stacklevel=4)
                return None
            runtime.warned_missing = False
            candidates = watch.complete_files(runtime, config, self._clock)
            frames, entries = watch.read_files(
                context, source.name, config, runtime, candidates,
                lambda: runtime.state.save(self.checkpoint_dir))
        if not frames:
            return None
        for entry in entries:
            runtime.inflight[entry.path] = entry
        log.info("source %s: batch of %s file(s)", source.name, len(entries))
        return StreamBatch(source.name, context.union_all(frames),
                           {"files": [entry.to_record() for entry in entries]}, {},
                           files=[entry.path for entry in entries])

    def _poll_incremental(self, source: StreamSource, context: EngineContext,
                          replay: dict[str, Any] | None) -> StreamBatch | None:
        runtime = source.runtime
        if replay is not None:
            if "start" not in replay or "end" not in replay:
                raise StreamError(f"source {source.name!r}: replaying an incremental batch needs"
                                  f" {{'start': ..., 'end': ...}} (log batch.replay_record), got"
                                  f" keys {sorted(replay)}")
            start, end = replay["start"], replay["end"]
            found = incremental.read_increment(context, source.name, source.config, start, end)
        else:
            start = runtime.cursor
            found = incremental.read_increment(context, source.name, source.config, start)
        if found is None:
            return None
        frame, end = found
        runtime.cursor = incremental.advance(runtime.cursor, end)
        return StreamBatch(source.name, frame, end, dict(start))

    def _poll_interval(self, source: StreamSource, context: EngineContext,
                       replay: dict[str, Any] | None) -> StreamBatch | None:
        config, runtime = source.config, source.runtime
        now = self._clock()
        if replay is None:
            if runtime.next_due is None and "read_at" in runtime.state.position:
                runtime.next_due = float(runtime.state.position["read_at"]) + config.interval_seconds
            if runtime.next_due is not None and now < runtime.next_due:
                return None
            due = runtime.next_due if runtime.next_due is not None else now
            runtime.next_due = due + config.interval_seconds
            if runtime.next_due <= now:  # missed slots are skipped, not run in a burst
                runtime.next_due = now + config.interval_seconds
        try:
            frame = context.read(config.source_path, format=config.format, **config.read_options)
        except OdibiError as exc:
            raise StreamError(f"source {source.name!r}: cannot read {config.source_path!r}:"
                              f" {exc}") from exc
        end = replay.get("end", replay) if replay is not None else {"read_at": now}
        return StreamBatch(source.name, frame, dict(end), dict(runtime.state.position))

    def _poll_events(self, source: StreamSource, context: EngineContext,
                     replay: dict[str, Any] | None) -> StreamBatch | None:
        runtime = source.runtime
        if replay is not None:
            span = (int(replay["start"]["event_seq"]), int(replay["end"]["event_seq"]))
            frames = runtime.event_log.get(span)
            if frames is None:
                raise StreamError(f"source {source.name!r}: events {span} cannot be replayed:"
                                  f" events are kept in memory only until their batch commits")
        else:
            if not runtime.events:
                return None
            frames = list(runtime.events)
            runtime.events.clear()
            span = (runtime.event_seq, runtime.event_seq + len(frames))
            runtime.event_seq = span[1]
            runtime.event_log[span] = frames
        data = context.union_all([f if context.is_frame(f) else context.from_pandas(f)
                                  for f in frames])
        return StreamBatch(source.name, data, {"event_seq": span[1]}, {"event_seq": span[0]})

    # -- helpers ------------------------------------------------------------------------------
    def _apply(self, source: StreamSource, end: dict[str, Any]) -> None:
        """Move the committed state to ``end`` (not yet saved)."""
        runtime, state = source.runtime, source.runtime.state
        mode = source.config.mode
        if mode == StreamMode.FILE_WATCH:
            for record in end.get("files", []):
                entry = FileEntry.from_record(record)
                state.seen[entry.path] = (entry.size, entry.mtime_ns)
                state.failures.pop(entry.path, None)
                if runtime.inflight.get(entry.path) == entry:
                    del runtime.inflight[entry.path]
                source.processed_files.add(entry.path)
        elif mode == StreamMode.INCREMENTAL:
            state.watermark = end.get("watermark")
            state.boundary = dict(end.get("boundary") or {})
            runtime.cursor = incremental.advance(runtime.cursor, end)
        else:
            state.position = dict(end)
            if mode == StreamMode.EVENT:
                done = int(end["event_seq"])
                runtime.event_log = {k: v for k, v in runtime.event_log.items() if k[1] > done}

    def _source(self, name: str) -> StreamSource:
        source = self.sources.get(name)
        if source is None:
            raise ConfigError("stream manager", f"unknown source {name!r}; sources:"
                              f" {sorted(self.sources)}")
        return source

    def _engine(self, engine: str | EngineContext) -> EngineContext:
        if isinstance(engine, EngineContext):
            return engine
        key = str(engine).lower()
        if key not in self._engines:
            self._engines[key] = create_engine_context(key)
        return self._engines[key]


def _validate(name: str, config: StreamConfig) -> None:
    try:
        config.mode = StreamMode(config.mode)
    except ValueError as exc:
        raise ConfigError(f"stream source {name!r}", f"unknown mode {config.mode!r}; expected one"
                          f" of {[m.value for m in StreamMode]}") from exc
    problems = []
    if config.mode == StreamMode.INCREMENTAL and not config.watermark_column:
        problems.append("incremental mode needs watermark_column")
    if config.interval_seconds is None or config.interval_seconds <= 0:
        problems.append(f"interval_seconds must be > 0, got {config.interval_seconds!r}")
    if config.max_files_per_trigger is not None and config.max_files_per_trigger < 1:
        problems.append(f"max_files_per_trigger must be >= 1 or None, got"
                        f" {config.max_files_per_trigger!r}")
    if config.max_file_failures < 1:
        problems.append(f"max_file_failures must be >= 1, got {config.max_file_failures!r}")
    if config.settle_seconds < 0:
        problems.append(f"settle_seconds must be >= 0, got {config.settle_seconds!r}")
    if problems:
        raise ConfigError(f"stream source {name!r}", "; ".join(problems))
