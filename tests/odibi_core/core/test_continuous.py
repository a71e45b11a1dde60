"""run_continuous: offsets log, idempotent sink, commits log, source commit; crashes anywhere
neither lose nor duplicate a batch."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from odibi_core.checkpoint import CheckpointManager
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    EventEmitter,
    ExecutionMode,
    Step,
    StreamRunError,
    Tracker,
    create_engine_context,
)
from odibi_core.core.continuous import ContinuousRunner
from odibi_core.functions import register_function, unregister_function
from odibi_core.streaming import StreamConfig, StreamManager, StreamMode
from odibi_core.streaming.batch_log import BatchLog
from odibi_core.streaming.sinks import FileSink


class Crash(BaseException):
    """The process dies: nothing in odibi catches a BaseException that is not an Exception."""


class CrashingSink(FileSink):
    """Writes the batch completely, then (with probability ``p``, seeded) dies before the commit."""

    def __init__(self, folder: Path, rng: random.Random, p: float) -> None:
        super().__init__(folder, format="parquet")
        self.rng, self.p = rng, p

    def write(self, batch_id: int, frames: Mapping[str, Any], context: Any) -> None:
        super().write(batch_id, frames, context)
        if self.rng.random() < self.p:
            raise Crash(f"crash after writing batch {batch_id}")


def write_files(folder: Path, start: int, count: int, rows_per_file: int = 2) -> list[int]:
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for f in range(start, start + count):
        file_ids = [f * rows_per_file + r for r in range(rows_per_file)]
        pd.DataFrame({"id": file_ids, "value": [i % 7 for i in file_ids]}).to_csv(
            folder / f"events_{f:05d}.csv", index=False)
        ids += file_ids
    return ids


def pipeline() -> dict:
    return DAGBuilder([Step("transform", "double", "sql", "pandas",
                            "SELECT id, value * 2 AS doubled FROM e",
                            inputs={"e": "events"}, outputs={"data": "doubled"})], external=["events"]).build()


def runner_parts(root: Path, sink: FileSink, *, cap: int = 10, tracker: Any = None,
                 **options: Any) -> ContinuousRunner:
    """Everything a process builds at start-up, from what is on disk."""
    stream = StreamManager(str(root / "state"))
    stream.add_source("events", StreamConfig(mode=StreamMode.FILE_WATCH, source_path=str(root / "in"),
                                             file_pattern="*.csv", format="csv",
                                             max_files_per_trigger=cap))
    executor = DAGExecutor(pipeline(), create_engine_context("pandas"), tracker, max_workers=1,
                           checkpoint_manager=CheckpointManager(root / "checkpoints"), dag_name="events")
    return ContinuousRunner(executor, stream, sink=sink, sink_outputs={"doubled": "doubled"}, **options)


def sink_ids(root: Path) -> list[int]:
    frame = FileSink(root / "sink").read("doubled", create_engine_context("pandas"))
    return [] if frame is None else sorted(int(i) for i in frame["id"])


def test_crashing_sink_restarted_in_a_loop_gives_exactly_the_input(tmp_path: Path) -> None:
    """1,000 files; the sink dies after writing in 10% of batches (seeded); restart until idle."""
    rng = random.Random(20261201)
    expected = write_files(tmp_path / "in", 0, 600)
    crashes = restarts = 0
    more_written = False
    while True:
        restarts += 1
        assert restarts < 200, "the run never caught up"
        runner = runner_parts(tmp_path, CrashingSink(tmp_path / "sink", rng, 0.10))
        try:
            result = runner.run(max_iterations=1000, sleep_seconds=0)
        except Crash:
            crashes += 1
            if crashes == 3 and not more_written:  # files keep arriving while the run restarts
                expected += write_files(tmp_path / "in", 600, 400)
                more_written = True
            continue
        if result.iterations and result.iterations[-1].status == "idle":
            if not more_written:
                expected += write_files(tmp_path / "in", 600, 400)
                more_written = True
                continue
            break
    got = sink_ids(tmp_path)
    assert crashes >= 5, f"the seeded crashes should hit several of ~100 batches, got {crashes}"
    assert len(got) == len(set(got)), "a row was written twice"
    assert got == sorted(expected), f"lost rows: {sorted(set(expected) - set(got))[:10]}"
    assert len(expected) == 2000
    batches = FileSink(tmp_path / "sink").batch_ids()
    assert batches == list(range(len(batches))), "batch ids are contiguous from 0"


def test_crash_between_commit_log_and_source_commit_rolls_forward(tmp_path: Path) -> None:
    expected = write_files(tmp_path / "in", 0, 6)
    runner = runner_parts(tmp_path, FileSink(tmp_path / "sink"), cap=2)
    calls = {"n": 0}
    real_commit = runner.stream.commit

    def dying_commit(name: str, offsets: Any = None) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash("died after the commits log, before the source commit")
        real_commit(name, offsets)

    runner.stream.commit = dying_commit  # type: ignore[method-assign]
    with pytest.raises(Crash):
        runner.run(max_iterations=10, sleep_seconds=0)
    log = BatchLog(tmp_path / "state" / "runs" / "events")
    assert log.latest() is not None and log.latest().committed and log.latest().batch_id == 1
    result = runner_parts(tmp_path, FileSink(tmp_path / "sink"), cap=2).run(max_iterations=10,
                                                                            sleep_seconds=0)
    assert [i.batch_id for i in result.committed] == [2], "batch 1 is not replayed, batch 2 is new"
    assert sink_ids(tmp_path) == expected


def test_a_failed_batch_is_replayed_with_the_same_id_and_written_once(tmp_path: Path) -> None:
    expected = write_files(tmp_path / "in", 0, 4)
    failures = {"left": 1}

    @register_function("flaky_double", replace=True)
    def flaky_double(e: pd.DataFrame) -> pd.DataFrame:
        if failures["left"]:
            failures["left"] -= 1
            raise ValueError("downstream service hiccup")
        return e.assign(doubled=e["value"] * 2)[["id", "doubled"]]

    try:
        stream = StreamManager(str(tmp_path / "state"))
        stream.add_source("events", StreamConfig(mode=StreamMode.FILE_WATCH, source_path=str(tmp_path / "in"),
                                                 file_pattern="*.csv", max_files_per_trigger=2))
        dag = DAGBuilder([Step("transform", "double", "function", "pandas", "flaky_double",
                               inputs={"e": "events"}, outputs={"data": "doubled"})], external=["events"]).build()
        events = EventEmitter()
        seen: list[dict] = []
        events.on("batch_error", seen.append)
        executor = DAGExecutor(dag, create_engine_context("pandas"), events=events, max_workers=1,
                               max_retries=0)
        sleeps: list[float] = []
        result = executor.run_continuous(stream, max_iterations=5, sleep_seconds=0,
                                         sink=FileSink(tmp_path / "sink"),
                                         sink_outputs={"doubled": "doubled"}, sleep=sleeps.append)
    finally:
        unregister_function("flaky_double")
    assert [(i.status, i.batch_id, i.replayed) for i in result.iterations[:3]] == [
        ("failed", 0, False), ("committed", 0, True), ("committed", 1, False)]
    assert seen and seen[0]["batch_id"] == 0 and "hiccup" in seen[0]["error_message"]
    assert sleeps and sleeps[0] > 0, "a failed batch waits per the retry policy before its replay"
    assert sink_ids(tmp_path) == expected


def test_a_batch_that_keeps_failing_stops_the_run_loudly(tmp_path: Path) -> None:
    write_files(tmp_path / "in", 0, 2)
    stream = StreamManager(str(tmp_path / "state"))
    stream.add_source("events", StreamConfig(mode=StreamMode.FILE_WATCH, source_path=str(tmp_path / "in"),
                                             file_pattern="*.csv"))
    dag = DAGBuilder([Step("transform", "bad", "sql", "pandas", "SELECT no_such_column FROM e",
                           inputs={"e": "events"}, outputs={"data": "out"})], external=["events"]).build()
    executor = DAGExecutor(dag, create_engine_context("pandas"), max_workers=1, max_retries=0)
    with pytest.raises(StreamRunError, match=r"(?s)batch 0 failed 3 times .*no_such_column.*the next run replays it"):
        executor.run_continuous(stream, max_iterations=10, sleep_seconds=0, sleep=lambda s: None)
    log = BatchLog(tmp_path / "state" / "runs" / "pipeline")
    assert log.latest().batch_id == 0 and not log.latest().committed
    assert stream.get_status()["events"]["processed_files"] == 0, "nothing was committed"


def test_the_loop_keeps_its_cadence_without_drift(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    now = [100.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    stream = StreamManager(str(tmp_path / "state"))
    stream.add_source("events", StreamConfig(mode=StreamMode.FILE_WATCH, source_path=str(tmp_path / "in"),
                                             file_pattern="*.csv"))

    @register_function("slow_double", replace=True)
    def slow_double(e: pd.DataFrame) -> pd.DataFrame:
        now[0] += 2.0  # this batch takes 2 s
        return e

    try:
        dag = DAGBuilder([Step("transform", "double", "function", "pandas", "slow_double",
                               inputs={"e": "events"}, outputs={"data": "out"})], external=["events"]).build()
        executor = DAGExecutor(dag, create_engine_context("pandas"), max_workers=1)
        runner = ContinuousRunner(executor, stream, clock=lambda: now[0], sleep=sleep)
        calls: list[float] = []
        real_poll = runner._poll

        def poll(replay: Any) -> Any:
            calls.append(now[0])
            if len(calls) == 3:
                write_files(tmp_path / "in", 0, 1)
            return real_poll(replay)

        runner._poll = poll  # type: ignore[method-assign]
        result = runner.run(max_iterations=6, sleep_seconds=5)
    finally:
        unregister_function("slow_double")
    assert [i.status for i in result.iterations] == ["idle", "idle", "committed", "idle", "idle", "idle"]
    assert calls == [100.0, 105.0, 110.0, 115.0, 120.0, 125.0], "polls stay on the 5 s grid"


def test_tracker_records_and_checkpoints_carry_iteration_and_checkpoint_id(tmp_path: Path) -> None:
    write_files(tmp_path / "in", 0, 4)
    tracker = Tracker()
    runner = runner_parts(tmp_path, FileSink(tmp_path / "sink"), cap=2, tracker=tracker)
    result = runner.run(max_iterations=3, sleep_seconds=0)
    assert [i.status for i in result.iterations] == ["committed", "committed", "idle"]
    records = tracker.step_executions
    assert [(r.iteration, r.step_name) for r in records] == [(0, "double"), (1, "double")]
    manager = CheckpointManager(tmp_path / "checkpoints")
    ids = manager.list_checkpoints("events")
    assert [r.checkpoint_id for r in records] == ids == [i.checkpoint_id for i in result.committed]
    latest = manager.load_latest("events")
    assert (latest.mode, latest.iteration, latest.metadata["batch_id"]) == ("stream", 1, 1)
    assert latest.completed_names == {"double"} and latest.pending_nodes == set()
    assert runner.executor.mode is ExecutionMode.STREAM


def test_unknown_source_is_named(tmp_path: Path) -> None:
    stream = StreamManager(str(tmp_path / "state"))
    executor = DAGExecutor(pipeline(), create_engine_context("pandas"))
    with pytest.raises(StreamRunError, match="unknown stream sources \\['nope'\\]"):
        ContinuousRunner(executor, stream, sources=["nope"])
