"""Incremental reads: >= watermark with boundary dedupe, persisted only at commit, exact
replay, typed watermarks and the missing-column error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from odibi_core.streaming import StreamConfig, StreamError, StreamManager, StreamMode
from odibi_core.streaming.state import decode_watermark, encode_watermark


def manager(tmp_path: Path, column: str = "ts", **options) -> StreamManager:
    stream = StreamManager(str(tmp_path / "ckpt"))
    stream.add_source("inc", StreamConfig(StreamMode.INCREMENTAL, str(tmp_path / "data.csv"),
                                          watermark_column=column, **options))
    return stream


def write(tmp_path: Path, rows: list[tuple]) -> None:
    pd.DataFrame(rows, columns=["ts", "v"]).to_csv(tmp_path / "data.csv", index=False)


def rows(batch) -> list[tuple]:
    return sorted(batch.data[["ts", "v"]].itertuples(index=False, name=None))


def test_a_late_row_equal_to_the_watermark_is_delivered_exactly_once(tmp_path: Path) -> None:
    write(tmp_path, [(1, "a"), (2, "b")])
    stream = manager(tmp_path)
    assert rows(stream.poll("inc")) == [(1, "a"), (2, "b")]
    stream.commit("inc")
    write(tmp_path, [(1, "a"), (2, "b"), (2, "late")])  # arrives with the watermark's value
    assert rows(stream.poll("inc")) == [(2, "late")], "'>' would lose it, '>=' repeat 'b'"
    stream.commit("inc")
    assert stream.poll("inc") is None
    write(tmp_path, [(1, "a"), (2, "b"), (2, "late"), (3, "c")])
    assert rows(stream.poll("inc")) == [(3, "c")]


def test_ties_with_duplicate_identical_rows_are_counted(tmp_path: Path) -> None:
    write(tmp_path, [(5, "x"), (5, "x")])
    stream = manager(tmp_path)
    assert rows(stream.poll("inc")) == [(5, "x"), (5, "x")]
    stream.commit("inc")
    write(tmp_path, [(5, "x"), (5, "x"), (5, "x")])  # a third identical row arrives
    assert rows(stream.poll("inc")) == [(5, "x")]
    stream.commit("inc")
    state = json.loads((tmp_path / "ckpt" / "inc.stream.json").read_text())
    assert list(state["boundary"].values()) == [3]
    assert state["watermark"] == {"type": "int", "value": 5}


def test_watermark_persists_only_at_commit_and_continues_after_restart(tmp_path: Path) -> None:
    write(tmp_path, [(1, "a"), (2, "b")])
    first = manager(tmp_path)
    batch = first.poll("inc")
    assert batch.start == {"watermark": None, "boundary": {}}
    assert batch.offsets["watermark"] == {"type": "int", "value": 2}
    assert first.poll("inc") is None
    assert first.sources["inc"].last_watermark is None, "not committed yet"
    crashed = manager(tmp_path)
    assert rows(crashed.poll("inc")) == [(1, "a"), (2, "b")], "uncommitted: delivered again"
    crashed.commit("inc")
    assert crashed.get_status()["inc"]["last_watermark"] == "2"
    write(tmp_path, [(1, "a"), (2, "b"), (3, "c")])
    restarted = manager(tmp_path)
    assert rows(restarted.poll("inc")) == [(3, "c")]


def test_replay_gives_exactly_the_logged_rows(tmp_path: Path) -> None:
    write(tmp_path, [(1, "a"), (2, "b")])
    stream = manager(tmp_path)
    stream.commit("inc", stream.poll("inc").offsets)
    write(tmp_path, [(1, "a"), (2, "b"), (2, "c"), (3, "d")])
    logged = stream.poll("inc").replay_record  # the runner logs it, then crashes
    write(tmp_path, [(1, "a"), (2, "b"), (2, "c"), (3, "d"), (3, "e"), (4, "f")])
    restarted = manager(tmp_path)
    assert rows(restarted.poll("inc", replay=logged)) == [(2, "c"), (3, "d")]
    restarted.commit("inc", logged)
    assert rows(restarted.poll("inc")) == [(3, "e"), (4, "f")]


def test_replay_within_one_watermark_value(tmp_path: Path) -> None:
    write(tmp_path, [(7, "a")])
    stream = manager(tmp_path)
    stream.commit("inc", stream.poll("inc").offsets)
    write(tmp_path, [(7, "a"), (7, "b")])
    logged = stream.poll("inc").replay_record
    write(tmp_path, [(7, "a"), (7, "b"), (7, "c")])
    assert rows(manager(tmp_path).poll("inc", replay=logged)) == [(7, "b")]
    with pytest.raises(StreamError, match="needs"):
        manager(tmp_path).poll("inc", replay=logged["end"])


def test_timestamps_round_trip_through_the_state_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:30"]),
                          "v": [1, 2]})
    frame.to_parquet(tmp_path / "data.parquet")
    stream = StreamManager(str(tmp_path / "ckpt"))
    config = StreamConfig(StreamMode.INCREMENTAL, str(tmp_path / "data.parquet"),
                          watermark_column="ts", format="parquet", key_columns=["v"])
    stream.add_source("inc", config)
    stream.read_batch("inc")
    stream.commit("inc")
    restarted = StreamManager(str(tmp_path / "ckpt"))
    restarted.add_source("inc", config)
    assert restarted.sources["inc"].last_watermark == pd.Timestamp("2024-01-02 11:30")
    assert restarted.poll("inc") is None
    for value in (3, 2.5, "2024-01-01", pd.Timestamp("2024-01-01 00:00:00.000000001")):
        assert decode_watermark(json.loads(json.dumps(encode_watermark(value)))) == value


def test_missing_watermark_column_names_source_column_and_columns(tmp_path: Path) -> None:
    write(tmp_path, [(1, "a")])
    stream = manager(tmp_path, column="updated_at")
    with pytest.raises(StreamError, match=r"'inc'.*'updated_at'.*\['ts', 'v'\]"):
        stream.poll("inc")


def test_incremental_needs_a_watermark_column(tmp_path: Path) -> None:
    from odibi_core.errors import ConfigError

    with pytest.raises(ConfigError, match="watermark_column"):
        StreamManager(str(tmp_path)).add_source(
            "inc", StreamConfig(StreamMode.INCREMENTAL, str(tmp_path / "x.csv")))
