"""Streaming, checkpoints and scheduling, end to end: ``python -m odibi_core.examples.streaming_demo``.

Four short demos, each in its own folder under one temporary directory that is removed at the
end (``--keep DIR`` keeps everything in DIR instead, for a look afterwards):

1. file watch: three CSV files, read as new batches; a restart reads nothing twice;
2. checkpoint and resume: a pipeline fails at one node, is fixed, and resumes without
   running the nodes the checkpoint says are complete;
3. scheduling: an interval job fires three times; a cron expression's next fire times;
4. continuous run: files stream through a DAG into an idempotent sink; the sink "crashes"
   after writing a batch, before the commit; a restart replays that batch, and the output
   holds every input row exactly once.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..checkpoint import CheckpointManager
from ..core import DAGBuilder, DAGExecutor, ExecutionMode, Step, create_engine_context
from ..errors import PipelineError
from ..functions import register_function, unregister_function
from ..scheduler import ScheduleManager
from ..streaming import StreamManager
from ..streaming.sinks import FileSink

log = logging.getLogger("odibi_core.examples.streaming_demo")


def demo_file_watch(folder: Path) -> int:
    """Demo 1: new files become batches; committed files are never read again."""
    incoming = folder / "incoming"
    incoming.mkdir(parents=True)
    for i in range(3):
        pd.DataFrame({"a": [i], "b": [i * 2]}).to_csv(incoming / f"file{i}.csv", index=False)
    state = folder / "state"
    stream = StreamManager.from_source("csv", path=str(incoming), mode="file_watch",
                                       pattern="*.csv", name="files", checkpoint_dir=str(state))
    rows = sum(len(batch) for batch in stream.read(max_iterations=2, sleep_seconds=0))
    stream.commit("files")
    restarted = StreamManager.from_source("csv", path=str(incoming), mode="file_watch",
                                          pattern="*.csv", name="files", checkpoint_dir=str(state))
    again = restarted.read_batch("files")
    print(f"[1] file watch: {rows} rows from 3 files; after a restart: "
          f"{'nothing new' if again is None else f'{len(again)} rows again (wrong)'}")
    return rows


def _resume_pipeline(data: Path, out: Path) -> list[Step]:
    return [
        Step("ingest", "read_orders", "config_op", "pandas", str(data), outputs={"data": "orders"}),
        Step("transform", "big_orders", "sql", "pandas", "SELECT * FROM o WHERE amount >= 10",
             inputs={"o": "orders"}, outputs={"data": "big"}),
        Step("store", "save_big", "config_op", "pandas", str(out / "big.csv"), inputs={"data": "big"}),
        Step("transform", "scored", "function", "pandas", "demo_score", inputs={"orders": "orders"},
             outputs={"data": "scored"}),
        Step("store", "save_scored", "config_op", "pandas", str(out / "scored.csv"),
             inputs={"data": "scored"}),
    ]


def demo_checkpoint_resume(folder: Path) -> list[str]:
    """Demo 2: fail at one node, fix it, resume: completed nodes are not run again."""
    folder.mkdir(parents=True)
    data = folder / "orders.csv"
    pd.DataFrame({"order_id": [1, 2, 3], "amount": [5.0, 12.5, 40.0]}).to_csv(data, index=False)
    broken = {"yes": True}

    @register_function("demo_score", replace=True)
    def score(orders: pd.DataFrame) -> pd.DataFrame:
        if broken["yes"]:
            raise ValueError("the scoring service is down")
        return orders.assign(score=orders["amount"] / orders["amount"].max())

    try:
        dag = DAGBuilder(_resume_pipeline(data, folder)).build()
        checkpoints = CheckpointManager(folder / "checkpoints")
        engine = create_engine_context("pandas")
        first = DAGExecutor(dag, engine, max_workers=1, max_retries=0, fail_fast=False,
                            checkpoint_manager=checkpoints, dag_name="orders")
        try:
            first.execute()
        except PipelineError as exc:
            print(f"[2] first run failed: {exc}")
        broken["yes"] = False  # the fix
        second = DAGExecutor(dag, engine, max_workers=1, mode=ExecutionMode.RESUME,
                             checkpoint_manager=checkpoints, dag_name="orders")
        second.execute()
        print(f"[2] resumed from {second.resumed_from.checkpoint_id}: not run again "
              f"{second.resumed_nodes}; ran {sorted(set(second.successful_nodes) - set(second.resumed_nodes))}")
        return second.resumed_nodes
    finally:
        unregister_function("demo_score")


def demo_schedule(fires: int = 3, every: float = 0.2) -> int:
    """Demo 3: an interval job fires on time; cron fire times come from a real cron library."""
    fired = threading.Semaphore(0)
    count = [0]

    def job() -> None:
        count[0] += 1
        fired.release()

    scheduler = ScheduleManager(check_interval=1)
    scheduler.schedule_interval(every, job, name="demo_job")
    scheduler.schedule_cron("0 9 * * 1", lambda: None, name="monday_9am", timezone="UTC")
    scheduler.start(daemon=True)
    try:
        for _ in range(fires):
            if not fired.acquire(timeout=10):
                break
    finally:
        scheduler.stop()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    nexts = scheduler.next_fire_times("monday_9am", 2, after=start)
    print(f"[3] interval job fired {count[0]} times; '0 9 * * 1' after {start:%a %d %b}: "
          + ", ".join(f"{t:%a %d %b %H:%M}" for t in nexts))
    return count[0]


class _Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing in odibi catches it)."""


class _CrashOnceSink(FileSink):
    """Writes batch ``crash_at`` completely, then dies before the run can commit it."""

    def __init__(self, folder: Path, crash_at: int | None) -> None:
        super().__init__(folder, format="csv")
        self.crash_at = crash_at

    def write(self, batch_id: int, frames: Mapping[str, Any], context: Any) -> None:
        super().write(batch_id, frames, context)
        if batch_id == self.crash_at:
            raise _Crash(f"killed after writing batch {batch_id}")


def _continuous_run(folder: Path, crash_at: int | None) -> Any:
    stream = StreamManager(str(folder / "state"))
    stream.add_source("events", _events_config(folder / "incoming"))
    steps = [Step("transform", "double", "sql", "pandas",
                  "SELECT id, value * 2 AS doubled FROM e ORDER BY id",
                  inputs={"e": "events"}, outputs={"data": "doubled"})]
    executor = DAGExecutor(DAGBuilder(steps, external=["events"]).build(), create_engine_context("pandas"),
                           max_workers=1,
                           checkpoint_manager=CheckpointManager(folder / "checkpoints"),
                           dag_name="events")
    sink = _CrashOnceSink(folder / "sink", crash_at)
    return executor.run_continuous(stream, max_iterations=20, sleep_seconds=0, sink=sink,
                                   sink_outputs={"doubled": "doubled"})


def _events_config(incoming: Path) -> Any:
    from ..streaming import StreamConfig, StreamMode

    return StreamConfig(mode=StreamMode.FILE_WATCH, source_path=str(incoming), file_pattern="*.csv",
                        format="csv", max_files_per_trigger=2)


def demo_continuous(folder: Path) -> int:
    """Demo 4: exactly once through a crash between the sink write and the commit."""
    incoming = folder / "incoming"
    incoming.mkdir(parents=True)
    for i in range(6):
        pd.DataFrame({"id": [2 * i, 2 * i + 1], "value": [i, i]}).to_csv(incoming / f"part{i}.csv",
                                                                         index=False)
    try:
        _continuous_run(folder, crash_at=1)
    except _Crash as exc:
        print(f"[4] crash: {exc}")
    result = _continuous_run(folder, crash_at=None)
    engine = create_engine_context("pandas")
    out = FileSink(folder / "sink", format="csv").read("doubled", engine)
    ids = sorted(out["id"].tolist())
    exact = ids == list(range(12))
    print(f"[4] after the restart: {result.batches_committed} more batches committed (batch 1 "
          f"replayed), {len(ids)} rows out of 12 in, exactly once: {exact}")
    return len(ids)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m odibi_core.examples.streaming_demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None,
                        help="write into this folder and keep it (default: a temporary folder,"
                        " removed at the end)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="odibi-streaming-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    print("odibi_core Phase 6: streaming, checkpoints and scheduling demo")
    try:
        demo_file_watch(root / "file_watch")
        demo_checkpoint_resume(root / "resume")
        demo_schedule()
        demo_continuous(root / "continuous")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print("all demos completed" + (f"; files kept in {root}" if args.keep else "; cleaned up"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
