"""FsspecStore beyond the shared contract: its objects, the commit order, readers racing writers.

Everything runs on fsspec's memory filesystem or a local folder; no network.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from odibi_core.cache import CacheEntry, CacheManager, FsspecStore

K1 = "a" * 64
K2 = "b" * 64
K3 = "0123456789abcdef"


def entry(key: str = K1, payload: bytes = b'{"x": 1}', kind: str = "json", step: str = "clean") -> CacheEntry:
    return CacheEntry(key, kind, payload, {"step_name": step, "engine": "pandas"})


@pytest.fixture
def store(memory_url: str) -> FsspecStore:
    return FsspecStore(memory_url)


def names(store: FsspecStore) -> list[str]:
    if not store.fs.exists(store.root):
        return []
    return sorted(p.rsplit("/", 1)[-1] for p in store.fs.ls(store.root, detail=False))


def test_an_entry_is_a_payload_object_and_a_metadata_object(store: FsspecStore) -> None:
    store.write(entry(K1, b"PAR1...PAR1", "parquet", step="load"))

    assert names(store) == [f"{K1}.meta.json", f"{K1}.parquet"]
    assert store.fs.cat_file(f"{store.root}/{K1}.parquet") == b"PAR1...PAR1"
    meta = json.loads(store.fs.cat_file(f"{store.root}/{K1}.meta.json"))
    assert (meta["key"], meta["kind"], meta["step_name"], meta["bytes"]) == (K1, "parquet", "load", 11)


def test_overwrite_with_another_kind_leaves_no_old_payload(store: FsspecStore) -> None:
    store.write(entry(K1, b"frame", "parquet"))
    store.write(entry(K1, b"[1]", "json"))

    assert names(store) == [f"{K1}.json", f"{K1}.meta.json"]


def test_write_uncommits_then_puts_the_payload_then_commits_the_metadata(
        store: FsspecStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write(entry(K1, b"old"))
    calls: list[tuple[str, str]] = []
    real_pipe, real_rm = store.fs.pipe_file, store.fs.rm_file
    monkeypatch.setattr(store.fs, "pipe_file",
                        lambda path, data, **kw: (calls.append(("put", path)), real_pipe(path, data, **kw)))
    monkeypatch.setattr(store.fs, "rm_file", lambda path: (calls.append(("rm", path)), real_rm(path)))

    store.write(entry(K1, b'"new"'))

    meta, payload = f"{store.root}/{K1}.meta.json", f"{store.root}/{K1}.json"
    assert calls[0] == ("rm", meta), "the old entry is uncommitted before anything changes"
    assert calls.index(("put", payload)) < calls.index(("put", meta)) == len(calls) - 1


@pytest.mark.parametrize("failing_put", [1, 2], ids=["payload", "metadata"])
@pytest.mark.parametrize("had_entry", [False, True], ids=["new", "overwrite"])
def test_a_write_that_dies_midway_leaves_no_entry(store: FsspecStore, monkeypatch: pytest.MonkeyPatch,
                                                 failing_put: int, had_entry: bool) -> None:
    cache = CacheManager(store=store)
    key = CacheManager.compute_cache_key("step", {}, "fp", "SELECT 1")
    if had_entry:
        assert cache.put(key, {"v": "old"}, step_name="step") is True
    real_pipe, puts = store.fs.pipe_file, []

    def pipe_then_die(path: str, data: bytes, **kw: Any) -> None:  # the network drops at PUT n
        puts.append(path)
        if len(puts) == failing_put:
            raise OSError("connection reset by peer")
        real_pipe(path, data, **kw)

    monkeypatch.setattr(store.fs, "pipe_file", pipe_then_die)
    assert cache.put(key, {"v": "new"}, step_name="step") is False
    monkeypatch.setattr(store.fs, "pipe_file", real_pipe)

    assert cache.get(key) is None, "neither the torn new entry nor the replaced old one"
    assert store.keys() == []
    assert cache.put(key, {"v": "new"}, step_name="step") is True
    assert cache.get(key) == {"v": "new"}


def test_a_payload_without_metadata_is_not_an_entry(store: FsspecStore) -> None:
    store.write(entry(K2))
    store.fs.pipe_file(f"{store.root}/{K1}.parquet", b"a writer died before committing")

    assert store.read(K1) is None
    assert store.keys() == [K2]
    assert [info.key for info in store.entries()] == [K2]
    assert store.delete(K1) is False  # but delete sweeps the leftover payload
    assert names(store) == [f"{K2}.json", f"{K2}.meta.json"]


def test_a_reader_that_races_a_writer_reads_again_instead_of_warning(
        store: FsspecStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    store.write(entry(K1, b'"old"', step="old"))
    real_cat, raced = store.fs.cat_file, []

    def cat_then_overwrite(path: str, *args: Any, **kw: Any) -> bytes:
        data = real_cat(path, *args, **kw)
        if path.endswith(".meta.json") and not raced:  # a writer lands between the two GETs
            raced.append(path)
            store.write(entry(K1, b'"brand new"', step="new"))
        return data

    monkeypatch.setattr(store.fs, "cat_file", cat_then_overwrite)
    with caplog.at_level(logging.DEBUG, logger="odibi_core.cache"):
        got = store.read(K1)

    assert raced
    assert got is not None and (got.payload, got.metadata["step_name"]) == (b'"brand new"', "new")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_missing_payload_with_stable_metadata_is_damage(
        store: FsspecStore, caplog: pytest.LogCaptureFixture) -> None:
    store.write(entry(K1))
    store.fs.rm_file(f"{store.root}/{K1}.json")

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert store.read(K1) is None
    assert "payload unreadable" in caplog.text and store.url in caplog.text


def test_metadata_for_another_key_is_rejected(store: FsspecStore, caplog: pytest.LogCaptureFixture) -> None:
    store.write(entry(K1))
    store.fs.mv(f"{store.root}/{K1}.meta.json", f"{store.root}/{K2}.meta.json")
    store.fs.mv(f"{store.root}/{K1}.json", f"{store.root}/{K2}.json")

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert store.read(K2) is None
    assert "names key" in caplog.text


def test_clear_touches_only_entry_objects(store: FsspecStore) -> None:
    store.write(entry(K1))
    store.write(entry(K2, b"x", "parquet"))
    others = ["notes.txt", "cafe.csv", "beef.parquet.bak", "README"]
    for name in others:
        store.fs.pipe_file(f"{store.root}/{name}", b"keep me")
    store.fs.pipe_file(f"{store.root}/{K3}.json", b"uncommitted")

    assert store.clear() == 2
    assert names(store) == sorted(others)


def test_a_url_and_a_filesystem_with_root_reach_the_same_entries(memory_url: str) -> None:
    by_url = FsspecStore(memory_url)
    fs, root = fsspec.core.url_to_fs(memory_url)
    by_fs = FsspecStore(fs, root=memory_url.removeprefix("memory://"))
    by_url.write(entry(K1, b"shared"))

    got = by_fs.read(K1)

    assert isinstance(by_fs.fs, MemoryFileSystem) and by_fs.root == by_url.root == root
    assert got is not None and got.payload == b"shared"
    assert by_fs.delete(K1) is True and by_url.read(K1) is None


def test_a_file_url_writes_plain_files_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = FsspecStore((tmp_path / "cache").as_uri())

    assert (store.read(K1), store.keys(), store.entries(), store.clear()) == (None, [], [], 0)
    assert not (tmp_path / "cache").exists()
    store.write(entry(K1, b"frame", "parquet"))
    store.write(entry(K1, b"[1]"))

    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [f"{K1}.json", f"{K1}.meta.json"]
    assert store.root == (tmp_path / "cache").as_posix()


def test_repr_and_warnings_never_show_storage_options(memory_url: str) -> None:
    store = FsspecStore(memory_url, secret_token="hunter2")

    assert repr(store) == f"FsspecStore({store.url!r})" and "hunter2" not in repr(store)
    assert store.url.startswith("memory://")


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), [
    (("memory://x",), {"root": "y"}, ValueError, "pass root only with a filesystem"),
    ((MemoryFileSystem(),), {}, ValueError, "needs root="),
    ((MemoryFileSystem(),), {"root": "x", "anon": True}, TypeError, "already made"),
    ((Path("cache"),), {}, TypeError, "got PosixPath"),
])
def test_construction_mistakes_are_explained(args: tuple[Any, ...], kwargs: dict[str, Any],
                                             error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        FsspecStore(*args, **kwargs)


def test_cache_manager_on_fsspec_invalidates_and_clears(store: FsspecStore) -> None:
    cache = CacheManager(store=store)
    keys = [CacheManager.compute_cache_key(step, {}, "fp", n) for step in ("a", "b") for n in range(2)]
    for k, step in zip(keys, ["a", "a", "b", "b"], strict=True):
        assert cache.put(k, {"step": step}, step_name=step) is True

    assert cache.cache_dir is None
    assert cache.invalidate("a") == 2
    assert [info.step_name for info in store.entries()] == ["b", "b"]
    assert cache.get(keys[2]) == {"step": "b"}
    assert cache.clear_all() == 2
    assert names(store) == []
    assert cache.get_stats()["entries"] == 0
