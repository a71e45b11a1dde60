"""What a checkpoint holds: the records, the save modes and the checkpoint errors.

A :class:`Checkpoint` is one saved picture of a DAG run: which nodes are done (one
:class:`NodeCheckpoint` each), which are still pending, and a little context (execution mode,
streaming iteration, free-form metadata). Records turn into plain JSON data with ``to_dict()``
and come back with ``from_dict()``, which checks every field and names the first bad one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, NoReturn

from ..errors import ConfigError, OdibiError

__all__ = [
    "COMPLETE_STATES",
    "Checkpoint",
    "CheckpointCorruptError",
    "CheckpointMode",
    "CheckpointWarning",
    "NodeCheckpoint",
    "checkpoint_id_for",
    "parse_checkpoint_id",
    "validate_dag_name",
    "validate_sequence",
]

#: node states that count as done on resume: the node ran, or its output came from the cache
COMPLETE_STATES = frozenset({"SUCCESS", "CACHED"})

_DAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SEQUENCE = re.compile(r"[0-9]{8,}")


class CheckpointMode(StrEnum):
    """*When* a run saves a checkpoint (the execution mode, batch/stream/resume, is separate)."""

    MANUAL = "manual"  # only when the caller calls save()
    AUTO = "auto"  # after every node that completes
    INTERVAL = "interval"  # at most once every N seconds
    LAYER = "layer"  # after each DAG level (all nodes of one depth) completes


class CheckpointCorruptError(OdibiError):
    """A stored checkpoint cannot be trusted: torn, not JSON, wrong format or version, checksum
    mismatch, or a field of the wrong type. ``location`` names the file (or store location),
    ``problem`` says what is wrong."""

    def __init__(self, location: str, problem: str) -> None:
        self.location = str(location)
        self.problem = problem
        super().__init__(f"checkpoint {self.location} is unusable: {problem}")


class CheckpointWarning(UserWarning):
    """A damaged checkpoint was skipped and an older generation used instead."""


def validate_dag_name(dag_name: object) -> str:
    """``dag_name`` itself when it is safe as a folder name, else :class:`ConfigError`.

    Allowed: a letter or digit, then letters, digits, ``_``, ``.`` and ``-``."""
    if not isinstance(dag_name, str) or _DAG_NAME.fullmatch(dag_name) is None:
        raise ConfigError("checkpoint", f"invalid DAG name {dag_name!r}: expected a letter or digit "
                          "followed by letters, digits, '_', '.' or '-'")
    return dag_name


def validate_sequence(sequence: object) -> int:
    """``sequence`` itself when it is an int >= 1, else :class:`ConfigError`."""
    if type(sequence) is not int or sequence < 1:
        raise ConfigError("checkpoint", f"invalid checkpoint sequence {sequence!r}: expected an int >= 1")
    return sequence


def checkpoint_id_for(dag_name: str, sequence: int) -> str:
    """The id of generation ``sequence`` of ``dag_name``: ``"<dag_name>-<sequence:08d>"``.

    Within one DAG, ids sort in the order the checkpoints were created."""
    return f"{validate_dag_name(dag_name)}-{validate_sequence(sequence):08d}"


def parse_checkpoint_id(checkpoint_id: object) -> tuple[str, int]:
    """``(dag_name, sequence)`` from an id made by :func:`checkpoint_id_for`; ConfigError if
    the id has another shape. The split is on the *last* ``-``, so DAG names may contain ``-``."""
    dag_name, _, digits = str(checkpoint_id).rpartition("-")
    if not isinstance(checkpoint_id, str) or _SEQUENCE.fullmatch(digits) is None or not dag_name:
        raise ConfigError("checkpoint", f"invalid checkpoint id {checkpoint_id!r}: expected "
                          "'<dag_name>-<sequence>' with at least 8 digits, e.g. 'sales-00000003'")
    return validate_dag_name(dag_name), validate_sequence(int(digits))


def _text(value: Any) -> Any:
    """An Enum member's value (``NodeState.SUCCESS`` -> ``"SUCCESS"``); anything else as is."""
    return value.value if isinstance(value, Enum) else value


@dataclass
class NodeCheckpoint:
    """One node's state in a checkpoint.

    Attributes:
        node_name: the step's name.
        state: ``SUCCESS``, ``CACHED``, ``FAILED``, ``RETRY``...; only SUCCESS and CACHED count as
            complete on resume. An Enum member is stored as its value.
        completed_at: when the node finished, ISO-8601 text.
        duration_ms: how long it ran.
        attempts: how many times it was tried.
        error_message: the last error, for a failed node.
        cache_key: the cache key its result was stored under, if cached; resume re-runs the node
            when its key has changed since.
        outputs: output name -> where that output is durably kept (a cache key, a file URI).
            A node is complete only once its outputs are durable; an output that lived only in
            memory is gone after a crash.
    """

    node_name: str
    state: str
    completed_at: str
    duration_ms: float
    attempts: int = 1
    error_message: str | None = None
    cache_key: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = _text(self.state)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON data."""
        return {
            "node_name": self.node_name,
            "state": self.state,
            "completed_at": self.completed_at,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "error_message": self.error_message,
            "cache_key": self.cache_key,
            "outputs": dict(self.outputs),
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "checkpoint data") -> NodeCheckpoint:
        """The record from ``to_dict()`` output. Keys with defaults may be missing; an unknown
        key or a value of the wrong type raises :class:`CheckpointCorruptError` naming the field
        (and ``source``, e.g. the file it was read from)."""
        return _node_from_dict(data, source, "")


@dataclass
class Checkpoint:
    """A DAG run's state at one moment: what is done, what is pending.

    Attributes:
        checkpoint_id: ``"<dag_name>-<sequence:08d>"``; sorts by creation within a DAG.
        dag_name: the DAG this checkpoint belongs to.
        created_at: when it was made, a tz-aware UTC datetime (a naive one is taken as local
            time and converted).
        completed_nodes: one :class:`NodeCheckpoint` per node that reached a final state.
        pending_nodes: names of nodes not run yet.
        mode: the *execution* mode of the run: ``"batch"``, ``"stream"`` or ``"resume"``.
        iteration: streaming iteration that produced the checkpoint (0 for batch runs).
        metadata: free-form JSON data (e.g. stream offsets); tuples come back as lists.
        sequence: generation number, 1, 2, 3... per DAG; 0 until a manager assigns one.
    """

    checkpoint_id: str
    dag_name: str
    created_at: datetime
    completed_nodes: list[NodeCheckpoint]
    pending_nodes: set[str]
    mode: str = "batch"
    iteration: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0

    def __post_init__(self) -> None:
        self.created_at = self.created_at.astimezone(UTC)
        self.pending_nodes = set(self.pending_nodes)
        self.mode = _text(self.mode)

    @property
    def completed_names(self) -> set[str]:
        """Names of nodes whose state is SUCCESS or CACHED: the nodes a resume may skip."""
        return {n.node_name for n in self.completed_nodes if n.state in COMPLETE_STATES}

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as plain JSON data (pending nodes sorted, so the text is stable)."""
        return {
            "checkpoint_id": self.checkpoint_id,
            "dag_name": self.dag_name,
            "created_at": self.created_at.isoformat(),
            "completed_nodes": [n.to_dict() for n in self.completed_nodes],
            "pending_nodes": sorted(self.pending_nodes),
            "mode": self.mode,
            "iteration": self.iteration,
            "metadata": self.metadata,
            "sequence": self.sequence,
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "checkpoint data") -> Checkpoint:
        """The checkpoint from ``to_dict()`` output; every field is checked and the first bad one
        named in a :class:`CheckpointCorruptError` (unknown keys are rejected too)."""
        read = _Reader(data, source, "", _CHECKPOINT_FIELDS)
        stamp = read.field("created_at", str)
        try:
            created_at = datetime.fromisoformat(stamp)
        except ValueError:
            read.fail("created_at", f"{stamp!r} is not an ISO-8601 timestamp")
        if created_at.tzinfo is None:
            read.fail("created_at", f"{stamp!r} has no UTC offset")
        nodes = read.field("completed_nodes", list)
        pending = read.field("pending_nodes", list)
        if not all(isinstance(name, str) for name in pending):
            read.fail("pending_nodes", "expected a list of node names (strings)")
        return cls(
            checkpoint_id=read.field("checkpoint_id", str),
            dag_name=read.field("dag_name", str),
            created_at=created_at,
            completed_nodes=[_node_from_dict(node, source, f"completed_nodes[{i}]")
                             for i, node in enumerate(nodes)],
            pending_nodes=set(pending),
            mode=read.field("mode", str, "batch"),
            iteration=read.field("iteration", int, 0),
            metadata=read.field("metadata", dict, {}),
            sequence=read.field("sequence", int, 0),
        )


def _node_from_dict(data: Any, source: str, where: str) -> NodeCheckpoint:
    """A NodeCheckpoint from JSON data; errors name the field as ``<where>.<field>``."""
    read = _Reader(data, source, where, _NODE_FIELDS)
    outputs = read.field("outputs", dict, {})
    for name, place in outputs.items():
        if not isinstance(place, str):
            read.fail("outputs", f"output {name!r} maps to {place!r}, expected a string")
    return NodeCheckpoint(
        node_name=read.field("node_name", str),
        state=read.field("state", str),
        completed_at=read.field("completed_at", str),
        duration_ms=float(read.field("duration_ms", (int, float))),
        attempts=read.field("attempts", int, 1),
        error_message=read.field("error_message", (str, type(None)), None),
        cache_key=read.field("cache_key", (str, type(None)), None),
        outputs=dict(outputs),
    )


_NODE_FIELDS = frozenset(NodeCheckpoint.__dataclass_fields__)
_CHECKPOINT_FIELDS = frozenset(Checkpoint.__dataclass_fields__)
_REQUIRED = object()


class _Reader:
    """Typed access to one JSON object's fields; every failure names the field and ``source``."""

    def __init__(self, data: Any, source: str, prefix: str, known: Iterable[str]) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(data, Mapping):
            self.fail("", f"expected an object, got {type(data).__qualname__}")
        unknown = sorted(set(data) - set(known))
        if unknown:
            self.fail(unknown[0], f"unknown field (known: {', '.join(sorted(known))})")
        self.data = data

    def fail(self, name: str, problem: str) -> NoReturn:
        where = ".".join(part for part in (self.prefix, name) if part) or "record"
        raise CheckpointCorruptError(self.source, f"field {where}: {problem}")

    def field(self, name: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        if name not in self.data:
            if default is _REQUIRED:
                self.fail(name, "missing")
            return default
        value = self.data[name]
        # bool is an int subclass, but True is never a valid count or duration
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.fail(name, f"expected {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            self.fail(name, f"expected {_kind_name(kind)}, got {type(value).__qualname__} {value!r}")
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
