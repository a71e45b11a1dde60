"""The engine operations streaming needs: union_all and incremental_slice, on both engines,
with the same row keys."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi_core.engine import PandasEngineContext, SparkEngineContext
from odibi_core.errors import EngineError

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def events() -> pd.DataFrame:
    return pd.DataFrame({
        "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03 10:00:00.5",
                              None], format="ISO8601"),
        "v": ["a", "b", "b", None, "z"],
        "n": [1, 2, 2, 3, 4],
    })


def engines(request: pytest.FixtureRequest, which: str):
    return request.getfixturevalue("pandas_engine" if which == "pandas" else "spark_engine")


ENGINES = ["pandas", pytest.param("spark", marks=pytest.mark.spark)]


def rows(engine, frame) -> list[tuple]:
    out = engine.to_pandas(frame)[["ts", "v", "n"]]
    return sorted(out.astype(object).where(out.notna(), None).itertuples(index=False, name=None),
                  key=repr)


@pytest.mark.parametrize("which", ENGINES)
def test_union_all_matches_columns_by_name(request, which: str) -> None:
    engine = engines(request, which)
    one = engine.from_pandas(pd.DataFrame({"a": [1], "b": ["x"]}))
    two = engine.from_pandas(pd.DataFrame({"b": ["y"], "a": [2]}))
    out = engine.to_pandas(engine.union_all([one, two])).sort_values("a")
    assert out[["a", "b"]].values.tolist() == [[1, "x"], [2, "y"]]
    assert engine.union_all([one]) is one
    with pytest.raises(EngineError, match="at least one frame"):
        engine.union_all([])


@pytest.mark.parametrize("which", ENGINES)
def test_slice_from_nothing_takes_every_non_null_row(request, which: str) -> None:
    engine = engines(request, which)
    part = engine.incremental_slice(engine.from_pandas(events()), "ts")
    assert len(rows(engine, part.frame)) == 4, "the row with a null watermark is not delivered"
    assert pd.Timestamp(part.high) == pd.Timestamp("2024-01-03 10:00:00.5")
    assert list(part.high_keys.values()) == [1]


@pytest.mark.parametrize("which", ENGINES)
def test_slice_drops_only_the_delivered_boundary_rows(request, which: str) -> None:
    engine = engines(request, which)
    frame = engine.from_pandas(events())
    first = engine.incremental_slice(engine.from_pandas(events().iloc[:2]), "ts")
    assert pd.Timestamp(first.high) == pd.Timestamp("2024-01-02")
    nxt = engine.incremental_slice(frame, "ts", pd.Timestamp(first.high), first.high_keys)
    got = rows(engine, nxt.frame)
    assert sorted(str(r[1]) for r in got) == ["None", "b"], "one of the two identical 'b' rows was delivered"


@pytest.mark.parametrize("which", ENGINES)
def test_slice_bounded_by_high_replays_exactly(request, which: str) -> None:
    engine = engines(request, which)
    data = pd.DataFrame({"ts": [1, 2, 2, 2, 3], "v": ["a", "b", "b", "c", "d"]})
    frame = engine.from_pandas(data)
    start = engine.incremental_slice(engine.from_pandas(data.iloc[:2]), "ts")  # a, b
    batch = engine.incremental_slice(engine.from_pandas(data.iloc[:3]), "ts", start.high,
                                     start.high_keys)  # the second b
    merged = {k: batch.high_keys.get(k, 0) + start.high_keys.get(k, 0)
              for k in {*batch.high_keys, *start.high_keys}}
    replay = engine.incremental_slice(frame, "ts", start.high, start.high_keys, high=batch.high,
                                      high_keys=merged)
    assert engine.to_pandas(replay.frame)["v"].tolist() == ["b"]


@pytest.mark.parametrize("which", ENGINES)
def test_slice_errors_name_the_missing_column(request, which: str) -> None:
    engine = engines(request, which)
    with pytest.raises(EngineError, match=r"no column\(s\) \['nope'\]; the frame has"):
        engine.incremental_slice(engine.from_pandas(events()), "nope")


def test_pandas_slice_does_not_copy_a_frame_that_passes_whole(pandas_engine) -> None:
    frame = pd.DataFrame({"ts": [1, 2]})
    assert pandas_engine.incremental_slice(frame, "ts").frame is frame


@pytest.mark.spark
def test_row_keys_are_the_same_on_both_engines(pandas_engine: PandasEngineContext,
                                               spark_engine: SparkEngineContext) -> None:
    data = events().assign(x=[1.5, 0.1, 0.1, None, 2.0])
    on_pandas = pandas_engine.incremental_slice(data, "n")
    on_spark = spark_engine.incremental_slice(spark_engine.from_pandas(data), "n")
    assert on_pandas.high == on_spark.high == 4
    assert on_pandas.high_keys == on_spark.high_keys
    by_ts_p = pandas_engine.incremental_slice(data, "ts")
    by_ts_s = spark_engine.incremental_slice(spark_engine.from_pandas(data), "ts")
    assert by_ts_p.high_keys == by_ts_s.high_keys
