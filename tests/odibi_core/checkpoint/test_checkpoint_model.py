"""Checkpoint records: to_dict/from_dict, field checks, completed names, ids; the public API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import pytest

import odibi_core.checkpoint as checkpoint_pkg
import odibi_core.checkpoint_manager as checkpoint_manager_module
from odibi_core.checkpoint import (
    Checkpoint,
    CheckpointCorruptError,
    CheckpointMode,
    NodeCheckpoint,
)
from odibi_core.checkpoint.model import checkpoint_id_for, parse_checkpoint_id
from odibi_core.errors import ConfigError, OdibiError

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _checkpoint() -> Checkpoint:
    nodes = [NodeCheckpoint("a", "SUCCESS", "t1", 1.0),
             NodeCheckpoint("b", "CACHED", "t2", 0.5, cache_key="ff", outputs={"out": "cache:ff"}),
             NodeCheckpoint("c", "FAILED", "t3", 9.0, attempts=3, error_message="boom"),
             NodeCheckpoint("d", "RETRY", "t4", 2.0, attempts=2)]
    return Checkpoint("sales-00000002", "sales", WHEN, nodes, {"e", "f"}, mode="stream",
                      iteration=4, metadata={"k": [1, "x", None]}, sequence=2)


def test_public_api_is_pinned() -> None:
    expected = ["Checkpoint", "CheckpointCorruptError", "CheckpointManager", "CheckpointMode",
                "CheckpointStore", "CheckpointWarning", "FileCheckpointStore",
                "MemoryCheckpointStore", "NodeCheckpoint", "SqliteCheckpointStore"]
    assert sorted(checkpoint_pkg.__all__) == expected
    # the lessons' import path re-exports the same objects
    reexported = sorted(checkpoint_manager_module.__all__)
    assert reexported == expected
    for name in reexported:
        assert getattr(checkpoint_manager_module, name) is getattr(checkpoint_pkg, name)


def test_checkpoint_modes_say_when_a_run_saves() -> None:
    assert [m.value for m in CheckpointMode] == ["manual", "auto", "interval", "layer"]
    assert CheckpointMode("layer") is CheckpointMode.LAYER
    assert str(CheckpointMode.AUTO) == "auto"


def test_seed_positional_node_checkpoint() -> None:
    node = NodeCheckpoint("step1", "SUCCESS", "2026-03-01T12:00:00", 100.0)
    assert (node.attempts, node.error_message, node.cache_key, node.outputs) == (1, None, None, {})


def test_round_trip_through_dicts() -> None:
    original = _checkpoint()
    data = original.to_dict()
    assert data["pending_nodes"] == ["e", "f"]
    assert data["created_at"] == "2026-03-01T12:00:00+00:00"
    assert Checkpoint.from_dict(data) == original
    for node in original.completed_nodes:
        assert NodeCheckpoint.from_dict(node.to_dict()) == node


def test_completed_names_are_success_and_cached_only() -> None:
    assert _checkpoint().completed_names == {"a", "b"}


def test_enum_states_are_stored_as_plain_strings() -> None:
    class State(StrEnum):
        CACHED = "CACHED"

    node = NodeCheckpoint("a", State.CACHED, "t", 1.0)
    assert type(node.state) is str and node.to_dict()["state"] == "CACHED"


def test_naive_created_at_is_taken_as_local_time_and_made_utc() -> None:
    naive = datetime(2026, 3, 1, 12, 0)
    checkpoint = Checkpoint("x-00000001", "x", naive, [], set())
    assert checkpoint.created_at.tzinfo is UTC
    assert checkpoint.created_at == naive.astimezone(UTC)


def test_from_dict_fills_defaults_for_the_seeds_older_dicts() -> None:
    seed_style = {"checkpoint_id": "x_20260301", "dag_name": "x",
                  "created_at": "2026-03-01T13:00:00+01:00",
                  "completed_nodes": [{"node_name": "a", "state": "SUCCESS", "completed_at": "t",
                                       "duration_ms": 5, "attempts": 1, "error_message": None}],
                  "pending_nodes": ["b"]}
    checkpoint = Checkpoint.from_dict(seed_style)
    assert checkpoint.created_at == WHEN
    assert (checkpoint.mode, checkpoint.iteration, checkpoint.metadata, checkpoint.sequence) == (
        "batch", 0, {}, 0)
    assert checkpoint.completed_nodes[0].duration_ms == 5.0
    assert isinstance(checkpoint.completed_nodes[0].duration_ms, float)


def _broken(path: str, value: object, *, delete: bool = False) -> dict:
    data = _checkpoint().to_dict()
    target = data
    *parents, name = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    last: int | str = int(name) if name.isdigit() else name
    if delete:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("dag_name", 3, "field dag_name: expected str, got int 3"),
    ("iteration", True, "field iteration: expected int, got True"),
    ("iteration", 1.0, "field iteration: expected int"),
    ("sequence", "2", "field sequence: expected int"),
    ("created_at", "yesterday", "field created_at: 'yesterday' is not an ISO-8601"),
    ("created_at", "2026-03-01T12:00:00", "field created_at: .* has no UTC offset"),
    ("pending_nodes", "e", "field pending_nodes: expected list"),
    ("pending_nodes", ["e", 1], "field pending_nodes: expected a list of node names"),
    ("metadata", [], "field metadata: expected dict"),
    ("completed_nodes", {}, "field completed_nodes: expected list"),
    ("completed_nodes.0", "a", r"field completed_nodes\[0\]: expected an object, got str"),
    ("completed_nodes.0.duration_ms", "1", r"completed_nodes\[0\]\.duration_ms: expected int or float"),
    ("completed_nodes.0.duration_ms", False, r"completed_nodes\[0\]\.duration_ms: expected"),
    ("completed_nodes.0.error_message", 5, r"error_message: expected str or null"),
    ("completed_nodes.1.outputs", {"out": 1}, r"outputs: output 'out' maps to 1"),
    ("surprise", 1, "field surprise: unknown field"),
    ("completed_nodes.0.extra", 1, r"field completed_nodes\[0\]\.extra: unknown field"),
])
def test_from_dict_names_the_bad_field(path: str, value: object, message: str) -> None:
    with pytest.raises(CheckpointCorruptError, match=message) as info:
        Checkpoint.from_dict(_broken(path, value), source="cp/sales/00000002.json")
    assert info.value.location == "cp/sales/00000002.json"
    assert str(info.value).startswith("checkpoint cp/sales/00000002.json is unusable: ")


@pytest.mark.parametrize("path", ["checkpoint_id", "dag_name", "created_at", "completed_nodes",
                                  "pending_nodes", "completed_nodes.0.node_name",
                                  "completed_nodes.0.state", "completed_nodes.0.duration_ms"])
def test_from_dict_requires_the_core_fields(path: str) -> None:
    with pytest.raises(CheckpointCorruptError, match=f"{path.split('.')[-1]}: missing"):
        Checkpoint.from_dict(_broken(path, None, delete=True))


def test_node_from_dict_names_its_own_fields() -> None:
    with pytest.raises(CheckpointCorruptError, match="field attempts: expected int"):
        NodeCheckpoint.from_dict({"node_name": "a", "state": "SUCCESS", "completed_at": "t",
                                  "duration_ms": 1, "attempts": None})


def test_from_dict_of_a_non_object() -> None:
    with pytest.raises(CheckpointCorruptError, match="field record: expected an object, got list"):
        Checkpoint.from_dict([1, 2])


def test_errors_derive_from_the_odibi_root() -> None:
    assert issubclass(CheckpointCorruptError, OdibiError)


def test_ids_and_their_parts() -> None:
    assert checkpoint_id_for("sales", 3) == "sales-00000003"
    assert checkpoint_id_for("a-b.c_d", 123_456_789) == "a-b.c_d-123456789"
    assert parse_checkpoint_id("a-b.c_d-123456789") == ("a-b.c_d", 123_456_789)
    assert parse_checkpoint_id("sales-00000003") == ("sales", 3)
    for bad in ("sales", "sales-3", "-00000003", "sales-00000000", "x/y-00000001"):
        with pytest.raises(ConfigError):
            parse_checkpoint_id(bad)


def test_other_offsets_are_normalised_to_utc() -> None:
    tokyo = datetime(2026, 3, 1, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    assert Checkpoint("x-00000001", "x", tokyo, [], set()).created_at == WHEN
