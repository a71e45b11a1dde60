"""The SQLite checkpoint store beyond the shared contract: its table, WAL, sequence allocation
across managers and processes, and its errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest

import odibi_core
from odibi_core.checkpoint import CheckpointManager, NodeCheckpoint, SqliteCheckpointStore
from odibi_core.errors import ConfigError, OdibiError

FIXED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def test_one_table_keyed_by_thread_and_sequence_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cp.db"
    with SqliteCheckpointStore(path) as store:
        manager = CheckpointManager(store=store, clock=lambda: FIXED)
        checkpoint = manager.create_checkpoint("workflow-123", [], {"load"})
        location = manager.save(checkpoint)
    assert location == PurePosixPath(f"sqlite:{path}#workflow-123/00000001")
    assert _rows(path, "PRAGMA journal_mode") == [("wal",)]
    columns = [(row[1], row[2], row[5]) for row in _rows(path, "PRAGMA table_info(checkpoints)")]
    assert columns == [("thread_id", "TEXT", 1), ("sequence", "INTEGER", 2), ("data", "BLOB", 0),
                       ("created_at", "REAL", 0)]
    ((thread, sequence, data, created_at),) = _rows(path, "SELECT * FROM checkpoints")
    assert (thread, sequence, created_at) == ("workflow-123", 1, FIXED.timestamp())
    assert json.loads(data)["body"]["checkpoint_id"] == "workflow-123-00000001"


def test_a_plain_put_is_stamped_with_the_current_time(tmp_path: Path) -> None:
    with SqliteCheckpointStore(tmp_path / "cp.db") as store:
        before = datetime.now(UTC)
        store.put("sales", 1, b"x")
        stamp = store.created_times("sales")[1]
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC) + timedelta(seconds=1)


def test_sequence_numbers_are_never_reused_after_a_delete(tmp_path: Path) -> None:
    with SqliteCheckpointStore(tmp_path / "cp.db") as store:
        manager = CheckpointManager(store=store)
        for _ in range(3):
            manager.save(manager.create_checkpoint("sales", [], set()))
        assert manager.cleanup("sales", keep_latest=0) == 3
        restarted = CheckpointManager(store=SqliteCheckpointStore(tmp_path / "cp.db"))
        assert restarted.create_checkpoint("sales", [], set()).sequence == 4


def test_two_managers_on_one_database_interleave_without_collisions(tmp_path: Path) -> None:
    first = CheckpointManager(store=SqliteCheckpointStore(tmp_path / "cp.db"))
    second = CheckpointManager(store=SqliteCheckpointStore(tmp_path / "cp.db"))
    a = first.create_checkpoint("sales", [], set(), iteration=1)
    b = second.create_checkpoint("sales", [], set(), iteration=2)
    c = first.create_checkpoint("sales", [], set(), iteration=3)
    assert (a.sequence, b.sequence, c.sequence) == (1, 2, 3)
    for checkpoint, manager in ((c, first), (a, first), (b, second)):
        manager.save(checkpoint)
    assert second.load_latest("sales").iteration == 3  # type: ignore[union-attr]
    assert first.list_checkpoints("sales") == ["sales-00000001", "sales-00000002",
                                               "sales-00000003"]


def test_close_then_use_again_opens_a_new_connection(tmp_path: Path) -> None:
    store = SqliteCheckpointStore(tmp_path / "cp.db")
    store.put("sales", 1, b"x")
    store.close()
    store.close()  # twice is harmless
    assert store.get("sales", 1) == b"x"
    store.close()


@pytest.mark.parametrize("path", [":memory:", "file::memory:?cache=shared"])
def test_an_in_memory_database_is_refused(path: str) -> None:
    with pytest.raises(ConfigError, match="MemoryCheckpointStore"):
        SqliteCheckpointStore(path)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"timeout": -1}, "timeout must be"), ({"timeout": True}, "timeout must be"),
    ({"synchronous": "OFF"}, "synchronous must be one of FULL, NORMAL"),
])
def test_bad_options_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SqliteCheckpointStore(tmp_path / "cp.db", **kwargs)


def test_a_file_that_is_not_a_database_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    path.write_bytes(b"this is not a database, just some text that is long enough" * 20)
    store = SqliteCheckpointStore(path)
    with pytest.raises(OdibiError, match=r"cp\.db: cannot list the checkpoints of 'sales'"):
        store.sequences("sales")


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cp.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(OdibiError, match="schema version 99; this odibi_core reads version 1"):
        SqliteCheckpointStore(path).get("sales", 1)


_WRITER = textwrap.dedent("""
    import json, sys
    from odibi_core.checkpoint import CheckpointManager, NodeCheckpoint, SqliteCheckpointStore

    path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SqliteCheckpointStore(path)
    manager = CheckpointManager(store=store)
    store.dag_names()  # open the database before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    saved = []
    for i in range(count):
        for thread in ("shared", "own-" + writer):
            node = NodeCheckpoint("n%d" % i, "SUCCESS", "2026-01-01T00:00:00+00:00", 1.0)
            checkpoint = manager.create_checkpoint(thread, [node], {"later"}, iteration=i,
                                                   metadata={"writer": writer, "i": i})
            manager.save(checkpoint)
            saved.append(checkpoint.checkpoint_id)
    print(json.dumps(saved), flush=True)
""")


def test_two_processes_writing_to_one_database_lose_nothing(tmp_path: Path) -> None:
    path, count = tmp_path / "cp.db", 200
    root = str(Path(odibi_core.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [root, os.environ.get("PYTHONPATH")]))}
    writers = {name: subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), name, str(count)], cwd=tmp_path, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("w1", "w2")}
    saved: dict[str, list[str]] = {}
    try:
        for process in writers.values():  # both have the database open
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr.read()  # type: ignore[union-attr]
        for process in writers.values():  # start together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for name, process in writers.items():
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
            saved[name] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process in writers.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    with SqliteCheckpointStore(path) as store:
        manager = CheckpointManager(store=store)
        assert store.sequences("shared") == list(range(1, 2 * count + 1))
        for name, ids in saved.items():
            assert len(ids) == len(set(ids)) == 2 * count
            assert store.sequences(f"own-{name}") == list(range(1, count + 1))
            for checkpoint_id in ids:
                checkpoint = manager.load(checkpoint_id)
                assert checkpoint is not None, checkpoint_id
                assert checkpoint.metadata["writer"] == name
                assert checkpoint.completed_names == {f"n{checkpoint.metadata['i']}"}
        shared = [i for ids in saved.values() for i in ids if i.startswith("shared-")]
        assert sorted(shared) == manager.list_checkpoints("shared")
        assert store.dag_names() == ["own-w1", "own-w2", "shared"]
    assert _rows(path, "PRAGMA integrity_check") == [("ok",)]


def test_checkpoints_written_by_a_file_manager_node_round_trip(tmp_path: Path) -> None:
    """The same bytes the file store would hold: a checkpoint saved in SQLite loads back equal."""
    with SqliteCheckpointStore(tmp_path / "cp.db") as store:
        manager = CheckpointManager(store=store, clock=lambda: FIXED)
        node = NodeCheckpoint("extract", "SUCCESS", FIXED.isoformat(), 3.5, cache_key="ab" * 32)
        original = manager.create_checkpoint("workflow-123", [node], {"load"}, mode="stream",
                                             iteration=4, metadata={"offset": [1, 2]})
        manager.save(original)
        assert manager.load("workflow-123-00000001") == original
