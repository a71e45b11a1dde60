"""Interval and event modes, the read() generator, sources and status."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi_core.engine import PandasEngineContext
from odibi_core.errors import ConfigError
from odibi_core.streaming import StreamConfig, StreamManager, StreamMode


def test_interval_mode_rereads_when_due_on_an_injected_clock(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "d.csv", index=False)
    now = [100.0]
    stream = StreamManager(str(tmp_path / "ckpt"), clock=lambda: now[0])
    stream.add_source("tick", StreamConfig(StreamMode.INTERVAL, str(tmp_path / "d.csv"),
                                           interval_seconds=10))
    assert len(stream.read_batch("tick")) == 1
    now[0] = 109.9
    assert stream.read_batch("tick") is None
    now[0] = 110.0
    assert stream.read_batch("tick") is not None
    now[0] = 155.0  # slots 120..150 missed: one read, next due 165
    assert stream.read_batch("tick") is not None
    now[0] = 160.0
    assert stream.read_batch("tick") is None


def test_event_mode_drains_pushed_frames(tmp_path: Path) -> None:
    stream = StreamManager(str(tmp_path))
    stream.add_source("ev", StreamConfig(StreamMode.EVENT, "memory"))
    assert stream.poll("ev") is None
    stream.push("ev", pd.DataFrame({"a": [1]}))
    stream.push("ev", pd.DataFrame({"a": [2, 3]}))
    batch = stream.poll("ev")
    assert batch.data["a"].tolist() == [1, 2, 3] and batch.offsets == {"event_seq": 2}
    assert stream.poll("ev", replay=batch.replay_record).data["a"].tolist() == [1, 2, 3]
    stream.commit("ev")
    assert stream.poll("ev") is None


def test_read_generator_sleeps_only_when_idle_and_commits_on_resume(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pd.DataFrame({"a": [1]}).to_csv(folder / "one.csv", index=False)
    naps: list[float] = []
    stream = StreamManager(str(tmp_path / "ckpt"), sleep=naps.append)
    stream.add_source("w", StreamConfig(StreamMode.FILE_WATCH, str(folder), file_pattern="*.csv"))
    batches = list(stream.read(max_iterations=3, sleep_seconds=0.25))
    assert [len(b) for b in batches] == [1]
    assert naps == [0.25], "slept after the one idle poll, not after the last"
    assert stream.get_status()["w"]["pending"] == 0 and stream.get_status()["w"]["commits"] == 1


def test_engine_can_be_a_context(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "d.csv", index=False)
    stream = StreamManager.from_source("csv", str(tmp_path / "d.csv"), mode="interval",
                                       checkpoint_dir=str(tmp_path / "ckpt"))
    assert list(stream.sources) == ["csv_stream_0"]
    assert len(stream.read_batch("csv_stream_0", engine=PandasEngineContext())) == 1


def test_sources_duplicate_unknown_and_status(tmp_path: Path) -> None:
    stream = StreamManager(str(tmp_path))
    config = StreamConfig(StreamMode.FILE_WATCH, str(tmp_path))
    stream.add_source("s", config)
    with pytest.raises(ConfigError, match=r"'s' is already added"):
        stream.add_source("s", config)
    with pytest.raises(ConfigError, match=r"unknown source 'nope'; sources: \['s'\]"):
        stream.poll("nope")
    with pytest.raises(ConfigError, match="must match"):
        stream.add_source("../evil", config)
    status = stream.get_status()["s"]
    assert {k: status[k] for k in ("mode", "last_run", "last_watermark", "processed_files",
                                   "is_active")} == {"mode": "file_watch", "last_run": None,
                                                     "last_watermark": None,
                                                     "processed_files": 0, "is_active": False}
    stream.remove_source("s")
    assert stream.get_status() == {}
