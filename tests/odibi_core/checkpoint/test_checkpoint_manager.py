"""CheckpointManager: generations, ids, checksums, fallback to the previous generation, cleanup,
and a crash inside save."""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

import pytest

from odibi_core.checkpoint import (
    Checkpoint,
    CheckpointCorruptError,
    CheckpointManager,
    CheckpointStore,
    CheckpointWarning,
    MemoryCheckpointStore,
    NodeCheckpoint,
)
from odibi_core.errors import ConfigError

FIXED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _fixed_clock() -> datetime:
    return FIXED


@pytest.fixture
def manager(store: CheckpointStore) -> CheckpointManager:
    return CheckpointManager(store=store, clock=_fixed_clock)


def _node(name: str, state: str = "SUCCESS", **extra: object) -> NodeCheckpoint:
    return NodeCheckpoint(name, state, "2026-03-01T12:00:00+00:00", 12.5, **extra)  # type: ignore[arg-type]


def _save(manager: CheckpointManager, dag: str = "sales", **kwargs: object) -> Checkpoint:
    kwargs.setdefault("completed_nodes", [_node("extract")])
    kwargs.setdefault("pending_nodes", {"load"})
    checkpoint = manager.create_checkpoint(dag, **kwargs)  # type: ignore[arg-type]
    manager.save(checkpoint)
    return checkpoint


def _damage(store: CheckpointStore, dag: str, sequence: int, change: Callable[[bytes], bytes]) -> None:
    data = store.get(dag, sequence)
    assert data is not None
    store.put(dag, sequence, change(data))


def _edit_envelope(change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        envelope = json.loads(data)
        change(envelope)
        return json.dumps(envelope).encode()

    return edit


# -- round trip and ids ------------------------------------------------------------------------


def test_saved_checkpoint_loads_back_equal(manager: CheckpointManager) -> None:
    nodes = [_node("extract", cache_key="ab" * 32, outputs={"raw": "cache:abab"}),
             _node("clean", "CACHED"), _node("load", "FAILED", attempts=3, error_message="boom")]
    original = _save(manager, completed_nodes=nodes, pending_nodes={"report", "mail"},
                     mode="stream", iteration=7, metadata={"offsets": {"files": [["a.csv", 3, 9]]}})
    loaded = manager.load(original.checkpoint_id)
    assert loaded == original
    assert loaded is not original
    assert loaded.created_at == FIXED and loaded.created_at.tzinfo is not None
    assert manager.get_resume_point(loaded) == {"extract", "clean"}


def test_ids_sort_by_creation_even_with_identical_timestamps(manager: CheckpointManager) -> None:
    ids = [_save(manager, iteration=i).checkpoint_id for i in range(12)]
    assert ids == [f"sales-{n:08d}" for n in range(1, 13)]
    assert sorted(ids) == ids
    assert manager.list_checkpoints("sales") == ids
    assert {manager.load(i).created_at for i in ids} == {FIXED}  # type: ignore[union-attr]
    latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 11


def test_a_clock_stepping_back_does_not_change_the_order(store: CheckpointStore) -> None:
    times = iter([FIXED, FIXED - timedelta(hours=1), FIXED - timedelta(days=1)])
    manager = CheckpointManager(store=store, clock=lambda: next(times))
    for i in range(3):
        _save(manager, iteration=i)
    latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 2


def test_sequences_are_monotonic_in_process_before_save(manager: CheckpointManager) -> None:
    first = manager.create_checkpoint("sales", [], set())
    second = manager.create_checkpoint("sales", [], set())
    assert (first.sequence, second.sequence) == (1, 2)
    manager.save(second)
    manager.save(first)  # saved out of order: still two generations, ordered by sequence
    assert manager.list_checkpoints("sales") == ["sales-00000001", "sales-00000002"]
    assert manager.create_checkpoint("sales", [], set()).sequence == 3


def test_concurrent_creates_get_distinct_sequences(manager: CheckpointManager) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(25):
            sequence = manager.create_checkpoint("sales", [], set()).sequence
            with lock:
                got.append(sequence)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(1, 101))


def test_a_new_manager_continues_after_the_stored_sequences(store: CheckpointStore) -> None:
    first = CheckpointManager(store=store)
    for _ in range(3):
        _save(first)
    restarted = CheckpointManager(store=store)
    assert restarted.create_checkpoint("sales", [], set()).checkpoint_id == "sales-00000004"


def test_dags_with_a_common_prefix_are_kept_apart(manager: CheckpointManager) -> None:
    _save(manager, "a", iteration=1)
    _save(manager, "a_b", iteration=2)
    _save(manager, "a_b", iteration=3)
    _save(manager, "a-b", iteration=4)
    assert manager.list_checkpoints("a") == ["a-00000001"]
    assert manager.list_checkpoints("a_b") == ["a_b-00000001", "a_b-00000002"]
    assert manager.load_latest("a").iteration == 1  # type: ignore[union-attr]
    assert manager.load_latest("a-b").iteration == 4  # type: ignore[union-attr]
    assert manager.load("a-b-00000001").dag_name == "a-b"  # type: ignore[union-attr]
    assert manager.cleanup("a", keep_latest=0) == 1
    assert manager.list_checkpoints("a_b") == ["a_b-00000001", "a_b-00000002"]


def test_save_returns_a_real_file_for_the_file_store(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "cp")
    path = manager.save(manager.create_checkpoint("sales", [], set()))
    assert isinstance(path, Path) and path.exists()
    assert path == tmp_path / "cp" / "sales" / "00000001.json"
    envelope = json.loads(path.read_text())
    assert envelope["format"] == "odibi-checkpoint" and envelope["format_version"] == 1
    assert envelope["checksum"].startswith("sha256:") and len(envelope["checksum"]) == 71
    assert envelope["body"]["checkpoint_id"] == "sales-00000001"


def test_save_returns_the_location_for_the_memory_store() -> None:
    manager = CheckpointManager(store=MemoryCheckpointStore())
    path = manager.save(manager.create_checkpoint("sales", [], set()))
    assert path == PurePosixPath("memory:sales/00000001.json")


def test_the_checkpoint_dir_is_created_on_first_save_only(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "cp")
    assert manager.load_latest("sales") is None
    assert not (tmp_path / "cp").exists()
    manager.save(manager.create_checkpoint("sales", [], set()))
    assert (tmp_path / "cp" / "sales").is_dir()


# -- missing, corrupt, fallback ----------------------------------------------------------------


def test_missing_checkpoints_are_none(manager: CheckpointManager) -> None:
    assert manager.load("sales-00000001") is None
    assert manager.load_latest("sales") is None
    assert manager.list_checkpoints("sales") == []
    assert manager.get_resume_point(None) == set()


@pytest.mark.parametrize("bad_id", ["sales", "sales-1", "sales-0000000x", "-00000001", "../x-00000001", 7])
def test_malformed_ids_are_a_config_error(manager: CheckpointManager, bad_id: object) -> None:
    with pytest.raises(ConfigError, match="invalid"):
        manager.load(bad_id)  # type: ignore[arg-type]


def test_truncated_latest_falls_back_to_the_previous_generation(
        manager: CheckpointManager, store: CheckpointStore, caplog: pytest.LogCaptureFixture) -> None:
    _save(manager, iteration=1)
    _save(manager, iteration=2)
    _damage(store, "sales", 2, lambda data: data[: len(data) // 2])
    location = store.location("sales", 2)
    with caplog.at_level(logging.WARNING), pytest.warns(CheckpointWarning) as record:
        latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 1
    assert location in str(record[0].message) and "torn" in str(record[0].message)
    assert location in caplog.text
    with pytest.raises(CheckpointCorruptError, match="not valid JSON") as info:
        manager.load("sales-00000002")
    assert info.value.location == location


def test_truncated_file_on_disk_falls_back(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path)
    _save(manager, iteration=1)
    newest = manager.save(manager.create_checkpoint("sales", [], set(), iteration=2))
    assert isinstance(newest, Path)
    newest.write_bytes(newest.read_bytes()[:40])  # a torn write, as after a crash without rename
    with pytest.warns(CheckpointWarning, match="00000002.json"):
        latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 1


def test_checksum_mismatch_is_refused(manager: CheckpointManager, store: CheckpointStore) -> None:
    _save(manager, iteration=1)
    _save(manager, iteration=2)
    _damage(store, "sales", 2, _edit_envelope(lambda e: e["body"].update(iteration=99)))
    with pytest.raises(CheckpointCorruptError, match="checksum mismatch"):
        manager.load("sales-00000002")
    with pytest.warns(CheckpointWarning, match="checksum mismatch"):
        latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 1


def test_checksum_ignores_indentation(manager: CheckpointManager, store: CheckpointStore) -> None:
    _save(manager, iteration=5)
    _damage(store, "sales", 1, lambda data: json.dumps(json.loads(data), indent=None).encode())
    assert manager.load("sales-00000001").iteration == 5  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "message"), [
    (lambda e: e.update(format_version=2), "format_version 2, this odibi_core reads version 1"),
    (lambda e: e.update(format_version=True), "format_version True"),
    (lambda e: e.pop("format_version"), "format_version None"),
    (lambda e: e.update(format="something-else"), "format 'something-else'"),
    (lambda e: e.pop("body"), "no body"),
    (lambda e: e.pop("checksum"), "checksum mismatch"),
])
def test_wrong_format_or_version_is_refused(manager: CheckpointManager, store: CheckpointStore,
                                            change: Callable[[dict], None], message: str) -> None:
    _save(manager, iteration=1)
    _save(manager, iteration=2)
    _damage(store, "sales", 2, _edit_envelope(change))
    with pytest.raises(CheckpointCorruptError, match=message):
        manager.load("sales-00000002")
    with pytest.warns(CheckpointWarning):
        assert manager.load_latest("sales").iteration == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[1, 2]", b"NaN", b'{"format": "odibi-checkpoint"'])
def test_garbage_is_refused(manager: CheckpointManager, store: CheckpointStore, data: bytes) -> None:
    store.put("sales", 1, data)
    with pytest.raises(CheckpointCorruptError):
        manager.load("sales-00000001")


def test_a_valid_file_under_the_wrong_name_is_refused(manager: CheckpointManager,
                                                      store: CheckpointStore) -> None:
    _save(manager, "other")
    store.put("sales", 3, store.get("other", 1))  # type: ignore[arg-type]
    with pytest.raises(CheckpointCorruptError, match="holds checkpoint 'other-00000001'"):
        manager.load("sales-00000003")


def test_a_bad_body_field_names_the_field(manager: CheckpointManager, store: CheckpointStore) -> None:
    # a body that passes its checksum but is not a valid checkpoint (e.g. written by a buggy tool)
    from odibi_core.checkpoint.codec import _checksum

    def edit(envelope: dict) -> None:
        envelope["body"]["completed_nodes"][0]["attempts"] = "three"
        envelope["checksum"] = _checksum(envelope["body"])

    _save(manager)
    _damage(store, "sales", 1, _edit_envelope(edit))
    with pytest.raises(CheckpointCorruptError, match=r"field completed_nodes\[0\]\.attempts: expected int"):
        manager.load("sales-00000001")


def test_all_generations_damaged_gives_none_never_partial_state(
        manager: CheckpointManager, store: CheckpointStore) -> None:
    for i in range(3):
        _save(manager, iteration=i)
    for sequence in (1, 2, 3):
        _damage(store, "sales", sequence, lambda data: data[:-5])
    with pytest.warns(CheckpointWarning) as record:
        assert manager.load_latest("sales") is None
    assert len(record) == 3


def test_a_crash_inside_save_leaves_the_previous_latest(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    manager = CheckpointManager(tmp_path)
    _save(manager, iteration=1)
    doomed = manager.create_checkpoint("sales", [], set(), iteration=2)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        manager.save(doomed)
    monkeypatch.undo()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no damaged file to skip either
        latest = manager.load_latest("sales")
    assert latest is not None and latest.iteration == 1
    assert manager.list_checkpoints("sales") == ["sales-00000001"]
    assert sorted(p.name for p in (tmp_path / "sales").iterdir()) == ["00000001.json"]


def test_metadata_that_is_not_json_is_refused_at_save(manager: CheckpointManager) -> None:
    checkpoint = manager.create_checkpoint("sales", [], set(), metadata={"seen": {"a.csv"}})
    with pytest.raises(ConfigError, match=r"sales-00000001.*body\.metadata\.seen.*set"):
        manager.save(checkpoint)
    checkpoint.metadata = {"ratio": float("nan")}
    with pytest.raises(ConfigError, match="not a finite number"):
        manager.save(checkpoint)
    assert manager.list_checkpoints("sales") == []


def test_save_refuses_checkpoints_not_made_by_a_manager(manager: CheckpointManager) -> None:
    handmade = Checkpoint("sales_20260301", "sales", FIXED, [], set())
    with pytest.raises(ConfigError, match="create_checkpoint"):
        manager.save(handmade)
    handmade.sequence = 4
    with pytest.raises(ConfigError, match="expected 'sales-00000004'"):
        manager.save(handmade)


# -- arguments ---------------------------------------------------------------------------------


def test_create_checkpoint_checks_its_arguments(manager: CheckpointManager) -> None:
    with pytest.raises(ConfigError, match="invalid DAG name"):
        manager.create_checkpoint("no/slashes", [], set())
    with pytest.raises(ConfigError, match="NodeCheckpoint"):
        manager.create_checkpoint("sales", [{"node_name": "x"}], set())  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="iteration must be an int >= 0"):
        manager.create_checkpoint("sales", [], set(), iteration=-1)


def test_a_naive_clock_is_refused(store: CheckpointStore) -> None:
    manager = CheckpointManager(store=store, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="naive"):
        manager.create_checkpoint("sales", [], set())


def test_created_at_is_utc(store: CheckpointStore) -> None:
    paris = timezone(timedelta(hours=1))
    manager = CheckpointManager(store=store, clock=lambda: datetime(2026, 1, 1, 13, tzinfo=paris))
    checkpoint = manager.create_checkpoint("sales", [], set())
    assert checkpoint.created_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert checkpoint.created_at.utcoffset() == timedelta(0)


def test_enum_modes_are_stored_as_their_value(manager: CheckpointManager) -> None:
    from enum import Enum

    class Mode(str, Enum):  # noqa: UP042  (the seed's style: str() of a member is not its value)
        STREAM = "stream"

    checkpoint = manager.create_checkpoint("sales", [], set(), mode=Mode.STREAM)  # type: ignore[arg-type]
    assert type(checkpoint.mode) is str and checkpoint.mode == "stream"


# -- cleanup and generations -------------------------------------------------------------------


def test_cleanup_keeps_the_latest_n(manager: CheckpointManager) -> None:
    ids = [_save(manager, iteration=i).checkpoint_id for i in range(10)]
    assert manager.cleanup("sales", keep_latest=3) == 7
    assert manager.list_checkpoints("sales") == ids[-3:]
    assert manager.cleanup("sales", keep_latest=3) == 0
    assert manager.cleanup("sales", keep_latest=5) == 0
    assert manager.cleanup("sales") == 0
    assert manager.cleanup("sales", keep_latest=0) == 3
    assert manager.list_checkpoints("sales") == []
    assert manager.cleanup("never_saved", keep_latest=0) == 0


@pytest.mark.parametrize("keep", [-1, 1.5, True, "3"])
def test_cleanup_rejects_bad_counts(manager: CheckpointManager, keep: object) -> None:
    with pytest.raises(ConfigError, match="keep_latest must be an int >= 0"):
        manager.cleanup("sales", keep_latest=keep)  # type: ignore[arg-type]


def test_keep_generations_prunes_after_each_save(store: CheckpointStore) -> None:
    manager = CheckpointManager(store=store, keep_generations=2)
    for i in range(5):
        _save(manager, iteration=i)
    assert manager.list_checkpoints("sales") == ["sales-00000004", "sales-00000005"]
    assert manager.load_latest("sales").iteration == 4  # type: ignore[union-attr]


@pytest.mark.parametrize("keep", [0, -2, 2.0])
def test_keep_generations_must_be_positive(keep: object) -> None:
    with pytest.raises(ConfigError, match="keep_generations must be an int >= 1"):
        CheckpointManager(store=MemoryCheckpointStore(), keep_generations=keep)  # type: ignore[arg-type]
