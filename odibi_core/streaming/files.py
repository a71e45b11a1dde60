"""Which files in a watched folder are new and complete, and in what order.

Listing is one ``os.scandir`` plus a compiled ``fnmatch`` pattern; an already-seen file costs
a dict lookup (and, when rewrites are detected, one stat), never an open. Hidden and temporary names are
ignored: a leading ``.`` or ``_``, the suffixes ``.tmp``, ``.part``, ``.crdownload``, and names
containing ``_COPYING_`` (what ``hdfs dfs -put`` writes first).

Complete-file rule. A file is taken only when no process has it open for writing. On Linux
this is asked of the kernel with a read lease (``fcntl(F_SETLEASE, F_RDLCK)`` on a read-only
descriptor fails with EAGAIN while any writer has the file open; the lease is released at
once). Where leases are unsupported (EINVAL, EACCES for files of another owner, non-Linux) the
fallback is: size and mtime unchanged since the previous poll, or mtime older than
``settle_seconds``. Producers that write elsewhere and rename into the folder are always safe.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..filenames import is_ignored

__all__ = ["FileEntry", "is_ignored", "list_files", "writer_has_open"]

try:  # Linux only
    import fcntl

    _LEASE = getattr(fcntl, "F_SETLEASE", None)
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    _LEASE = None


@dataclass(frozen=True, order=True)
class FileEntry:
    """A file as listed; ordering is (mtime_ns, path), the order batches take files in.
    Identity is the whole triple: a file rewritten with a new size or mtime is a new file."""

    mtime_ns: int
    path: str
    size: int

    def to_record(self) -> list[object]:
        return [self.path, self.size, self.mtime_ns]

    @classmethod
    def from_record(cls, record: list[object] | tuple[object, ...]) -> FileEntry:
        path, size, mtime_ns = record
        return cls(mtime_ns=int(mtime_ns), path=str(path), size=int(size))


def list_files(folder: str | os.PathLike[str], pattern: str,
               seen: Mapping[str, tuple[int, int]] | None = None,
               skip: Callable[[str, int, int], bool] | None = None, *,
               stat_seen: bool = True) -> list[FileEntry]:
    """Regular files in ``folder`` (not recursive) whose names match ``pattern`` and are not
    ignored, sorted by (mtime_ns, path). Files whose ``seen[path] == (size, mtime_ns)`` or
    for which ``skip(path, size, mtime_ns)`` is true are left out. With ``stat_seen=False`` a
    path in ``seen`` is left out whatever its size and mtime, without a stat (files are
    immutable once seen, as Spark's file source assumes): a poll of a folder of 20,000 seen
    files then costs a directory listing and a dict lookup per name."""
    match = re.compile(fnmatch.translate(pattern)).match
    base = os.path.abspath(folder)
    prefix = base if base.endswith(os.sep) else base + os.sep
    known = seen if seen is not None else {}
    found = []
    with os.scandir(base) as entries:
        for entry in entries:
            name = entry.name
            if not match(name) or is_ignored(name):
                continue
            path = prefix + name
            if not stat_seen and path in known:
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:  # removed while listing
                continue
            identity = (stat.st_size, stat.st_mtime_ns)
            if known.get(path) == identity or (
                    skip is not None and skip(path, *identity)):
                continue
            found.append(FileEntry(stat.st_mtime_ns, path, stat.st_size))
    found.sort()
    return found


def writer_has_open(path: str | Path) -> bool | None:
    """True when some process has ``path`` open for writing, False when none has, None when
    this system cannot tell (no read leases here): then use the size/mtime fallback.

    The lease-break signal is redirected from SIGIO (which would end the process) to SIGURG
    (ignored by default), in case a writer opens the file during the microseconds it is held.
    """
    if _LEASE is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        try:
            fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
            fcntl.fcntl(fd, _LEASE, fcntl.F_RDLCK)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EBUSY):
                return True
            return None
        fcntl.fcntl(fd, _LEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)
