"""Checkpoints of DAG runs: atomic, versioned, checksummed JSON files with generations.

Records live in :mod:`.model`, the file format in :mod:`.codec`, where the bytes go in
:mod:`.store` (a folder of files, a dict in memory) and :mod:`.sqlite_store` (one SQLite file,
safe with several processes), and the :class:`CheckpointManager` that ties them together in
:mod:`.checkpoint_manager`.
"""

from __future__ import annotations

from .checkpoint_manager import CheckpointManager
from .model import (
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMode,
    CheckpointWarning,
    NodeCheckpoint,
)
from .sqlite_store import SqliteCheckpointStore
from .store import CheckpointStore, FileCheckpointStore, MemoryCheckpointStore

__all__ = [
    "Checkpoint",
    "CheckpointCorruptError",
    "CheckpointManager",
    "CheckpointMode",
    "CheckpointStore",
    "CheckpointWarning",
    "FileCheckpointStore",
    "MemoryCheckpointStore",
    "NodeCheckpoint",
    "SqliteCheckpointStore",
]
