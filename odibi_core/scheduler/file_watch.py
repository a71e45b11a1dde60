"""FileWatcher: which files in a folder are new and complete, for FILE_WATCH schedules.

Deliberately small and in memory (the streaming package keeps a persisted, lease-checked
version for data pipelines): one ``os.scandir`` per poll, no file is opened. A file is
identified by (path, size, mtime): a file rewritten with another size or mtime is new again.
A file counts as *complete* once its size and mtime are the same at two consecutive polls, so
a file still being written is not delivered half-written; the price is that a new file is
delivered one poll after it is first seen.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Collection
from pathlib import Path

from ..filenames import IGNORED_SUFFIXES, is_ignored

__all__ = ["FileWatcher", "is_temporary"]

log = logging.getLogger(__name__)

TEMP_SUFFIXES = IGNORED_SUFFIXES

Signature = tuple[int, int]  # (size, mtime_ns)


#: hidden or in-progress names (the package's one rule, :func:`odibi_core.filenames.is_ignored`)
is_temporary = is_ignored


class FileWatcher:
    """Tracks one folder; :meth:`poll` returns files that are new and complete since last time.

    Args:
        folder: the folder to watch (not recursive). It may not exist yet.
        pattern: ``fnmatch`` pattern on file names, e.g. ``"*.csv"``.
        include_existing: deliver files already present now (default: they are the baseline).
    """

    def __init__(self, folder: str | os.PathLike[str], pattern: str = "*", *,
                 include_existing: bool = False) -> None:
        self.folder = Path(folder)
        self.pattern = pattern
        self._delivered: set[tuple[str, Signature]] = set()
        self._previous: dict[str, Signature] = {}
        if not include_existing:
            self._delivered = set(self._listing().items())

    def poll(self) -> list[Path]:
        """New complete files, oldest first (by mtime, then path). Not yet marked delivered:
        call :meth:`mark_delivered` once they were handed to a job."""
        current = self._listing()
        ready = [
            (signature[1], path) for path, signature in current.items()
            if (path, signature) not in self._delivered and self._previous.get(path) == signature
        ]
        self._previous = current
        return [Path(path) for _, path in sorted(ready)]

    def mark_delivered(self, paths: Collection[Path]) -> None:
        """Remember ``paths`` (at the size and mtime of the last poll) as handled."""
        for path in map(str, paths):
            if path in self._previous:
                self._delivered.add((path, self._previous[path]))

    def _listing(self) -> dict[str, Signature]:
        found: dict[str, Signature] = {}
        try:
            entries = os.scandir(self.folder)
        except FileNotFoundError:
            return found
        except OSError as exc:
            log.warning("file watch on %s cannot list the folder: %s", self.folder, exc)
            return found
        with entries:
            for entry in entries:
                name = entry.name
                if is_temporary(name) or not fnmatch.fnmatchcase(name, self.pattern):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    stat = entry.stat()
                except OSError:  # removed between listing and stat
                    continue
                found[entry.path] = (stat.st_size, stat.st_mtime_ns)
        return found
