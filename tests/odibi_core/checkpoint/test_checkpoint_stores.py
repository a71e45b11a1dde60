"""The checkpoint store contract, run against every store; then the file store's layout.

The stores come from the ``store`` fixture in conftest.py (add a store to ``STORES`` there).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path, PurePath

import pytest

from odibi_core.checkpoint import (
    CheckpointStore,
    FileCheckpointStore,
    MemoryCheckpointStore,
)
from odibi_core.errors import ConfigError


def test_put_then_get_returns_the_same_bytes(store: CheckpointStore) -> None:
    location = store.put("sales", 1, b'{"x": 1}')
    assert store.get("sales", 1) == b'{"x": 1}'
    assert location == store.location("sales", 1)
    assert "00000001" in location and "sales" in location


def test_get_of_a_missing_sequence_is_none(store: CheckpointStore) -> None:
    assert store.get("sales", 1) is None
    store.put("sales", 1, b"a")
    assert store.get("sales", 2) is None
    assert store.get("other", 1) is None


def test_put_replaces_the_bytes_of_a_sequence(store: CheckpointStore) -> None:
    store.put("sales", 1, b"old")
    store.put("sales", 1, b"new")
    assert store.get("sales", 1) == b"new"
    assert store.sequences("sales") == [1]


def test_sequences_are_ascending_numbers_not_text(store: CheckpointStore) -> None:
    for sequence in (10, 2, 100_000_000, 1):
        store.put("sales", sequence, b"x")
    assert store.sequences("sales") == [1, 2, 10, 100_000_000]
    assert store.sequences("never_saved") == []


def test_dags_with_a_common_prefix_do_not_see_each_other(store: CheckpointStore) -> None:
    store.put("a", 1, b"a1")
    store.put("a_b", 1, b"ab1")
    store.put("a_b", 2, b"ab2")
    store.put("a-b", 7, b"a-b7")
    assert store.sequences("a") == [1]
    assert store.sequences("a_b") == [1, 2]
    assert store.sequences("a-b") == [7]
    assert store.get("a", 1) == b"a1"


def test_delete_says_whether_there_was_something(store: CheckpointStore) -> None:
    store.put("sales", 1, b"x")
    store.put("sales", 2, b"y")
    assert store.delete("sales", 1) is True
    assert store.delete("sales", 1) is False
    assert store.get("sales", 1) is None
    assert store.sequences("sales") == [2]


def test_path_is_the_location_as_a_path(store: CheckpointStore) -> None:
    path = store.path("sales", 3)
    assert isinstance(path, PurePath)
    assert str(path) == store.location("sales", 3)


@pytest.mark.parametrize("dag_name", ["", "../up", "a/b", ".hidden", "_x", "a b", None, 3])
def test_unsafe_dag_names_are_refused(store: CheckpointStore, dag_name: object) -> None:
    with pytest.raises(ConfigError, match="invalid DAG name"):
        store.put(dag_name, 1, b"x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="invalid DAG name"):
        store.sequences(dag_name)  # type: ignore[arg-type]


@pytest.mark.parametrize("sequence", [0, -1, True, 1.0, "1"])
def test_bad_sequences_are_refused(store: CheckpointStore, sequence: object) -> None:
    with pytest.raises(ConfigError, match="invalid checkpoint sequence"):
        store.put("sales", sequence, b"x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="invalid checkpoint sequence"):
        store.get("sales", sequence)  # type: ignore[arg-type]


def test_dag_names_lists_the_dags_with_checkpoints(store: CheckpointStore) -> None:
    assert store.dag_names() == []
    store.put("b", 1, b"x")
    store.put("a-b", 3, b"x")
    store.put("a", 2, b"x")
    assert store.dag_names() == ["a", "a-b", "b"]
    store.delete("b", 1)
    assert store.dag_names() == ["a", "a-b"]


def test_put_at_stores_like_put(store: CheckpointStore) -> None:
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert store.put_at("sales", 2, b"x", when) == store.location("sales", 2)
    assert store.get("sales", 2) == b"x"
    times = store.created_times("sales")
    assert times is None or times == {2: when}


def test_allocate_is_none_or_past_every_stored_sequence(store: CheckpointStore) -> None:
    store.put("sales", 5, b"x")
    first = store.allocate("sales")
    if first is None:  # the manager allocates for this store
        return
    assert first == 6
    assert store.allocate("sales") == 7
    assert store.allocate("other") == 1


def test_concurrent_puts_all_land(store: CheckpointStore) -> None:
    def work(start: int) -> None:
        for sequence in range(start, start + 20):
            store.put("sales", sequence, str(sequence).encode())

    threads = [threading.Thread(target=work, args=(1 + 20 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.sequences("sales") == list(range(1, 81))
    assert store.get("sales", 57) == b"57"


# -- the file store's layout ----------------------------------------------------------------


def test_file_store_layout_is_one_json_file_per_sequence(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path / "cp")
    assert not (tmp_path / "cp").exists()  # nothing created until the first write
    location = store.put("sales", 12, b"{}")
    assert Path(location) == tmp_path / "cp" / "sales" / "00000012.json"
    assert store.path("sales", 12) == Path(location)
    assert isinstance(store.path("sales", 12), Path)
    assert Path(location).read_bytes() == b"{}"


def test_file_store_ignores_temp_and_foreign_files(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path)
    store.put("sales", 1, b"x")
    folder = tmp_path / "sales"
    (folder / ".00000002.json.abc123.tmp").write_bytes(b"half")
    (folder / "notes.txt").write_text("hi")
    (folder / "123.json").write_text("{}")  # fewer than 8 digits: not ours
    (folder / "00000009.json").mkdir()  # a folder, not a file
    assert store.sequences("sales") == [1]


def test_memory_store_locations_name_the_dag_and_sequence() -> None:
    store = MemoryCheckpointStore()
    assert store.put("sales", 4, b"x") == "memory:sales/00000004.json"
    assert "1 checkpoints" in repr(store)
