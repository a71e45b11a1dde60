"""CacheManager: the seed's checkpoint, content-addressed keys, values, stats and fingerprints."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import odibi_core.cache
import odibi_core.cache.keys as keys_module
from odibi_core.cache import (
    CACHE_FORMAT_VERSION,
    CacheStore,
    FsspecStore,
    LocalDirectoryStore,
    MemoryStore,
    Uncacheable,
    canonical_json,
    default_cache_dir,
)
from odibi_core.cache_manager import CacheManager
from odibi_core.errors import OdibiError


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default cache folder is a temp folder: no test writes to ~/.cache/odibi."""
    folder = tmp_path / "default-cache"
    monkeypatch.setenv("ODIBI_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(params=["local", "memory", "fsspec-memory"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> CacheManager:
    stores: dict[str, Callable[[], CacheStore]] = {
        "local": lambda: LocalDirectoryStore(tmp_path / "c"),
        "memory": MemoryStore,
        "fsspec-memory": lambda: FsspecStore(request.getfixturevalue("memory_url")),
    }
    return CacheManager(store=stores[request.param]())


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3],
        "amount": [1.5, None, -2.25],
        "name": ["a", None, "ç"],
        "empty": [None, None, None],
        "at": pd.to_datetime(["2024-01-01 10:00:00.123456", None, "2024-03-31 23:59:59.000001"],
                             format="ISO8601"),
        "day": [dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 29), None],
        "flag": [True, False, True],
    })


def key(name: str = "step", **parts: Any) -> str:
    return CacheManager.compute_cache_key(name, parts.pop("params", {}), parts.pop("inputs", "fp"),
                                          parts.pop("value", "SELECT 1"), **parts)


def test_default_cache_dir_follows_the_environment(_isolated_cache_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cache = CacheManager()
    assert cache.cache_dir == _isolated_cache_dir
    assert cache.put(key(), {"rows": 1}) is True
    assert len(list(_isolated_cache_dir.glob("*.meta.json"))) == 1

    monkeypatch.delenv("ODIBI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "odibi"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "odibi"
    assert CacheManager(cache_dir=tmp_path / "explicit").cache_dir == tmp_path / "explicit"


def test_level_4_import_path_is_the_cache_package() -> None:
    assert CacheManager is odibi_core.cache.CacheManager
    assert issubclass(Uncacheable, OdibiError)


# -- values ------------------------------------------------------------------------------------


def test_dataframe_comes_back_equal_with_its_dtypes(cache: CacheManager) -> None:
    original = frame()
    k = key()

    assert cache.put(k, original, step_name="step") is True
    back = cache.get(k)

    assert back is not original
    pd.testing.assert_frame_equal(back, original, check_exact=True)
    assert back["at"].iloc[0] == pd.Timestamp("2024-01-01 10:00:00.123456")
    assert back["name"].isna().tolist() == [False, True, False]


def test_dataframe_index_comes_back_as_it_was(cache: CacheManager) -> None:
    filtered = frame()[lambda f: f["flag"]]
    grouped = pd.DataFrame({"g": ["x", "y", "x"], "v": [1, 2, 3]}).groupby("g").sum()

    for n, original in enumerate([filtered, grouped]):
        cache.put(key(value=n), original)
        pd.testing.assert_frame_equal(cache.get(key(value=n)), original)


def test_dataframes_are_stored_as_parquet_never_pickle(tmp_path: Path) -> None:
    cache = CacheManager(cache_dir=tmp_path / "c")
    k = key()
    cache.put(k, frame())

    payload = (tmp_path / "c" / f"{k}.parquet").read_bytes()
    assert payload[:4] == b"PAR1" and payload[-4:] == b"PAR1"
    assert pd.read_parquet(tmp_path / "c" / f"{k}.parquet").shape == (3, 7)


@pytest.mark.parametrize("value", [
    {"rows": 3, "ratio": 0.5, "ok": True, "missing": None, "tags": ["a", "b"], "nested": {"x": [1]}},
    [1, 2.0, "three", False, None],
    "SELECT 1",
    42,
    -0.125,
    True,
    {},
])
def test_json_values_come_back_equal_and_of_the_same_types(cache: CacheManager, value: Any) -> None:
    k = key(value=repr(value))

    assert cache.put(k, value) is True
    back = cache.get(k)

    assert back == value
    assert type(back) is type(value)
    if isinstance(value, list):
        assert [type(v) for v in back] == [type(v) for v in value]
    assert cache.store.read(k).kind == "json"


class FakeSparkFrame:
    """Stands in for pyspark.sql.DataFrame without starting Spark."""


FakeSparkFrame.__module__ = "pyspark.sql.dataframe"


@pytest.mark.parametrize(("value", "reason"), [
    (object(), "builtins.object"),
    (FakeSparkFrame(), "Spark DataFrame"),
    ((1, 2), "tuple"),
    ({1, 2}, "set"),
    ({1: "int key"}, "dict"),
    ([1, float("nan")], "list"),
    (np.int64(3), "numpy"),
    (None, "None cannot be told apart from a miss"),
    (pd.DataFrame({"mixed": [1, "1"]}), "Parquet cannot hold this DataFrame"),
    (pd.DataFrame([[1, 2]], columns=["a", "a"]), "Duplicate column names"),
])
def test_unsupported_values_are_not_cached_and_nothing_is_written(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, value: Any, reason: str) -> None:
    cache = CacheManager(cache_dir=tmp_path / "c")
    k = key()

    with caplog.at_level(logging.INFO, logger="odibi_core.cache"):
        assert cache.put(k, value, step_name="odd") is False

    assert reason in caplog.text and "not caching" in caplog.text and "step 'odd'" in caplog.text
    assert cache.store.keys() == []
    assert not (tmp_path / "c").exists() or list((tmp_path / "c").iterdir()) == []
    assert cache.get(k) is None


def test_a_broken_cache_folder_never_fails_the_run(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = CacheManager(cache_dir=blocker)

    with caplog.at_level(logging.WARNING, logger="odibi_core.cache"):
        assert cache.put(key(), {"x": 1}) is False
        assert cache.get(key()) is None

    assert "cannot write cache entry" in caplog.text
    assert cache.get_stats()["misses"] == 1


def test_a_damaged_entry_is_a_miss_and_the_next_put_repairs_it(tmp_path: Path) -> None:
    cache = CacheManager(cache_dir=tmp_path / "c")
    k = key()
    cache.put(k, frame())
    (tmp_path / "c" / f"{k}.parquet").write_bytes(b"PAR1 garbage PAR1")

    assert cache.get(k) is None
    assert cache.put(k, frame()) is True
    pd.testing.assert_frame_equal(cache.get(k), frame())
    assert (cache.get_stats()["hits"], cache.get_stats()["misses"]) == (1, 1)


@pytest.mark.parametrize("failing_replace", [1, 2], ids=["payload", "metadata"])
@pytest.mark.parametrize("had_entry", [False, True], ids=["new", "overwrite"])
def test_a_write_interrupted_midway_leaves_no_entry_that_get_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_replace: int, had_entry: bool) -> None:
    cache = CacheManager(cache_dir=tmp_path / "c")
    k = key()
    if had_entry:
        assert cache.put(k, frame().head(1)) is True
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):  # the disk fills up at the n-th rename of this write
        calls.append(dst)
        if len(calls) == failing_replace:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_die)
    assert cache.put(k, frame()) is False
    monkeypatch.setattr(os, "replace", real_replace)

    assert len(calls) == failing_replace
    assert cache.get(k) is None, "neither the torn new entry nor the replaced old one"
    assert cache.store.keys() == []
    assert not [p.name for p in (tmp_path / "c").iterdir() if p.name.endswith(".tmp")]
    assert cache.put(k, frame()) is True
    pd.testing.assert_frame_equal(cache.get(k), frame())


def test_an_entry_put_for_another_engine_is_a_miss(cache: CacheManager) -> None:
    k = key()
    cache.put(k, frame(), engine="pandas")

    assert cache.get(k, engine="spark") is None
    assert cache.get(k, engine="pandas") is not None


def test_disabled_manager_stores_nothing_and_always_misses(_isolated_cache_dir: Path) -> None:
    cache = CacheManager(enabled=False)

    assert cache.put(key(), frame()) is False
    assert cache.get(key()) is None
    stats = cache.get_stats()
    assert (stats["enabled"], stats["entries"], stats["hits"], stats["misses"]) == (False, 0, 0, 0)
    assert not _isolated_cache_dir.exists()


# -- keys --------------------------------------------------------------------------------------


def test_key_is_a_sha256_hex_and_stable() -> None:
    first = CacheManager().compute_cache_key("test", {}, "hash123", "SELECT 1")

    assert len(first) == 64 and int(first, 16) >= 0
    assert first == CacheManager(store=MemoryStore()).compute_cache_key("test", {}, "hash123", "SELECT 1")


@pytest.mark.parametrize("change", [
    {"name": "other_step"},
    {"params": {"limit": 6}},
    {"params": {"limit": "5"}},
    {"params": {"limit": 5.0}},
    {"value": "SELECT 2"},
    {"inputs": {"orders": "fp-orders-v2", "customers": "fp-customers"}},
    {"inputs": {"orders": "fp-orders", "clients": "fp-customers"}},
    {"step_type": "function"},
    {"engine": "spark"},
    {"code_fingerprint": "code-v2"},
])
def test_key_changes_with_every_part(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "name": "join", "params": {"limit": 5}, "value": "SELECT * FROM orders",
        "inputs": {"orders": "fp-orders", "customers": "fp-customers"},
        "step_type": "sql", "engine": "pandas", "code_fingerprint": "code-v1",
    }

    assert key(**{**base, **change}) != key(**base)


def test_key_does_not_depend_on_dict_order_but_on_list_order() -> None:
    a = key(params={"x": 1, "y": {"b": 2, "a": 1}}, inputs={"left": "f1", "right": "f2"})
    b = key(params={"y": {"a": 1, "b": 2}, "x": 1}, inputs={"right": "f2", "left": "f1"})
    assert a == b

    assert key(inputs=["f1", "f2"]) != key(inputs=["f2", "f1"])
    assert key(inputs=["f1"]) != key(inputs="f1")


def test_key_covers_the_cache_format_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = key()
    monkeypatch.setattr(keys_module, "CACHE_FORMAT_VERSION", CACHE_FORMAT_VERSION + 1)

    assert key() != before


def test_canonical_json_has_one_spelling() -> None:
    assert canonical_json({"b": [1, (2, 3)], "a": "é"}) == '{"a":"\\u00e9","b":[1,[2,3]]}'


@pytest.mark.parametrize(("parts", "where"), [
    ({"inputs": None}, "input_fingerprint"),
    ({"inputs": {"orders": "fp", "customers": None}}, "input_fingerprint['customers']"),
    ({"inputs": ["fp", None]}, "input_fingerprint[1]"),
    ({"inputs": ""}, "input_fingerprint"),
    ({"inputs": 123}, "input_fingerprint"),
    ({"params": {"conn": object()}}, "params.conn"),
    ({"params": {"when": dt.date(2024, 1, 1)}}, "params.when"),
    ({"params": {"ids": {1, 2}}}, "params.ids"),
    ({"params": {"opts": [1, {2: "x"}]}}, "params.opts[1]"),
    ({"params": {"ratio": float("inf")}}, "params.ratio"),
    ({"value": lambda x: x}, "value"),
    ({"code_fingerprint": ""}, "code_fingerprint"),
])
def test_uncacheable_parts_raise_instead_of_hashing_a_partial_key(parts: dict[str, Any],
                                                                  where: str) -> None:
    with pytest.raises(Uncacheable) as info:
        key(**parts)

    assert info.value.part == where
    assert isinstance(info.value, OdibiError)
    assert where in str(info.value)


# -- maintenance and stats --------------------------------------------------------------------


def test_invalidate_removes_every_entry_of_one_step(cache: CacheManager) -> None:
    for n in range(2):
        cache.put(key("clean", value=n), frame(), step_name="clean")
    cache.put(key("load"), {"rows": 3}, step_name="load")

    assert cache.invalidate("clean") == 2
    assert cache.invalidate("clean") == 0
    assert [info.step_name for info in cache.store.entries()] == ["load"]
    assert cache.get(key("load")) == {"rows": 3}


def test_clear_all_removes_everything(cache: CacheManager) -> None:
    for n in range(3):
        cache.put(key(value=n), [n])

    assert cache.clear_all() == 3
    assert cache.get_stats()["entries"] == 0
    assert cache.get(key(value=0)) is None


def test_stats_count_hits_misses_entries_and_bytes(tmp_path: Path) -> None:
    cache = CacheManager(cache_dir=tmp_path / "c")
    assert cache.get_stats()["hit_rate"] == 0.0
    cache.put(key(value=1), frame())
    cache.put(key(value=2), {"rows": 3})

    cache.get(key(value=1))
    cache.get(key(value=2))
    cache.get(key(value=2))
    cache.get(key(value=3))
    stats = cache.get_stats()

    payloads = [p for p in (tmp_path / "c").iterdir() if not p.name.endswith(".meta.json")]
    assert (stats["hits"], stats["misses"], stats["hit_rate"]) == (3, 1, 0.75)
    assert (stats["entries"], stats["entry_count"]) == (2, 2)
    assert (stats["total_hits"], stats["total_misses"]) == (3, 1)
    assert stats["bytes"] == sum(p.stat().st_size for p in payloads) > 0


def test_hit_and_miss_counts_are_exact_under_threads(cache: CacheManager) -> None:
    cache.put(key(value="hit"), {"v": 1})

    def work() -> None:
        for _ in range(50):
            cache.get(key(value="hit"))
            cache.get(key(value="miss"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"]) == (400, 400)


# -- fingerprints of sources and code ---------------------------------------------------------


def test_fingerprint_source_changes_when_the_file_changes(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("id,amount\n1,10\n")
    first = CacheManager.fingerprint_source(csv)
    stat = csv.stat()

    csv.write_text("id,amount\n1,99\n")  # same size
    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    assert CacheManager.fingerprint_source(csv) != first

    csv.write_text("id,amount\n1,10\n")
    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert CacheManager.fingerprint_source(csv) == first  # same content, size and mtime

    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched only
    assert CacheManager.fingerprint_source(csv) != first


def test_fingerprint_source_of_a_big_file_uses_size_and_mtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "CONTENT_HASH_LIMIT", 0)
    data = tmp_path / "big.parquet"
    data.write_bytes(b"x" * 100)
    first = CacheManager.fingerprint_source(data)

    data.write_bytes(b"x" * 101)

    assert first is not None and CacheManager.fingerprint_source(data) != first


def test_fingerprint_source_names_the_resolved_path(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("same\n")
        os.utime(tmp_path / name, ns=(0, 0))
    monkeypatch.chdir(tmp_path)

    assert CacheManager.fingerprint_source("a.csv") == CacheManager.fingerprint_source(tmp_path / "a.csv")
    assert CacheManager.fingerprint_source("a.csv") != CacheManager.fingerprint_source("b.csv")
    assert CacheManager.fingerprint_source(tmp_path / "missing.csv") is None


def test_fingerprint_source_of_a_folder_covers_its_data_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    (folder / "day=1").mkdir(parents=True)
    (folder / "day=1" / "part-0.parquet").write_bytes(b"one")
    (folder / "part-1.parquet").write_bytes(b"two")
    first = CacheManager.fingerprint_source(folder)

    for ignored in (".part-1.parquet.crc", "_SUCCESS", "part-2.parquet._COPYING_", "part-3.tmp"):
        (folder / ignored).write_bytes(b"noise")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "part-9.parquet").write_bytes(b"in flight")
    assert CacheManager.fingerprint_source(folder) == first

    (folder / "day=1" / "part-0.parquet").write_bytes(b"ONE")
    second = CacheManager.fingerprint_source(folder)
    assert second != first

    (folder / "day=2").mkdir()
    (folder / "day=2" / "part-0.parquet").write_bytes(b"new")
    assert CacheManager.fingerprint_source(folder) not in (first, second)


def _load(path: Path, source: str) -> Any:
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"mod_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.transform


def test_fingerprint_code_follows_the_function_source(tmp_path: Path) -> None:
    v1 = _load(tmp_path / "steps.py", "def transform(df):\n    return df\n")
    first = CacheManager.fingerprint_code(v1)
    assert first is not None and first == CacheManager.fingerprint_code(v1)

    v2 = _load(tmp_path / "steps.py", "def transform(df):\n    return df.dropna()\n")

    assert CacheManager.fingerprint_code(v2) not in (None, first)


def test_fingerprint_code_covers_the_qualified_name() -> None:
    def one(df: Any) -> Any:
        return df

    def two(df: Any) -> Any:
        return df

    assert CacheManager.fingerprint_code(one) != CacheManager.fingerprint_code(two)


def test_fingerprint_code_is_none_without_source(caplog: pytest.LogCaptureFixture) -> None:
    namespace: dict[str, Any] = {}
    exec("def made_at_runtime(df):\n    return df\n", namespace)

    with caplog.at_level(logging.INFO, logger="odibi_core.cache"):
        assert CacheManager.fingerprint_code(len) is None
        assert CacheManager.fingerprint_code(namespace["made_at_runtime"]) is None
    assert "no source" in caplog.text
