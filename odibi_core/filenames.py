"""The one rule for file names that are not data: hidden, temporary or still being copied.

Shared by the streaming file source, the scheduler's file watch and the cache's source
fingerprints, so a file one of them skips is skipped by all.
"""

from __future__ import annotations

__all__ = ["IGNORED_SUFFIXES", "is_ignored"]

#: endings of temporary and partial downloads / copies
IGNORED_SUFFIXES = (".tmp", ".temp", ".part", ".crdownload", "~")


def is_ignored(name: str) -> bool:
    """Whether a file (or folder) name is hidden (leading ``.``), a marker (leading ``_``, as
    ``_SUCCESS``), temporary (:data:`IGNORED_SUFFIXES`) or mid-copy (``_COPYING_``, what
    ``hdfs dfs -put`` writes first)."""
    return name.startswith((".", "_")) or name.endswith(IGNORED_SUFFIXES) or "_COPYING_" in name
