"""A checkpoint store in one SQLite file: threads of runs, safe with several processes at once.

The store's ``dag_name`` is a **thread id**: one logical run or workflow (``"workflow-123"``,
``"sales_nightly"``) whose checkpoints follow each other as generations 1, 2, 3... Every thread
of every run lives in one table of one database file::

    checkpoints(thread_id TEXT, sequence INTEGER, data BLOB, created_at REAL,
                PRIMARY KEY (thread_id, sequence))
    sequence_counters(thread_id TEXT PRIMARY KEY, last_sequence INTEGER)

``created_at`` is the checkpoint's creation time in Unix seconds (the manager passes it with
:meth:`SqliteCheckpointStore.put_at`; a plain :meth:`put` stamps the current time). It is what
:meth:`~odibi_core.checkpoint.CheckpointManager.cleanup_old_checkpoints` reads.

Concurrency: the database runs in WAL mode (readers never block the writer); every write is
one ``BEGIN IMMEDIATE`` transaction, and a connection waits up to ``timeout`` seconds for
another writer instead of failing. Several threads and several processes may share one file.
Unlike the file store, this store allocates sequence numbers itself (:meth:`allocate`, one
transaction that bumps ``sequence_counters``), so two processes saving checkpoints of the same
thread never get the same number, and a deleted number is never handed out again.

Each thread of the Python process gets its own connection (SQLite connections must not be
shared while in use); :meth:`close` closes them all.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..clock import utc_now
from ..errors import ConfigError, OdibiError
from ..sqlite import connect, immediate
from .model import validate_dag_name, validate_sequence
from .store import CheckpointStore

__all__ = ["SqliteCheckpointStore"]

log = logging.getLogger(__name__)

#: bumped when the tables change shape; a database of another version is refused
SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS checkpoints (
        thread_id TEXT NOT NULL,
        sequence INTEGER NOT NULL CHECK (sequence >= 1),
        data BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (thread_id, sequence))""",
    """CREATE TABLE IF NOT EXISTS sequence_counters (
        thread_id TEXT PRIMARY KEY,
        last_sequence INTEGER NOT NULL)""",
)

_SYNCHRONOUS = ("FULL", "NORMAL")


class SqliteCheckpointStore(CheckpointStore):
    """Checkpoint bytes in the SQLite database at ``path``, keyed by (thread id, sequence).

    Args:
        path: the database file; it and its folder are created on the first use. ``":memory:"``
            is refused (each connection would see its own empty database): use
            :class:`~odibi_core.checkpoint.MemoryCheckpointStore`.
        timeout: seconds a write waits for another connection's write to finish before
            raising (SQLite's busy timeout).
        synchronous: ``"FULL"`` (default) fsyncs every commit, so a saved checkpoint survives a
            power cut like the file store's; ``"NORMAL"`` is faster and survives a crash of the
            process but may lose the last commits on power loss.

    Locations read ``sqlite:<path>#<thread_id>/<sequence:08d>``.
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0,
                 synchronous: str = "FULL") -> None:
        if str(path) == ":memory:" or str(path).startswith("file::memory:"):
            raise ConfigError("SqliteCheckpointStore", "an in-memory SQLite database is not "
                              "shared between connections; use MemoryCheckpointStore")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ConfigError("SqliteCheckpointStore", f"timeout must be a number of seconds "
                              f">= 0, got {timeout!r}")
        if not isinstance(synchronous, str) or synchronous.upper() not in _SYNCHRONOUS:
            raise ConfigError("SqliteCheckpointStore", f"synchronous must be one of "
                              f"{', '.join(_SYNCHRONOUS)}, got {synchronous!r}")
        self.database = Path(path)
        self.timeout = float(timeout)
        self.synchronous = synchronous.upper()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []  # from a parent process: never touched

    def __repr__(self) -> str:
        return f"SqliteCheckpointStore({str(self.database)!r})"

    # -- connections ------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        connection = connect(self.database, timeout=self.timeout, synchronous=self.synchronous)
        try:
            with immediate(connection):
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise OdibiError(f"checkpoint database {self.database} has schema version "
                                     f"{version}; this odibi_core reads version {SCHEMA_VERSION}")
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Translate SQLite errors (a locked database past the timeout, a file that is not a
        database...) into :class:`OdibiError` naming the database and the action."""
        try:
            yield
        except sqlite3.Error as exc:
            raise OdibiError(f"checkpoint database {self.database}: cannot {action}: "
                             f"{exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again in a forked child, which
        must not use its parent's connections)."""
        pid = os.getpid()
        if pid != self._pid:
            with self._lock:
                if pid != self._pid:
                    self._inherited.extend(self._connections)
                    self._connections = []
                    self._local = threading.local()
                    self._pid = pid
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection this store opened in this process. The store stays usable:
        the next call opens a new connection."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for connection in connections:
            connection.close()

    def __enter__(self) -> SqliteCheckpointStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the store interface ----------------------------------------------------------------

    def location(self, dag_name: str, sequence: int) -> str:
        return (f"sqlite:{self.database}#{validate_dag_name(dag_name)}/"
                f"{validate_sequence(sequence):08d}")

    def put(self, dag_name: str, sequence: int, data: bytes) -> str:
        """Store ``data`` stamped with the current time (see :meth:`put_at`)."""
        return self.put_at(dag_name, sequence, data, utc_now())

    def put_at(self, dag_name: str, sequence: int, data: bytes, created_at: datetime) -> str:
        """Store ``data`` in one transaction, replacing the row of this (thread, sequence), with
        ``created_at`` as its timestamp; the thread's counter is raised past ``sequence`` so
        :meth:`allocate` never hands it out again."""
        validate_dag_name(dag_name)
        validate_sequence(sequence)
        stamp = created_at.timestamp()
        with self._guard(f"save {dag_name}/{sequence:08d}"), \
                immediate(self._connection()) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO checkpoints (thread_id, sequence, data, created_at) "
                "VALUES (?, ?, ?, ?)", (dag_name, sequence, sqlite3.Binary(bytes(data)), stamp))
            connection.execute(
                "INSERT INTO sequence_counters (thread_id, last_sequence) VALUES (?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET "
                "last_sequence = max(last_sequence, excluded.last_sequence)", (dag_name, sequence))
        return self.location(dag_name, sequence)

    def get(self, dag_name: str, sequence: int) -> bytes | None:
        validate_dag_name(dag_name)
        validate_sequence(sequence)
        with self._guard(f"read {dag_name}/{sequence:08d}"):
            row = self._connection().execute(
                "SELECT data FROM checkpoints WHERE thread_id = ? AND sequence = ?",
                (dag_name, sequence)).fetchone()
        return None if row is None else bytes(row[0])

    def sequences(self, dag_name: str) -> list[int]:
        validate_dag_name(dag_name)
        with self._guard(f"list the checkpoints of {dag_name!r}"):
            rows = self._connection().execute(
                "SELECT sequence FROM checkpoints WHERE thread_id = ? ORDER BY sequence",
                (dag_name,)).fetchall()
        return [row[0] for row in rows]

    def delete(self, dag_name: str, sequence: int) -> bool:
        validate_dag_name(dag_name)
        validate_sequence(sequence)
        with self._guard(f"delete {dag_name}/{sequence:08d}"), \
                immediate(self._connection()) as connection:
            cursor = connection.execute(
                "DELETE FROM checkpoints WHERE thread_id = ? AND sequence = ?", (dag_name, sequence))
        return cursor.rowcount > 0

    def dag_names(self) -> list[str]:
        """Every thread id with at least one stored checkpoint, sorted."""
        with self._guard("list the thread ids"):
            rows = self._connection().execute(
                "SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id").fetchall()
        return [row[0] for row in rows]

    def created_times(self, dag_name: str) -> dict[int, datetime]:
        """Sequence -> stored ``created_at`` (UTC) for every checkpoint of the thread."""
        validate_dag_name(dag_name)
        with self._guard(f"read the timestamps of {dag_name!r}"):
            rows = self._connection().execute(
                "SELECT sequence, created_at FROM checkpoints WHERE thread_id = ?",
                (dag_name,)).fetchall()
        return {sequence: datetime.fromtimestamp(stamp, UTC) for sequence, stamp in rows}

    def allocate(self, dag_name: str) -> int:
        """The thread's next sequence number, reserved in one ``BEGIN IMMEDIATE`` transaction:
        one more than the highest number ever allocated or stored for it. Safe across threads
        and processes; numbers are never reused, even after their checkpoints are deleted."""
        validate_dag_name(dag_name)
        with self._guard(f"allocate a sequence for {dag_name!r}"), \
                immediate(self._connection()) as connection:
            row = connection.execute(
                "SELECT max(coalesce((SELECT last_sequence FROM sequence_counters "
                "WHERE thread_id = ?1), 0), coalesce((SELECT max(sequence) FROM checkpoints "
                "WHERE thread_id = ?1), 0)) + 1", (dag_name,)).fetchone()
            sequence = int(row[0])
            connection.execute(
                "INSERT INTO sequence_counters (thread_id, last_sequence) VALUES (?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET last_sequence = excluded.last_sequence",
                (dag_name, sequence))
        return sequence
