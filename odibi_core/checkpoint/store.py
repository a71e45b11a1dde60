"""Where checkpoint files live: a tiny store interface, a folder on disk and a dict in memory.

A store keeps opaque bytes under ``(dag_name, sequence)``; it knows nothing of checkpoints,
checksums or executors (the manager encodes and checks). Each DAG has its own namespace, so the
generations of DAG ``"a"`` never mix with those of ``"a_b"``.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath

from ..atomic import atomic_write
from ..errors import ConfigError
from .model import validate_dag_name, validate_sequence

__all__ = ["CheckpointStore", "FileCheckpointStore", "MemoryCheckpointStore"]

_FILE_NAME = re.compile(r"([0-9]{8,})\.json")


def _is_dag_name(name: str) -> bool:
    try:
        validate_dag_name(name)
    except ConfigError:
        return False
    return True


def _file_name(sequence: int) -> str:
    return f"{validate_sequence(sequence):08d}.json"


class CheckpointStore(ABC):
    """Keeps checkpoint bytes by DAG name and sequence number. Implementations are thread-safe;
    one process at a time writes a given DAG's checkpoints, unless the store implements
    :meth:`allocate` (the SQLite store does)."""

    @abstractmethod
    def put(self, dag_name: str, sequence: int, data: bytes) -> str:
        """Store ``data`` atomically (a reader sees the old bytes or the new, never a mix),
        replacing any bytes already under this sequence; returns :meth:`location`."""

    @abstractmethod
    def get(self, dag_name: str, sequence: int) -> bytes | None:
        """The bytes stored under this sequence, or None when there are none."""

    @abstractmethod
    def sequences(self, dag_name: str) -> list[int]:
        """Every sequence stored for ``dag_name``, ascending (oldest first)."""

    @abstractmethod
    def delete(self, dag_name: str, sequence: int) -> bool:
        """Remove this sequence's bytes; whether there were any."""

    @abstractmethod
    def location(self, dag_name: str, sequence: int) -> str:
        """A human-readable place for this sequence, used in messages (a file path, a URI)."""

    def path(self, dag_name: str, sequence: int) -> PurePath:
        """:meth:`location` as a path (a real :class:`~pathlib.Path` for file stores)."""
        return PurePosixPath(self.location(dag_name, sequence))

    # -- optional: stores may override these; the defaults keep a minimal store working -------

    def put_at(self, dag_name: str, sequence: int, data: bytes, created_at: datetime) -> str:
        """:meth:`put`, telling the store when the checkpoint was created. A store that keeps
        timestamps (see :meth:`created_times`) records ``created_at``; the default ignores it."""
        return self.put(dag_name, sequence, data)

    def created_times(self, dag_name: str) -> dict[int, datetime] | None:
        """Sequence -> creation time of ``dag_name``'s checkpoints, or None when the store keeps
        no timestamps (the default; the manager then reads ``created_at`` from the data)."""
        return None

    def allocate(self, dag_name: str) -> int | None:
        """Reserve ``dag_name``'s next sequence number, unique even across processes, or None
        when the store cannot (the default: the manager allocates in-process from
        :meth:`sequences`, so one process at a time should save a given DAG)."""
        return None

    def dag_names(self) -> list[str]:
        """Every DAG name with at least one stored checkpoint, sorted. The default raises
        ConfigError: a store that cannot list its DAGs needs a ``dag_name`` from the caller."""
        raise ConfigError(repr(self), "this checkpoint store cannot list its DAG names; "
                          "pass dag_name")


class FileCheckpointStore(CheckpointStore):
    """One JSON file per checkpoint: ``<root>/<dag_name>/<sequence:08d>.json``.

    Writes go through :func:`odibi_core.atomic.atomic_write` (temp file, fsync, ``os.replace``,
    fsync the folder), so a crash mid-write leaves the previous files intact. Temp files start
    with ``.`` and are never listed. Folders are created on the first write.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileCheckpointStore({str(self.root)!r})"

    def _path(self, dag_name: str, sequence: int) -> Path:
        return self.root / validate_dag_name(dag_name) / _file_name(sequence)

    def path(self, dag_name: str, sequence: int) -> Path:
        return self._path(dag_name, sequence)

    def location(self, dag_name: str, sequence: int) -> str:
        return str(self._path(dag_name, sequence))

    def put(self, dag_name: str, sequence: int, data: bytes) -> str:
        path = atomic_write(self._path(dag_name, sequence), lambda handle: handle.write(data))
        return str(path)

    def get(self, dag_name: str, sequence: int) -> bytes | None:
        try:
            return self._path(dag_name, sequence).read_bytes()
        except FileNotFoundError:
            return None

    def sequences(self, dag_name: str) -> list[int]:
        folder = self.root / validate_dag_name(dag_name)
        try:
            names = [entry.name for entry in folder.iterdir() if entry.is_file()]
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(_FILE_NAME.fullmatch, names) if m)

    def delete(self, dag_name: str, sequence: int) -> bool:
        path = self._path(dag_name, sequence)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def dag_names(self) -> list[str]:
        """Sub-folders of the root named like a DAG that hold at least one checkpoint file."""
        try:
            folders = [entry.name for entry in self.root.iterdir() if entry.is_dir()]
        except FileNotFoundError:
            return []
        return sorted(name for name in folders
                      if _is_dag_name(name) and self.sequences(name))


class MemoryCheckpointStore(CheckpointStore):
    """Checkpoint bytes in a lock-guarded dict; for tests and runs that need no persistence.
    Locations read ``memory:<dag_name>/<sequence:08d>.json``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, int], bytes] = {}

    def __repr__(self) -> str:
        return f"MemoryCheckpointStore({len(self._data)} checkpoints)"

    @staticmethod
    def _key(dag_name: str, sequence: int) -> tuple[str, int]:
        return validate_dag_name(dag_name), validate_sequence(sequence)

    def location(self, dag_name: str, sequence: int) -> str:
        return f"memory:{validate_dag_name(dag_name)}/{_file_name(sequence)}"

    def put(self, dag_name: str, sequence: int, data: bytes) -> str:
        key = self._key(dag_name, sequence)
        with self._lock:
            self._data[key] = bytes(data)
        return self.location(dag_name, sequence)

    def get(self, dag_name: str, sequence: int) -> bytes | None:
        key = self._key(dag_name, sequence)
        with self._lock:
            return self._data.get(key)

    def sequences(self, dag_name: str) -> list[int]:
        validate_dag_name(dag_name)
        with self._lock:
            return sorted(seq for name, seq in self._data if name == dag_name)

    def delete(self, dag_name: str, sequence: int) -> bool:
        key = self._key(dag_name, sequence)
        with self._lock:
            return self._data.pop(key, None) is not None

    def dag_names(self) -> list[str]:
        with self._lock:
            return sorted({name for name, _ in self._data})
