"""The Spark engine on a local session: formats, atomic folder writes, SQLite through the
driver, SQL isolation across threads, snapshots without jobs, and short error messages."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from odibi_core.engine import SparkEngineContext, create_engine_context
from odibi_core.errors import EngineError

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.3 warns about pandas 3 on every conversion; not this project's warnings
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3],
        "price": [1.5, None, 3.25],
        "name": ["ana", "bo", "cy"],
    })


def as_pandas(engine: SparkEngineContext, frame) -> pd.DataFrame:
    """Rows sorted by id, ints as int64 (Spark may read int32), columns in sample order."""
    out = engine.to_pandas(frame)[["id", "price", "name"]].sort_values("id").reset_index(drop=True)
    return out.astype({"id": "int64", "price": "float64"})


def hidden_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_factory_builds_the_spark_engine(spark_engine: SparkEngineContext) -> None:
    context = create_engine_context("spark", master="local[2]")
    assert isinstance(context, SparkEngineContext)
    assert (context.name, context.cheap_counts) == ("spark", False)
    assert context.session is spark_engine.session, "one shared session per process"
    conf = spark_engine.session.conf
    assert (conf.get("spark.sql.session.timeZone"), conf.get("spark.ui.enabled")) == ("UTC", "false")


@pytest.mark.parametrize("name", ["out.csv", "out.json", "out.parquet"])
def test_round_trip_each_file_format(spark_engine: SparkEngineContext, tmp_path: Path,
                                     name: str) -> None:
    frame = spark_engine.from_pandas(sample_frame())
    target = tmp_path / name
    spark_engine.write(frame, str(target))
    assert target.is_dir(), "Spark writes a folder of part files"
    pd.testing.assert_frame_equal(as_pandas(spark_engine, spark_engine.read(str(target))),
                                  sample_frame())
    assert hidden_entries(tmp_path) == []


def test_overwrite_replaces_and_append_adds_part_files(spark_engine: SparkEngineContext,
                                                       tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    frame = sample_frame()
    spark_engine.write(spark_engine.from_pandas(frame), str(target))
    spark_engine.write(spark_engine.from_pandas(frame.head(1)), str(target))
    assert spark_engine.to_pandas(spark_engine.read(str(target)))["id"].tolist() == [1]
    spark_engine.write(spark_engine.from_pandas(frame.tail(2)), str(target), mode="append")
    pd.testing.assert_frame_equal(as_pandas(spark_engine, spark_engine.read(str(target))), frame)
    assert hidden_entries(tmp_path) == []


def test_files_written_by_pandas_are_read(spark_engine: SparkEngineContext, tmp_path: Path) -> None:
    sample_frame().to_json(tmp_path / "array.json", orient="records")
    sample_frame().to_json(tmp_path / "lines.json", orient="records", lines=True)
    sample_frame().to_csv(tmp_path / "plain.csv", index=False)
    for name in ("array.json", "lines.json", "plain.csv"):
        back = as_pandas(spark_engine, spark_engine.read(str(tmp_path / name)))
        pd.testing.assert_frame_equal(back, sample_frame(), obj=name)


def test_sqlite_goes_through_the_driver(spark_engine: SparkEngineContext, tmp_path: Path) -> None:
    db = str(tmp_path / "shop.db")
    frame = sample_frame()
    spark_engine.write(spark_engine.from_pandas(frame.head(2)), db, table="orders")
    spark_engine.write(spark_engine.from_pandas(frame.tail(1)), db, table="orders", mode="append")
    pd.testing.assert_frame_equal(as_pandas(spark_engine, spark_engine.read(db, table="orders")), frame)
    with pytest.raises(EngineError, match=r"no table 'nope' .*tables: \['orders'\]"):
        spark_engine.read(db, table="nope")


def test_missing_path_and_bad_json_layout_are_clear_errors(spark_engine: SparkEngineContext,
                                                           tmp_path: Path) -> None:
    (tmp_path / "here.csv").write_text("a\n1\n")
    with pytest.raises(EngineError, match=r"no such file: .*gone\.csv.*\['here\.csv'\]"):
        spark_engine.read(str(tmp_path / "gone.csv"))
    with pytest.raises(EngineError, match="Spark writes JSON Lines only"):
        spark_engine.write(spark_engine.from_pandas(sample_frame()), str(tmp_path / "a.json"),
                           lines=False)
    with pytest.raises(EngineError, match="expected a Spark DataFrame, got DataFrame"):
        spark_engine.write(sample_frame(), str(tmp_path / "x.csv"))


def test_sql_joins_by_logical_names_and_chains_results(spark_engine: SparkEngineContext) -> None:
    orders = spark_engine.from_pandas(pd.DataFrame({"cust": [1, 1, 2], "amount": [10.0, 5.0, 7.5]}))
    customers = spark_engine.from_pandas(pd.DataFrame({"id": [1, 2], "region": ["north", "south"]}))
    totals = spark_engine.execute_sql(
        "SELECT c.region, SUM(o.amount) AS total FROM orders o JOIN customers c ON o.cust = c.id"
        " GROUP BY c.region", {"orders": orders, "customers": customers})
    # a result from one call's session is an input of the next call
    top = spark_engine.execute_sql("SELECT region FROM t WHERE total > 10", {"t": totals})
    assert spark_engine.to_pandas(top)["region"].tolist() == ["north"]
    assert sorted(spark_engine.to_pandas(totals).itertuples(index=False, name=None)) == [
        ("north", 15.0), ("south", 7.5)]
    assert spark_engine.session.catalog.listTables("global_temp") == [], "views are dropped"
    assert not spark_engine.session.catalog.tableExists("orders"), "no view in the shared session"


def test_sql_calls_from_threads_are_isolated(spark_engine: SparkEngineContext) -> None:
    frames = {i: spark_engine.from_pandas(pd.DataFrame({"x": [i] * (i + 1)})) for i in range(6)}
    barrier = threading.Barrier(len(frames))
    results: dict[int, list[tuple[int, int]]] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            out = spark_engine.execute_sql("SELECT x, COUNT(*) AS n FROM t GROUP BY x", {"t": frames[i]})
            results[i] = [tuple(row) for row in out.collect()]
        except BaseException as exc:  # reported by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {i: [(i, i + 1)] for i in frames}


def test_register_temp_and_sql_errors(spark_engine: SparkEngineContext) -> None:
    spark_engine.register_temp("lookup", spark_engine.from_pandas(pd.DataFrame({"k": [1, 2]})))
    try:
        out = spark_engine.execute_sql("SELECT COUNT(*) AS n FROM lookup")
        assert out.collect()[0]["n"] == 2
    finally:
        spark_engine.unregister_temp("lookup")
    with pytest.raises(EngineError) as info:
        spark_engine.execute_sql("SELECT * FROM lookup", {"other": spark_engine.from_pandas(sample_frame())})
    message = str(info.value)
    assert "TABLE_OR_VIEW_NOT_FOUND" in message and "tables available: ['other']" in message, message
    assert "\tat " not in message and "\n" not in message, "no JVM stack trace in the message"


def test_snapshot_counts_only_when_asked(spark_engine: SparkEngineContext) -> None:
    frame = spark_engine.from_pandas(pd.DataFrame({
        "id": [1, 2], "when": pd.to_datetime(["2024-01-02 03:04:05", "2024-05-06"], format="ISO8601"), "v": [0.5, None]}))
    snap = spark_engine.snapshot(frame, sample_rows=1)
    assert snap.schema == (("id", "bigint"), ("when", "timestamp"), ("v", "double"))
    assert snap.row_count is None
    assert snap.sample == ({"id": 1, "when": "2024-01-02T03:04:05", "v": 0.5},)
    json.dumps(snap.to_dict(), allow_nan=False)
    counted = spark_engine.snapshot(frame, sample_rows=0, count=True)
    assert (counted.row_count, counted.sample) == (2, ())


def test_fingerprint_opts_out_and_conversions(spark_engine: SparkEngineContext) -> None:
    frame = spark_engine.from_pandas(sample_frame())
    assert spark_engine.fingerprint(frame) is None
    assert spark_engine.is_frame(frame) and not spark_engine.is_frame(sample_frame())
    empty = spark_engine.from_pandas(sample_frame().head(0))
    assert empty.dtypes == [("id", "bigint"), ("price", "double"), ("name", "string")]


def test_spark_never_writes_a_warehouse_into_the_working_folder(spark_engine, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    spark_engine.session.catalog.tableExists("anything")
    warehouse = spark_engine.session.conf.get("spark.sql.warehouse.dir")
    assert not (tmp_path / "spark-warehouse").exists()
    assert "odibi-spark-warehouse-" in warehouse, warehouse
