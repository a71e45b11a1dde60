"""CheckpointManager: save a DAG run's state, find the newest trustworthy one, resume from it.

Guarantees:

- **Atomic**: a save writes a temp file, fsyncs it and renames it into place; a crash leaves the
  previous checkpoints exactly as they were.
- **Generations**: every save is a new file ``<checkpoint_dir>/<dag_name>/<sequence:08d>.json``
  with the next sequence number; older ones stay (prune by count with ``keep_generations`` or
  :meth:`CheckpointManager.cleanup`, by age with :meth:`CheckpointManager.cleanup_old_checkpoints`). Ids sort by creation even when clocks tie or step back.
- **Checksum**: each file carries a format version and a sha256 of its content
  (see :mod:`odibi_core.checkpoint.codec`).
- **Fallback**: :meth:`CheckpointManager.load_latest` skips a torn or corrupt newest file with a
  :class:`CheckpointWarning` and returns the previous generation, never partial state.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

from ..clock import utc_now
from ..errors import ConfigError
from .codec import decode, encode
from .model import (
    Checkpoint,
    CheckpointCorruptError,
    CheckpointWarning,
    NodeCheckpoint,
    checkpoint_id_for,
    parse_checkpoint_id,
    validate_dag_name,
)
from .store import CheckpointStore, FileCheckpointStore

__all__ = ["CheckpointManager"]

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return utc_now()


def _count(value: object, name: str, minimum: int) -> int:
    """``value`` when it is an int >= ``minimum``, else ConfigError naming the argument."""
    if type(value) is not int or value < minimum:
        raise ConfigError("CheckpointManager", f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class CheckpointManager:
    """Creates, saves and loads the checkpoints of DAG runs.

    Args:
        checkpoint_dir: folder of the default :class:`FileCheckpointStore`; created on the first
            save. Ignored when ``store`` is given.
        store: where checkpoint bytes go (e.g. :class:`MemoryCheckpointStore` in tests).
        keep_generations: after each save, delete all but this many newest checkpoints of that
            DAG. None keeps everything. Keep at least 2 so a damaged newest file has a fallback.
        clock: returns the current tz-aware time; stamps ``created_at`` (ids do not depend on it).

    Sequence numbers come from the store when it can allocate them (the
    :class:`~odibi_core.checkpoint.SqliteCheckpointStore` does, in a transaction, so several
    processes may save checkpoints of one DAG at once). Otherwise they are allocated per manager
    from the highest one already stored, and one process at a time should save a given DAG's
    checkpoints.
    """

    def __init__(
        self,
        checkpoint_dir: str | Path = "artifacts/checkpoints",
        *,
        store: CheckpointStore | None = None,
        keep_generations: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.store = store if store is not None else FileCheckpointStore(self.checkpoint_dir)
        if keep_generations is not None:
            _count(keep_generations, "keep_generations", 1)
        self.keep_generations = keep_generations
        self._clock = clock or _utc_now
        self._lock = threading.Lock()
        self._issued: dict[str, int] = {}  # highest sequence handed out per DAG by this manager

    def __repr__(self) -> str:
        return f"CheckpointManager({self.store!r}, keep_generations={self.keep_generations})"

    def _next_sequence(self, dag_name: str) -> int:
        allocated = self.store.allocate(dag_name)
        if allocated is not None:  # the store reserves numbers itself, across processes
            with self._lock:
                self._issued[dag_name] = max(self._issued.get(dag_name, 0), allocated)
            return allocated
        stored = self.store.sequences(dag_name)
        with self._lock:
            sequence = max(stored[-1] if stored else 0, self._issued.get(dag_name, 0)) + 1
            self._issued[dag_name] = sequence
        return sequence

    def create_checkpoint(
        self,
        dag_name: str,
        completed_nodes: Iterable[NodeCheckpoint],
        pending_nodes: Iterable[str],
        mode: str = "batch",
        iteration: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> Checkpoint:
        """A new checkpoint with the DAG's next sequence number (not saved yet: call :meth:`save`).

        Args:
            dag_name: the DAG; letters, digits, ``_``, ``.``, ``-`` (it names a folder).
            completed_nodes: one :class:`NodeCheckpoint` per node that reached a final state.
            pending_nodes: names of nodes not run yet.
            mode: execution mode, ``"batch"``, ``"stream"`` or ``"resume"`` (an Enum is stored
                as its value).
            iteration: streaming iteration number.
            metadata: JSON data saved with the checkpoint.
        """
        validate_dag_name(dag_name)
        nodes = list(completed_nodes)
        for node in nodes:
            if not isinstance(node, NodeCheckpoint):
                raise ConfigError(dag_name, "completed_nodes must hold NodeCheckpoint records, "
                                  f"got {type(node).__qualname__}")
        sequence = self._next_sequence(dag_name)
        created_at = self._clock()
        if created_at.tzinfo is None:
            raise ConfigError(dag_name, f"the clock returned a naive datetime {created_at!r}; "
                              "expected a tz-aware one")
        return Checkpoint(
            checkpoint_id=checkpoint_id_for(dag_name, sequence),
            dag_name=dag_name,
            created_at=created_at,
            completed_nodes=nodes,
            pending_nodes=set(pending_nodes),
            mode=mode.value if isinstance(mode, Enum) else mode,
            iteration=_count(iteration, "iteration", 0),
            metadata=dict(metadata or {}),
            sequence=sequence,
        )

    def save(self, checkpoint: Checkpoint) -> PurePath:
        """Write ``checkpoint`` atomically as a new generation and return where it went: the
        JSON file's :class:`~pathlib.Path` for the file store, a
        :class:`~pathlib.PurePosixPath` of its location for other stores.

        Saving the same checkpoint again replaces that generation. Then, if
        ``keep_generations`` is set, older generations beyond it are deleted. Raises ConfigError
        for a checkpoint not made by :meth:`create_checkpoint` (no sequence, or an id that does
        not match its DAG and sequence) or metadata that is not JSON data.
        """
        dag_name, sequence = checkpoint.dag_name, checkpoint.sequence
        if type(sequence) is not int or sequence < 1:
            raise ConfigError(str(checkpoint.checkpoint_id), f"checkpoint has sequence {sequence!r}; "
                              "make checkpoints with CheckpointManager.create_checkpoint()")
        expected = checkpoint_id_for(dag_name, sequence)
        if checkpoint.checkpoint_id != expected:
            raise ConfigError(str(checkpoint.checkpoint_id), f"checkpoint id does not match its DAG "
                              f"and sequence, expected {expected!r}")
        data = encode(checkpoint)
        location = self.store.put_at(dag_name, sequence, data, checkpoint.created_at)
        with self._lock:
            self._issued[dag_name] = max(self._issued.get(dag_name, 0), sequence)
        log.info("saved checkpoint %s (%d bytes) to %s", expected, len(data), location)
        if self.keep_generations is not None:
            self.cleanup(dag_name, keep_latest=self.keep_generations)
        return self.store.path(dag_name, sequence)

    def _read(self, dag_name: str, sequence: int) -> Checkpoint | None:
        data = self.store.get(dag_name, sequence)
        if data is None:
            return None
        location = self.store.location(dag_name, sequence)
        checkpoint = decode(data, location)
        expected = checkpoint_id_for(dag_name, sequence)
        if (checkpoint.checkpoint_id, checkpoint.dag_name, checkpoint.sequence) != (
                expected, dag_name, sequence):
            raise CheckpointCorruptError(location, f"holds checkpoint {checkpoint.checkpoint_id!r} "
                                         f"(DAG {checkpoint.dag_name!r}, sequence "
                                         f"{checkpoint.sequence}), expected {expected!r}")
        return checkpoint

    def load(self, checkpoint_id: str) -> Checkpoint | None:
        """The checkpoint with this id, or None when it does not exist.

        Raises CheckpointCorruptError (naming the file and the problem) when it exists but is
        torn, fails its checksum, or has another format or version; ConfigError for an id that
        is not ``"<dag_name>-<sequence>"``.
        """
        dag_name, sequence = parse_checkpoint_id(checkpoint_id)
        checkpoint = self._read(dag_name, sequence)
        if checkpoint is None:
            log.warning("checkpoint %s not found at %s", checkpoint_id,
                        self.store.location(dag_name, sequence))
        return checkpoint

    def load_latest(self, dag_name: str) -> Checkpoint | None:
        """The newest checkpoint of ``dag_name`` that reads back intact, or None if there is none.

        Generations are tried newest first; a damaged one is skipped with a
        :class:`CheckpointWarning` and a log line naming the file, and the previous one is
        tried. A partial or unverified checkpoint is never returned.
        """
        for sequence in reversed(self.store.sequences(dag_name)):
            try:
                checkpoint = self._read(dag_name, sequence)
            except CheckpointCorruptError as exc:
                message = f"{exc}; falling back to the previous checkpoint of DAG {dag_name!r}"
                log.warning("%s", message)
                warnings.warn(message, CheckpointWarning, stacklevel=2)
                continue
            if checkpoint is not None:  # None: deleted since it was listed
                return checkpoint
        log.info("no usable checkpoint for DAG %r", dag_name)
        return None

    def list_checkpoints(self, dag_name: str) -> list[str]:
        """Ids of every stored checkpoint of ``dag_name``, oldest first (damaged ones included)."""
        return [checkpoint_id_for(dag_name, seq) for seq in self.store.sequences(dag_name)]

    def get_resume_point(self, checkpoint: Checkpoint | None) -> set[str]:
        """Names of the nodes a resume may skip (state SUCCESS or CACHED); empty for None."""
        return set() if checkpoint is None else checkpoint.completed_names

    def cleanup(self, dag_name: str, keep_latest: int = 5) -> int:
        """Delete all but the ``keep_latest`` newest checkpoints of ``dag_name`` (by sequence);
        returns how many were deleted. ``keep_latest=0`` deletes them all."""
        keep = _count(keep_latest, "keep_latest", 0)
        sequences = self.store.sequences(dag_name)
        doomed = sequences[: max(0, len(sequences) - keep)]
        deleted = sum(self.store.delete(dag_name, seq) for seq in doomed)
        if deleted:
            log.info("deleted %d old checkpoint(s) of DAG %r, kept %d", deleted, dag_name,
                     len(sequences) - len(doomed))
        return deleted

    def _created_times(self, dag_name: str, sequences: list[int]) -> dict[int, datetime]:
        """Creation time per sequence: the store's timestamps when it keeps them, else the
        ``created_at`` read from each checkpoint. A checkpoint whose time cannot be read (damaged)
        is left out, with a log line."""
        stored = self.store.created_times(dag_name) or {}
        times: dict[int, datetime] = {}
        for sequence in sequences:
            if sequence in stored:
                times[sequence] = stored[sequence]
                continue
            try:
                checkpoint = self._read(dag_name, sequence)
            except CheckpointCorruptError as exc:
                log.warning("%s; its age is unknown, so cleanup_old_checkpoints keeps it", exc)
                continue
            if checkpoint is not None:  # None: deleted since it was listed
                times[sequence] = checkpoint.created_at
        return times

    def cleanup_old_checkpoints(self, days: float, *, dag_name: str | None = None,
                                keep_latest: int = 1) -> int:
        """Delete checkpoints created more than ``days`` days ago; returns how many were deleted.

        Args:
            days: age limit in days (a number >= 0; fractions allowed). "Now" is the manager's
                clock, so an injected clock decides what is old.
            dag_name: only this DAG (thread); None: every DAG the store holds (the store must be
                able to list them: file, memory and SQLite stores can).
            keep_latest: the newest ``keep_latest`` checkpoints of each DAG (by sequence) are
                never deleted, however old, so a run can always resume from its last checkpoint.
                ``0`` lets old checkpoints go entirely.

        Age is the checkpoint's ``created_at``: the store's stored timestamp when it keeps one
        (SQLite), else the time inside the checkpoint (file and memory stores). A damaged
        checkpoint whose time cannot be read is kept (with a log line); :meth:`cleanup` removes
        by count instead. Raises ConfigError for a bad argument.
        """
        if isinstance(days, bool) or not isinstance(days, int | float) or not days >= 0 \
                or days == float("inf"):
            raise ConfigError("CheckpointManager", f"days must be a number >= 0, got {days!r}")
        keep = _count(keep_latest, "keep_latest", 0)
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("CheckpointManager", f"the clock returned a naive datetime {now!r}; "
                              "expected a tz-aware one")
        cutoff = now - timedelta(days=days)
        names = [validate_dag_name(dag_name)] if dag_name is not None else self.store.dag_names()
        deleted = 0
        for name in names:
            sequences = self.store.sequences(name)
            candidates = sequences[: max(0, len(sequences) - keep)]
            times = self._created_times(name, candidates)
            doomed = [seq for seq in candidates if seq in times and times[seq] < cutoff]
            removed = sum(self.store.delete(name, seq) for seq in doomed)
            if removed:
                log.info("deleted %d checkpoint(s) of DAG %r created before %s", removed, name,
                         cutoff.isoformat())
            deleted += removed
        return deleted
