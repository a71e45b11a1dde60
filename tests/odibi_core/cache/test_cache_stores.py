"""The cache store contract, run against every store; then the folder store's file layout.

The fsspec store's own behaviour (objects, commit order, races) is in test_fsspec_store.py."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from odibi_core.cache import (
    CacheEntry,
    CacheEntryInfo,
    CacheKeyError,
    CacheStore,
    FsspecStore,
    LocalDirectoryStore,
    MemoryStore,
)
from odibi_core.cache.store import ORPHAN_AGE

K1 = "a" * 64
K2 = "b" * 64
K3 = "0123456789abcdef"


@dataclass(frozen=True)
class StoreCase:
    """How to make one store and how to damage an entry in it behind its back."""

    name: str
    make: Callable[[Path, str], CacheStore]  # (tmp_path, a fresh memory:// URL) -> store
    damage_payload: Callable[[CacheStore, str], None]
    damage_metadata: Callable[[CacheStore, str], None]


def _local_damage_payload(store: CacheStore, key: str) -> None:
    assert isinstance(store, LocalDirectoryStore)
    (path,) = [p for p in store.root.glob(f"{key}.*") if not p.name.endswith(".meta.json")]
    path.write_bytes(path.read_bytes()[:-3] + b"xyz")


def _local_damage_metadata(store: CacheStore, key: str) -> None:
    assert isinstance(store, LocalDirectoryStore)
    meta = store.root / f"{key}.meta.json"
    meta.write_bytes(meta.read_bytes()[:20])  # torn JSON


def _memory_damage_payload(store: CacheStore, key: str) -> None:
    assert isinstance(store, MemoryStore)
    meta, payload = store._entries[key]
    store._entries[key] = (meta, payload[:-3] + b"xyz")


def _memory_damage_metadata(store: CacheStore, key: str) -> None:
    assert isinstance(store, MemoryStore)
    _, payload = store._entries[key]
    store._entries[key] = ("not a mapping", payload)


def _fsspec_damage_payload(store: CacheStore, key: str) -> None:
    assert isinstance(store, FsspecStore)
    (path,) = [p for p in store.fs.ls(store.root, detail=False)
               if p.rsplit("/", 1)[-1].startswith(f"{key}.") and not p.endswith(".meta.json")]
    store.fs.pipe_file(path, store.fs.cat_file(path)[:-3] + b"xyz")


def _fsspec_damage_metadata(store: CacheStore, key: str) -> None:
    assert isinstance(store, FsspecStore)
    meta = f"{store.root}/{key}.meta.json"
    store.fs.pipe_file(meta, store.fs.cat_file(meta)[:20])  # torn JSON


CASES = [
    StoreCase("local", lambda tmp, url: LocalDirectoryStore(tmp / "cache"),
              _local_damage_payload, _local_damage_metadata),
    StoreCase("memory", lambda tmp, url: MemoryStore(), _memory_damage_payload, _memory_damage_metadata),
    StoreCase("fsspec-memory", lambda tmp, url: FsspecStore(url),
              _fsspec_damage_payload, _fsspec_damage_metadata),
    StoreCase("fsspec-file", lambda tmp, url: FsspecStore((tmp / "cache").as_uri()),
              _fsspec_damage_payload, _fsspec_damage_metadata),
]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> StoreCase:
    return request.param


@pytest.fixture
def store(case: StoreCase, tmp_path: Path, memory_url: str) -> CacheStore:
    return case.make(tmp_path, memory_url)


def entry(key: str = K1, payload: bytes = b'{"x": 1}', kind: str = "json", **metadata: object) -> CacheEntry:
    metadata.setdefault("step_name", "clean")
    metadata.setdefault("engine", "pandas")
    return CacheEntry(key, kind, payload, metadata)


# -- contract: every store -------------------------------------------------------------------


def test_missing_key_reads_as_none(store: CacheStore) -> None:
    assert store.read(K1) is None
    assert store.keys() == []
    assert store.entries() == []


def test_write_then_read_round_trips_payload_and_metadata(store: CacheStore) -> None:
    payload = bytes(range(256)) * 10
    store.write(entry(K1, payload, "parquet", step_name="load", engine="pandas", rows=3))

    got = store.read(K1)

    assert got is not None
    assert (got.key, got.kind, got.payload) == (K1, "parquet", payload)
    assert got.metadata["step_name"] == "load"
    assert got.metadata["engine"] == "pandas"
    assert got.metadata["rows"] == 3
    assert got.metadata["bytes"] == len(payload)
    assert len(got.metadata["sha256"]) == 64
    assert got.metadata["created_at"]


def test_overwrite_keeps_only_the_latest_entry(store: CacheStore) -> None:
    store.write(entry(K1, b"old", "parquet", step_name="first"))
    store.write(entry(K1, b'"new"', "json", step_name="second"))

    got = store.read(K1)

    assert got is not None
    assert (got.kind, got.payload, got.metadata["step_name"]) == ("json", b'"new"', "second")
    assert store.keys() == [K1]
    assert [info.step_name for info in store.entries()] == ["second"]


def test_delete_says_whether_there_was_an_entry(store: CacheStore) -> None:
    store.write(entry(K1))
    store.write(entry(K2))

    assert store.delete(K1) is True
    assert store.delete(K1) is False
    assert store.read(K1) is None
    assert store.keys() == [K2]


def test_keys_and_entries_list_every_entry_sorted_by_key(store: CacheStore) -> None:
    store.write(entry(K2, b"22", step_name="two"))
    store.write(entry(K3, b"333", "parquet", step_name="three"))
    store.write(entry(K1, b"1", step_name=None))

    assert store.keys() == [K3, K1, K2]
    infos = store.entries()
    assert all(isinstance(info, CacheEntryInfo) for info in infos)
    assert [(i.key, i.step_name, i.kind, i.bytes) for i in infos] == [
        (K3, "three", "parquet", 3), (K1, None, "json", 1), (K2, "two", "json", 2)]
    assert all(info.created_at for info in infos)


def test_clear_removes_everything_and_counts_it(store: CacheStore) -> None:
    for key in (K1, K2, K3):
        store.write(entry(key))

    assert store.clear() == 3
    assert store.keys() == []
    assert store.read(K2) is None
    assert store.clear() == 0


def test_stored_metadata_is_a_copy(store: CacheStore) -> None:
    metadata = {"step_name": "clean", "engine": "pandas", "tags": ["a"]}
    store.write(CacheEntry(K1, "json", b"1", metadata))
    metadata["tags"].append("changed")
    first = store.read(K1)
    assert first is not None
    first.metadata["tags"].append("changed too")

    second = store.read(K1)

    assert second is not None and second.metadata["tags"] == ["a"]


@pytest.mark.parametrize("bad", ["../x", "..", "", "a/b", "ABCDEF", "xyz", "a" * 129, "a.b", 12])
def test_keys_that_are_not_lowercase_hex_are_rejected(store: CacheStore, bad: object) -> None:
    with pytest.raises(CacheKeyError, match="invalid cache key"):
        store.read(bad)  # type: ignore[arg-type]
    with pytest.raises(CacheKeyError):
        store.delete(bad)  # type: ignore[arg-type]
    with pytest.raises(CacheKeyError):
        CacheEntry(bad, "json", b"1")  # type: ignore[arg-type]
    assert store.keys() == []


def test_entry_kind_and_payload_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        CacheEntry(K1, "pickle", b"x")
    with pytest.raises(TypeError, match="bytes"):
        CacheEntry(K1, "json", "text")  # type: ignore[arg-type]


def test_damaged_payload_reads_as_none_with_a_warning(store: CacheStore, case: StoreCase,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    store.write(entry(K1, b"0123456789", "parquet"))
    store.write(entry(K2))
    case.damage_payload(store, K1)

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert store.read(K1) is None

    assert "damaged" in caplog.text and K1 in caplog.text
    assert store.read(K2) is not None  # the neighbour is untouched


def test_damaged_metadata_reads_as_none_with_a_warning(store: CacheStore, case: StoreCase,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    store.write(entry(K1))
    store.write(entry(K2))
    case.damage_metadata(store, K1)

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert store.read(K1) is None
        listed = [info.key for info in store.entries()]

    assert "damaged" in caplog.text
    assert listed == [K2]
    store.write(entry(K1, b"2"))  # a new write repairs it
    repaired = store.read(K1)
    assert repaired is not None and repaired.payload == b"2"


def test_concurrent_writers_and_readers_only_ever_see_whole_entries(
        store: CacheStore, caplog: pytest.LogCaptureFixture) -> None:
    shared = [K1, K2, K3]
    rounds = 10
    seen: list[tuple[bytes, object]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def writer(n: int) -> None:
        start.wait()
        for r in range(rounds):
            tag = f"w{n}-r{r}"
            for key in [*shared, f"{n:x}" * 8]:
                store.write(entry(key, tag.encode() * (50 + n * r), step_name=tag))

    def reader() -> None:
        start.wait()
        for _ in range(rounds * 4):
            for key in shared:
                got = store.read(key)
                if got is not None:
                    seen.append((got.payload, got.metadata["step_name"]))

    def guard(target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(writer, n)) for n in range(8)]
    threads += [threading.Thread(target=guard, args=(reader,)) for _ in range(4)]
    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert not caplog.records, caplog.text
    stored = store.keys()
    assert len(stored) == len(shared) + 8
    for key in stored:
        got = store.read(key)
        assert got is not None
        tag = got.metadata["step_name"]
        assert isinstance(tag, str) and got.payload.startswith(tag.encode())
        assert tag.endswith(f"-r{rounds - 1}")  # every writer's last round came last for its own key
    for payload, tag in seen:  # what readers saw mid-flight was a whole, matching entry
        assert isinstance(tag, str)
        n, r = (int(part[1:]) for part in tag.split("-"))
        assert payload == tag.encode() * (50 + n * r)


# -- the folder store's files ------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> LocalDirectoryStore:
    return LocalDirectoryStore(tmp_path / "cache")


def test_local_store_keeps_a_payload_file_and_a_metadata_file(local: LocalDirectoryStore) -> None:
    local.write(entry(K1, b"PAR1...PAR1", "parquet", step_name="load"))

    assert sorted(p.name for p in local.root.iterdir()) == [f"{K1}.meta.json", f"{K1}.parquet"]
    assert (local.root / f"{K1}.parquet").read_bytes() == b"PAR1...PAR1"
    meta = json.loads((local.root / f"{K1}.meta.json").read_text())
    assert (meta["key"], meta["kind"], meta["step_name"], meta["bytes"]) == (K1, "parquet", "load", 11)


def test_local_overwrite_with_another_kind_leaves_no_old_payload(local: LocalDirectoryStore) -> None:
    local.write(entry(K1, b"frame", "parquet"))
    local.write(entry(K1, b"[1]", "json"))

    assert sorted(p.name for p in local.root.iterdir()) == [f"{K1}.json", f"{K1}.meta.json"]


def abandoned(path: Path, data: bytes, age: float = ORPHAN_AGE + 1) -> Path:
    """A file a writer left ``age`` seconds ago."""
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_payload_without_metadata_is_not_an_entry_and_is_cleaned_up_when_old(
        local: LocalDirectoryStore) -> None:
    local.write(entry(K2))
    dead = abandoned(local.root / f"{K1}.parquet", b"a writer died before committing")
    temp = abandoned(local.root / f".{K2}.meta.json.abc123.tmp", b"half")

    assert local.read(K1) is None
    assert dead.exists(), "a read never removes anything"

    fresh = local.root / f"{K3}.json"
    fresh.write_bytes(b"[1, 2")  # maybe another process's write in progress
    assert local.keys() == [K2]
    assert [info.key for info in local.entries()] == [K2]
    assert not dead.exists() and not temp.exists(), "older than orphan_age: abandoned"
    assert fresh.exists(), "younger than orphan_age: left to its writer"
    assert local.delete(K1) is False


def test_orphan_age_is_configurable(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "c", orphan_age=0)
    store.write(entry(K2))
    store.root.joinpath(f"{K1}.parquet").write_bytes(b"uncommitted")

    assert store.keys() == [K2]
    assert not store.root.joinpath(f"{K1}.parquet").exists()
    with pytest.raises(ValueError, match="orphan_age"):
        LocalDirectoryStore(tmp_path / "c", orphan_age=float("nan"))


def test_local_missing_payload_reads_as_none_with_a_warning(
        local: LocalDirectoryStore, caplog: pytest.LogCaptureFixture) -> None:
    local.write(entry(K1))
    local.root.joinpath(f"{K1}.json").unlink()

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert local.read(K1) is None
    assert "payload unreadable" in caplog.text


def test_local_metadata_for_another_key_is_rejected(local: LocalDirectoryStore,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    local.write(entry(K1))
    local.root.joinpath(f"{K1}.meta.json").rename(local.root / f"{K2}.meta.json")
    local.root.joinpath(f"{K1}.json").rename(local.root / f"{K2}.json")

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert local.read(K2) is None
    assert "names key" in caplog.text


def test_local_clear_touches_only_entry_files(local: LocalDirectoryStore) -> None:
    local.write(entry(K1))
    local.write(entry(K2, b"x", "parquet"))
    others = ["notes.txt", "cafe.csv", "beef.parquet.bak", "README"]
    for name in others:
        local.root.joinpath(name).write_text("keep me")
    abandoned(local.root / f".{K3}.parquet.abc123.tmp", b"a writer died here")
    abandoned(local.root / f"{K3}.json", b"uncommitted")
    in_progress = [f".{K1}.json.def456.tmp", f"{K3}.parquet"]
    for name in in_progress:
        local.root.joinpath(name).write_bytes(b"another process is writing this")

    assert local.clear() == 2
    assert sorted(p.name for p in local.root.iterdir()) == sorted([*others, *in_progress])


def test_local_stores_on_one_folder_share_entries(tmp_path: Path) -> None:
    one, two = LocalDirectoryStore(tmp_path / "c"), LocalDirectoryStore(str(tmp_path / "c"))
    one.write(entry(K1, b"shared"))

    got = two.read(K1)

    assert got is not None and got.payload == b"shared"
    assert two.delete(K1) is True
    assert one.read(K1) is None


def test_local_store_on_a_missing_folder_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "not" / "yet")

    assert (store.read(K1), store.keys(), store.entries(), store.clear()) == (None, [], [], 0)
    assert store.delete(K1) is False
    assert not (tmp_path / "not").exists()
    store.write(entry(K1))
    assert store.keys() == [K1]
