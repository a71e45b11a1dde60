"""File watch and incremental reads through the Spark engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from odibi_core.streaming import StreamConfig, StreamManager, StreamMode

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def test_file_watch_on_spark(tmp_path: Path, spark_engine) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pd.DataFrame({"a": [1, 2]}).to_csv(folder / "one.csv", index=False)
    pd.DataFrame({"a": [3]}).to_csv(folder / "two.csv", index=False)
    stream = StreamManager(str(tmp_path / "ckpt"))
    stream.add_source("w", StreamConfig(StreamMode.FILE_WATCH, str(folder), file_pattern="*.csv"))
    batch = stream.poll("w", spark_engine)
    assert spark_engine.is_frame(batch.data) and batch.row_count is None
    assert sorted(spark_engine.to_pandas(batch.data)["a"]) == [1, 2, 3]
    stream.commit("w")
    assert stream.poll("w", spark_engine) is None
    pd.DataFrame({"a": [4]}).to_csv(folder / "three.csv", index=False)
    restarted = StreamManager(str(tmp_path / "ckpt"))
    restarted.add_source("w", StreamConfig(StreamMode.FILE_WATCH, str(folder), file_pattern="*.csv"))
    assert spark_engine.to_pandas(restarted.read_batch("w", "spark"))["a"].tolist() == [4]


def test_incremental_on_spark(tmp_path: Path, spark_engine) -> None:
    source = tmp_path / "data.csv"
    pd.DataFrame({"ts": [1, 2], "v": ["a", "b"]}).to_csv(source, index=False)
    stream = StreamManager(str(tmp_path / "ckpt"))
    config = StreamConfig(StreamMode.INCREMENTAL, str(source), watermark_column="ts")
    stream.add_source("inc", config)
    first = stream.poll("inc", spark_engine)
    assert sorted(spark_engine.to_pandas(first.data)["v"]) == ["a", "b"]
    assert first.offsets["watermark"] == {"type": "int", "value": 2}
    stream.commit("inc")
    pd.DataFrame({"ts": [1, 2, 2, 3], "v": ["a", "b", "late", "c"]}).to_csv(source, index=False)
    batch = stream.poll("inc", spark_engine)
    assert sorted(spark_engine.to_pandas(batch.data)["v"]) == ["c", "late"]
    pd.DataFrame({"ts": [1, 2, 2, 3, 3], "v": ["a", "b", "late", "c", "d"]}).to_csv(source,
                                                                                   index=False)
    replayed = StreamManager(str(tmp_path / "ckpt"))
    replayed.add_source("inc", config)
    again = replayed.poll("inc", spark_engine, replay=batch.replay_record)
    assert sorted(spark_engine.to_pandas(again.data)["v"]) == ["c", "late"]
    replayed.commit("inc", batch.replay_record)
    assert spark_engine.to_pandas(replayed.poll("inc", spark_engine).data)["v"].tolist() == ["d"]
