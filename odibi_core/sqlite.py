"""SQLite for odibi's local stores (job records, checkpoints): safe with several processes.

- WAL journal mode: readers never block the writer, and the writer never blocks readers.
- A busy timeout: a writer waits for another process's write lock instead of failing at once.
- Writes go through :func:`immediate`: ``BEGIN IMMEDIATE`` takes the write lock up front, so a
  read-then-write inside one transaction cannot race another writer (no lost updates, no
  deadlocking upgrade from a read lock).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["connect", "immediate"]

log = logging.getLogger(__name__)


def connect(path: str | Path, *, timeout: float = 30.0, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection in autocommit mode (transactions only through :func:`immediate`), usable
    from any thread (callers serialise its use), with the busy timeout set and WAL on.

    Switching to WAL can report "database is locked" at once (no busy wait) while another
    process is creating the file, so that step is retried until ``timeout``.
    Raises ``sqlite3.Error`` (callers translate it, naming their store)."""
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                 check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            log.warning("SQLite database %s runs in journal mode %r, not WAL", path, mode)
        connection.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` (waiting up to the busy timeout for the write
    lock), COMMIT on success, ROLLBACK on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
