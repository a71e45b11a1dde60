"""The folder store shared by processes: a read or a listing in one process never removes an
entry another process is still writing, and concurrent writers of one key both succeed.

Each test starts real processes (multiprocessing, spawn); the workers are the functions below.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from odibi_core.cache import CacheEntry, LocalDirectoryStore

KEY = "c0ffee" * 8
PAYLOAD = b"PAR1" + bytes(range(256)) * 64 + b"PAR1"
SPAWN = multiprocessing.get_context("spawn")


def entry(payload: bytes = PAYLOAD, step: str = "load") -> CacheEntry:
    return CacheEntry(KEY, "parquet", payload, {"step_name": step})


def wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        time.sleep(0.01)


# -- workers (run in spawned processes) ----------------------------------------------------------


def write_paused_after_payload(root: str, flags: str) -> None:
    """Write the entry, pausing between its payload and its metadata (the commit) until the
    ``go`` flag appears; says ``paused`` when it is there."""
    import odibi_core.cache.store as store_module

    real = store_module.atomic_write

    def atomic_write(path: Any, fill: Callable[..., Any]) -> Path:
        written = real(path, fill)
        if str(path).endswith(".parquet"):
            Path(flags, "paused").touch()
            wait_for(Path(flags, "go"))
        return written

    store_module.atomic_write = atomic_write
    LocalDirectoryStore(root).write(entry())


def read_and_list(root: str, out: str) -> None:
    """What a reader in another process sees: read, keys, entries."""
    store = LocalDirectoryStore(root)
    got = store.read(KEY)
    result = {"read": None if got is None else len(got.payload), "keys": store.keys(),
              "entries": [info.key for info in store.entries()]}
    Path(out).write_text(json.dumps(result), encoding="utf-8")


def write_in_a_loop(root: str, rounds: int, step: str) -> None:
    store = LocalDirectoryStore(root)
    for _ in range(rounds):
        store.write(entry(step=step))


def read_in_a_loop(root: str, rounds: int, out: str) -> None:
    """Read and list while others write; records what each read returned."""
    store = LocalDirectoryStore(root)
    seen = {"hit": 0, "miss": 0, "wrong": 0}
    for _ in range(rounds):
        got = store.read(KEY)
        if got is None:
            seen["miss"] += 1
        else:
            seen["hit" if got.payload == PAYLOAD else "wrong"] += 1
        store.keys()
    Path(out).write_text(json.dumps(seen), encoding="utf-8")


def start(target: Callable[..., None], *args: object) -> multiprocessing.process.BaseProcess:
    process = SPAWN.Process(target=target, args=args)
    process.start()
    return process


def finish(*processes: multiprocessing.process.BaseProcess, timeout: float = 120.0) -> None:
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
    assert [p.exitcode for p in processes] == [0] * len(processes), "a worker failed (see stderr)"


# -- tests ---------------------------------------------------------------------------------------


def test_a_reader_in_another_process_leaves_a_write_in_progress_alone(tmp_path: Path) -> None:
    root, flags = tmp_path / "cache", tmp_path / "flags"
    flags.mkdir()
    writer = start(write_paused_after_payload, str(root), str(flags))
    try:
        wait_for(flags / "paused")
        assert (root / f"{KEY}.parquet").exists() and not (root / f"{KEY}.meta.json").exists()

        reader = start(read_and_list, str(root), str(tmp_path / "seen.json"))
        finish(reader)
        seen = json.loads((tmp_path / "seen.json").read_text())
        assert seen == {"read": None, "keys": [], "entries": []}, "not committed yet: no entry"
        assert (root / f"{KEY}.parquet").exists(), "the payload being written is left alone"
    finally:
        (flags / "go").touch()
        finish(writer)

    got = LocalDirectoryStore(root).read(KEY)
    assert got is not None and got.payload == PAYLOAD, "the finished write reads back intact"


def test_two_writers_of_one_key_and_a_reader_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    LocalDirectoryStore(root).write(entry(step="first"))
    workers = [start(write_in_a_loop, str(root), 150, "one"),
               start(write_in_a_loop, str(root), 150, "two"),
               start(read_in_a_loop, str(root), 600, str(tmp_path / "seen.json"))]

    finish(*workers)

    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["wrong"] == 0, f"a reader never gets other bytes than were written: {seen}"
    got = LocalDirectoryStore(root).read(KEY)
    assert got is not None and got.payload == PAYLOAD
    assert got.metadata["step_name"] in ("one", "two")
    assert not list(root.glob(".*.tmp")), "no temp file is left behind"


@pytest.mark.parametrize("operation", ["read", "keys", "entries", "clear"])
def test_fresh_uncommitted_files_survive_other_processes(tmp_path: Path, operation: str) -> None:
    """Files of a write in progress, made by hand with a fresh mtime, are left alone by any
    operation of another process (test_cache_stores.py shows old ones are removed)."""
    root = tmp_path / "cache"
    root.mkdir()
    in_progress = [root / f"{KEY}.parquet", root / f".{KEY}.meta.json.abc123.tmp"]
    for path in in_progress:
        path.write_bytes(b"being written")

    process = start(run_operation, str(root), operation)
    finish(process)

    assert all(path.exists() for path in in_progress)


def run_operation(root: str, operation: str) -> None:
    store = LocalDirectoryStore(root)
    getattr(store, operation)(*([KEY] if operation == "read" else []))
