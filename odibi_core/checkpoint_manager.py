"""``from odibi_core.checkpoint_manager import CheckpointManager, CheckpointMode``: the import
path the Level 3/4 lessons use.

The code lives in :mod:`odibi_core.checkpoint`.
"""

from __future__ import annotations

from .checkpoint import (
    Checkpoint,
    CheckpointCorruptError,
    CheckpointManager,
    CheckpointMode,
    CheckpointStore,
    CheckpointWarning,
    FileCheckpointStore,
    MemoryCheckpointStore,
    NodeCheckpoint,
    SqliteCheckpointStore,
)

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
