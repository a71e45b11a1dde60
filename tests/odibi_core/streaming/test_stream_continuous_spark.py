"""A continuous run on the Spark engine: the same protocol, Spark reads, SQL and part writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from odibi_core.core import DAGBuilder, DAGExecutor, Step
from odibi_core.streaming import StreamConfig, StreamManager, StreamMode
from odibi_core.streaming.sinks import FileSink

pytestmark = [pytest.mark.spark, pytest.mark.slow]


class Crash(BaseException):
    pass


class CrashOnce(FileSink):
    def __init__(self, folder: Path, at: int | None) -> None:
        super().__init__(folder)
        self.at = at

    def write(self, batch_id: int, frames: Any, context: Any) -> None:
        super().write(batch_id, frames, context)
        if batch_id == self.at:
            raise Crash(batch_id)


def run(tmp_path: Path, spark_engine: Any, crash_at: int | None) -> Any:
    stream = StreamManager(str(tmp_path / "state"))
    stream.add_source("events", StreamConfig(StreamMode.FILE_WATCH, str(tmp_path / "in"),
                                             file_pattern="*.csv", max_files_per_trigger=1,
                                             read_options={"header": True, "inferSchema": True}))
    dag = DAGBuilder([Step("transform", "double", "sql", "spark", "SELECT id, value * 2 AS doubled FROM e",
                           inputs={"e": "events"}, outputs={"data": "doubled"})],
                     external=["events"]).build()
    executor = DAGExecutor(dag, spark_engine, max_workers=1)
    return executor.run_continuous(stream, max_iterations=5, sleep_seconds=0,
                                   sink=CrashOnce(tmp_path / "sink", crash_at),
                                   sink_outputs={"doubled": "doubled"})


def test_continuous_run_on_spark_survives_a_crash_exactly_once(tmp_path: Path, spark_engine: Any) -> None:
    (tmp_path / "in").mkdir()
    for i in range(3):
        pd.DataFrame({"id": [2 * i, 2 * i + 1], "value": [i, i]}).to_csv(tmp_path / "in" / f"f{i}.csv",
                                                                         index=False)
    with pytest.raises(Crash):
        run(tmp_path, spark_engine, crash_at=1)
    result = run(tmp_path, spark_engine, crash_at=None)
    assert [i.batch_id for i in result.committed] == [1, 2] and result.committed[0].replayed
    out = spark_engine.to_pandas(FileSink(tmp_path / "sink").read("doubled", spark_engine))
    assert sorted(out["id"].tolist()) == list(range(6))
    assert sorted(out["doubled"].tolist()) == [0, 0, 2, 2, 4, 4]
