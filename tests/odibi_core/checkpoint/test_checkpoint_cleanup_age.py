"""CheckpointManager.cleanup_old_checkpoints: retention by age, on every store, with an injected
clock; the newest ``keep_latest`` of each DAG always stay."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odibi_core.checkpoint import (
    CheckpointManager,
    CheckpointStore,
    FileCheckpointStore,
    SqliteCheckpointStore,
)
from odibi_core.errors import ConfigError

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(store: CheckpointStore, clock: FakeClock) -> CheckpointManager:
    return CheckpointManager(store=store, clock=clock)


def _save_daily(manager: CheckpointManager, clock: FakeClock, dag: str, days: int) -> list[str]:
    """One checkpoint per day, at START + 0, 1, ... days - 1."""
    ids = []
    for day in range(days):
        clock.now = START + timedelta(days=day)
        checkpoint = manager.create_checkpoint(dag, [], set(), iteration=day)
        manager.save(checkpoint)
        ids.append(checkpoint.checkpoint_id)
    return ids


def test_checkpoints_older_than_days_are_deleted_in_every_dag(
        manager: CheckpointManager, clock: FakeClock) -> None:
    a = _save_daily(manager, clock, "a", 10)
    b = _save_daily(manager, clock, "workflow-123", 10)
    clock.now = START + timedelta(days=10)  # cutoff: day 3; day 3 itself is not older
    assert manager.cleanup_old_checkpoints(days=7) == 6
    assert manager.list_checkpoints("a") == a[3:]
    assert manager.list_checkpoints("workflow-123") == b[3:]
    assert manager.cleanup_old_checkpoints(days=7) == 0
    clock.now += timedelta(hours=12)
    assert manager.cleanup_old_checkpoints(days=7.25) == 2  # fractions of a day count
    assert manager.list_checkpoints("a") == a[4:]


def test_the_newest_keep_latest_stay_however_old(manager: CheckpointManager,
                                                 clock: FakeClock) -> None:
    ids = _save_daily(manager, clock, "sales", 6)
    clock.now = START + timedelta(days=365)
    assert manager.cleanup_old_checkpoints(days=7) == 5  # keep_latest=1 by default
    assert manager.list_checkpoints("sales") == ids[-1:]
    assert manager.load_latest("sales").iteration == 5  # type: ignore[union-attr]  # resumable
    assert manager.cleanup_old_checkpoints(days=7, keep_latest=0) == 1
    assert manager.list_checkpoints("sales") == []


def test_keep_latest_counts_by_sequence_not_by_time(manager: CheckpointManager,
                                                    clock: FakeClock) -> None:
    clock.now = START + timedelta(days=5)
    manager.save(manager.create_checkpoint("sales", [], set(), iteration=1))
    clock.now = START  # the clock stepped back: the newest checkpoint has the oldest time
    newest = manager.create_checkpoint("sales", [], set(), iteration=2)
    manager.save(newest)
    clock.now = START + timedelta(days=30)
    assert manager.cleanup_old_checkpoints(days=7, keep_latest=1) == 1
    assert manager.list_checkpoints("sales") == [newest.checkpoint_id]


def test_one_dag_only(manager: CheckpointManager, clock: FakeClock) -> None:
    a = _save_daily(manager, clock, "a", 4)
    b = _save_daily(manager, clock, "a_b", 4)
    clock.now = START + timedelta(days=100)
    assert manager.cleanup_old_checkpoints(7, dag_name="a", keep_latest=2) == 2
    assert manager.list_checkpoints("a") == a[2:]
    assert manager.list_checkpoints("a_b") == b
    assert manager.cleanup_old_checkpoints(7, dag_name="never_saved") == 0


def test_days_zero_deletes_everything_but_keep_latest(manager: CheckpointManager,
                                                      clock: FakeClock) -> None:
    _save_daily(manager, clock, "sales", 3)
    clock.now += timedelta(seconds=1)
    assert manager.cleanup_old_checkpoints(0, keep_latest=2) == 1


def test_an_empty_store_deletes_nothing(manager: CheckpointManager) -> None:
    assert manager.cleanup_old_checkpoints(days=7) == 0


@pytest.mark.parametrize("days", [-1, True, "7", float("nan"), float("inf"), None])
def test_bad_days_are_refused(manager: CheckpointManager, days: object) -> None:
    with pytest.raises(ConfigError, match="days must be a number >= 0"):
        manager.cleanup_old_checkpoints(days)  # type: ignore[arg-type]


def test_bad_keep_latest_and_dag_names_are_refused(manager: CheckpointManager) -> None:
    with pytest.raises(ConfigError, match="keep_latest must be an int >= 0"):
        manager.cleanup_old_checkpoints(7, keep_latest=-1)
    with pytest.raises(ConfigError, match="invalid DAG name"):
        manager.cleanup_old_checkpoints(7, dag_name="../up")


def test_a_naive_clock_is_refused(store: CheckpointStore) -> None:
    manager = CheckpointManager(store=store, clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="naive"):
        manager.cleanup_old_checkpoints(7)


def test_a_damaged_checkpoint_of_unknown_age_is_kept(
        tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    store = FileCheckpointStore(tmp_path)  # no stored timestamps: the age is read from the data
    manager = CheckpointManager(store=store, clock=clock)
    _save_daily(manager, clock, "sales", 3)
    store.put("sales", 1, b"{torn")
    clock.now = START + timedelta(days=30)
    with caplog.at_level(logging.WARNING):
        assert manager.cleanup_old_checkpoints(7) == 1
    assert manager.list_checkpoints("sales") == ["sales-00000001", "sales-00000003"]
    assert "00000001.json" in caplog.text and "age is unknown" in caplog.text


def test_the_sqlite_store_ages_checkpoints_by_its_stored_timestamp(tmp_path: Path,
                                                                   clock: FakeClock) -> None:
    with SqliteCheckpointStore(tmp_path / "cp.db") as store:
        manager = CheckpointManager(store=store, clock=clock)
        _save_daily(manager, clock, "sales", 3)
        assert store.created_times("sales") == {n: START + timedelta(days=n - 1) for n in (1, 2, 3)}
        store.put_at("sales", 1, b"{torn", START)  # damaged, but its age is known
        clock.now = START + timedelta(days=30)
        assert manager.cleanup_old_checkpoints(7) == 2
        assert manager.list_checkpoints("sales") == ["sales-00000003"]


class MinimalStore(CheckpointStore):
    """A store with only the abstract methods, as written before the optional ones existed."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, int], bytes] = {}

    def put(self, dag_name: str, sequence: int, data: bytes) -> str:
        self.data[dag_name, sequence] = data
        return self.location(dag_name, sequence)

    def get(self, dag_name: str, sequence: int) -> bytes | None:
        return self.data.get((dag_name, sequence))

    def sequences(self, dag_name: str) -> list[int]:
        return sorted(seq for name, seq in self.data if name == dag_name)

    def delete(self, dag_name: str, sequence: int) -> bool:
        return self.data.pop((dag_name, sequence), None) is not None

    def location(self, dag_name: str, sequence: int) -> str:
        return f"minimal:{dag_name}/{sequence}"


def test_a_minimal_store_still_works_and_needs_a_dag_name_for_cleanup(clock: FakeClock) -> None:
    manager = CheckpointManager(store=MinimalStore(), clock=clock)
    ids = _save_daily(manager, clock, "sales", 3)
    assert ids == ["sales-00000001", "sales-00000002", "sales-00000003"]
    clock.now = START + timedelta(days=30)
    with pytest.raises(ConfigError, match="cannot list its DAG names; pass dag_name"):
        manager.cleanup_old_checkpoints(7)
    assert manager.cleanup_old_checkpoints(7, dag_name="sales") == 2
