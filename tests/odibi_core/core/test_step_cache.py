"""Cached outputs are loaded only when needed, and fingerprints come with the entries: an
all-hit rerun decodes just what its sinks write, with the same results and lineage."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi_core.cache import CacheDecodeError, CachedValue, CacheManager, MemoryStore
from odibi_core.core import NodeState, Orchestrator, Step
from odibi_core.core.step_cache import Deferred, RunDataMap
from odibi_core.engine.base import Snapshot


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "sales.csv"
    pd.DataFrame({"region": ["n", "s", "n", "e"], "amount": [10, 20, 30, 40]}).to_csv(path, index=False)
    return path


def pipeline(csv, out):
    return [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"d": "raw"}),
        Step("transform", "big", "sql", "pandas", "SELECT * FROM sales WHERE amount > 10",
             inputs={"sales": "raw"}, outputs={"d": "big"}),
        Step("transform", "totals", "sql", "pandas",
             "SELECT region, SUM(amount) AS total FROM big GROUP BY region ORDER BY region",
             inputs={"big": "big"}, outputs={"d": "totals"}),
        Step("store", "save", "config_op", "pandas", str(out), inputs={"d": "totals"}),
    ]


@pytest.fixture
def loads(monkeypatch):
    """Records the step name of every cached value that gets decoded."""
    seen: list[str] = []
    original = CachedValue.load

    def load(self):
        seen.append(self.metadata.get("step_name"))
        return original(self)

    monkeypatch.setattr(CachedValue, "load", load)
    return seen


def test_an_all_hit_rerun_decodes_only_what_the_sink_writes(csv, tmp_path, loads) -> None:
    first = Orchestrator(steps=pipeline(csv, tmp_path / "a.csv"), engine_type="pandas", use_cache=True,
                         cache_dir=tmp_path / "c").execute()
    assert first.success
    second = Orchestrator(steps=pipeline(csv, tmp_path / "b.csv"), engine_type="pandas", use_cache=True,
                          cache_dir=tmp_path / "c").execute()
    assert [second.node_results[n].state for n in ("read", "big", "totals", "save")] == [
        NodeState.CACHED, NodeState.CACHED, NodeState.CACHED, NodeState.SUCCESS]
    assert loads == ["totals"], f"only the sink's input should be decoded, decoded: {loads}"
    assert pd.read_csv(tmp_path / "b.csv").equals(pd.read_csv(tmp_path / "a.csv"))
    # the result still holds every frame: reading one loads it, and it equals the cold run's
    assert isinstance(second.data_map, RunDataMap)
    assert "cached_not_loaded=['big', 'raw']" in repr(second.data_map)
    assert second.data_map["big"].equals(first.data_map["big"])
    assert loads == ["totals", "big"]
    assert dict(second.data_map).keys() == first.data_map.keys()


def test_cached_steps_are_tracked_from_the_snapshots_kept_with_the_entries(csv, tmp_path, loads) -> None:
    options = {"use_cache": True, "cache_dir": tmp_path / "c"}
    cold = Orchestrator(steps=pipeline(csv, tmp_path / "a.csv"), engine_type="pandas", **options).execute()
    warm = Orchestrator(steps=pipeline(csv, tmp_path / "b.csv"), engine_type="pandas", **options).execute()
    for name in ("read", "big", "totals"):
        was, now = cold.tracker.get_execution(name), warm.tracker.get_execution(name)
        assert str(now.status) == "CACHED"
        assert now.after_snapshot == was.after_snapshot, name
    assert warm.tracker.get_execution("big").after_snapshot.row_count == 3
    assert loads == ["totals"]


def test_a_change_upstream_still_misses_downstream(csv, tmp_path) -> None:
    options = {"use_cache": True, "cache_dir": tmp_path / "c"}
    Orchestrator(steps=pipeline(csv, tmp_path / "a.csv"), engine_type="pandas", **options).execute()
    pd.DataFrame({"region": ["n", "s"], "amount": [50, 60]}).to_csv(csv, index=False)
    again = Orchestrator(steps=pipeline(csv, tmp_path / "b.csv"), engine_type="pandas", **options).execute()
    assert {n: again.node_results[n].state for n in ("read", "big", "totals")} == {
        "read": NodeState.SUCCESS, "big": NodeState.SUCCESS, "totals": NodeState.SUCCESS}
    assert pd.read_csv(tmp_path / "b.csv")["total"].tolist() == [50, 60]


def test_an_undecodable_cached_output_fails_its_reader_naming_the_step(csv, tmp_path, monkeypatch) -> None:
    options = {"use_cache": True, "cache_dir": tmp_path / "c"}
    Orchestrator(steps=pipeline(csv, tmp_path / "a.csv"), engine_type="pandas", **options).execute()

    def broken(self):
        raise CacheDecodeError(f"cache entry {self.entry.key} cannot be decoded (bad parquet)")

    monkeypatch.setattr(CachedValue, "load", broken)
    result = Orchestrator(steps=pipeline(csv, tmp_path / "b.csv"), engine_type="pandas", **options).execute()
    assert result.failed_nodes == ["save"]
    assert "step 'totals'" in result.errors["save"] and "invalidate('totals')" in result.errors["save"]


def test_deferred_loads_once_and_snapshot_records_round_trip() -> None:
    cache = CacheManager(store=MemoryStore())
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    snap = Snapshot(schema=(("a", "int64"), ("b", "object")), row_count=2, sample=({"a": 1, "b": "x"},))
    assert Snapshot.from_record(snap.to_record()) == snap
    with pytest.raises(ValueError, match="not a snapshot record"):
        Snapshot.from_record({"schema": 3})
    key = "ab" * 32
    assert cache.put(key, frame, step_name="s", metadata={"fingerprint": "f" * 64,
                                                          "snapshot": snap.to_record()})
    hit = cache.lookup(key)
    deferred = Deferred(hit, "s")
    assert (deferred.fingerprint, deferred.snapshot, deferred.loaded) == ("f" * 64, snap, False)
    first = deferred.get()
    assert first.equals(frame) and deferred.get() is first and deferred.loaded
    assert cache.get_stats()["hits"] == 1
    assert cache.lookup("cd" * 32) is None and cache.get_stats()["misses"] == 1
