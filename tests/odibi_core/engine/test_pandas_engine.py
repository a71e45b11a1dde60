"""The pandas engine: formats, atomic writes, SQLite, DuckDB SQL isolation, snapshots and
fingerprints; plus the engine factory and the lazy pyspark import."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from odibi_core.engine import (
    EngineContext,
    PandasEngineContext,
    create_engine_context,
)
from odibi_core.errors import EngineError

REPO = Path(__file__).resolve().parents[3]


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3],
        "price": [1.5, np.nan, 3.25],
        "name": ["ana", "bo", "cy"],
        "day": ["2024-01-05", "2024-02-01", "2024-03-09"],
    })


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp")


# -- factory and import ---------------------------------------------------------------
def test_create_engine_context_builds_pandas_and_rejects_unknown_engines() -> None:
    context = create_engine_context()
    assert isinstance(context, PandasEngineContext) and isinstance(context, EngineContext)
    assert (context.name, context.cheap_counts) == ("pandas", True)
    with pytest.raises(EngineError, match=r"unknown engine 'polars'; engines: \['pandas', 'spark'\]"):
        create_engine_context("polars")
    with pytest.raises(EngineError, match=r"does not take options \['master'\]"):
        create_engine_context("pandas", master="local[1]")


def test_importing_the_engines_does_not_import_pyspark() -> None:
    code = ("import sys, odibi_core.engine, odibi_core.engine.spark_context\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          check=True)
    assert done.stdout.strip() == "[]", f"expected no pyspark modules, got {done.stdout!r}"


# -- file formats -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["data.csv", "data.json", "data.jsonl", "data.parquet", "data.pq"])
def test_round_trip_each_file_format(pandas_engine: PandasEngineContext, tmp_path: Path,
                                     name: str) -> None:
    frame = sample_frame()
    target = tmp_path / "out" / name
    pandas_engine.write(frame, str(target))
    back = pandas_engine.read(str(target))
    pd.testing.assert_frame_equal(back, frame)
    assert temp_files(tmp_path) == []


def test_json_is_written_as_an_array_or_as_lines(pandas_engine: PandasEngineContext,
                                                 tmp_path: Path) -> None:
    frame = sample_frame()
    pandas_engine.write(frame, str(tmp_path / "a.json"))
    pandas_engine.write(frame, str(tmp_path / "l.json"), lines=True)
    assert (tmp_path / "a.json").read_text().startswith("[")
    lines = (tmp_path / "l.json").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["ana", "bo", "cy"]
    for name in ("a.json", "l.json"):
        pd.testing.assert_frame_equal(pandas_engine.read(str(tmp_path / name)), frame)


def test_json_reads_arrays_and_lines_by_content_or_option(pandas_engine: PandasEngineContext,
                                                          tmp_path: Path) -> None:
    (tmp_path / "array.json").write_text('  \n[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]')
    (tmp_path / "lines.json").write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n')
    for name in ("array.json", "lines.json"):
        frame = pandas_engine.read(str(tmp_path / name))
        assert frame.to_dict("records") == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], name
    with pytest.raises(EngineError, match=r"cannot read json .*lines\.json"):
        pandas_engine.read(str(tmp_path / "lines.json"), lines=False)


def test_csv_options_pass_through(pandas_engine: PandasEngineContext, tmp_path: Path) -> None:
    target = tmp_path / "semi.csv"
    pandas_engine.write(sample_frame(), str(target), sep=";")
    assert target.read_text().splitlines()[0] == "id;price;name;day"
    back = pandas_engine.read(str(target), sep=";", usecols=["id", "name"])
    assert back.to_dict("list") == {"id": [1, 2, 3], "name": ["ana", "bo", "cy"]}


def test_a_folder_of_part_files_reads_as_one_frame(pandas_engine: PandasEngineContext,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "spark_out.csv"
    folder.mkdir()
    (folder / "part-00000.csv").write_text("id,name\n1,a\n")
    (folder / "part-00001.csv").write_text("id,name\n2,b\n")
    (folder / "_SUCCESS").write_text("")
    assert pandas_engine.read(str(folder)).to_dict("list") == {"id": [1, 2], "name": ["a", "b"]}


def test_missing_file_error_names_the_path_and_the_folder_contents(
        pandas_engine: PandasEngineContext, tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text("a\n1\n")
    with pytest.raises(EngineError) as info:
        pandas_engine.read(str(tmp_path / "order.csv"))
    message = str(info.value)
    assert str(tmp_path / "order.csv") in message and "['orders.csv']" in message, message
    with pytest.raises(EngineError, match="does not exist"):
        pandas_engine.read(str(tmp_path / "nowhere" / "x.parquet"))


def test_format_comes_from_the_suffix_or_the_format_option(pandas_engine: PandasEngineContext,
                                                          tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"cannot tell the format of .*data\.txt"):
        pandas_engine.write(sample_frame(), str(tmp_path / "data.txt"))
    with pytest.raises(EngineError, match="cannot tell the format"):
        pandas_engine.read(str(tmp_path / "data.txt"))
    pandas_engine.write(sample_frame(), str(tmp_path / "data.txt"), format="csv")
    assert (tmp_path / "data.txt").read_text().startswith("id,price,name,day")
    pd.testing.assert_frame_equal(pandas_engine.read(str(tmp_path / "data.txt"), format="csv"),
                                  sample_frame())


def test_write_rejects_non_frames_and_unknown_modes(pandas_engine: PandasEngineContext,
                                                    tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="expected a pandas DataFrame, got dict"):
        pandas_engine.write({"a": [1]}, str(tmp_path / "x.csv"))
    with pytest.raises(EngineError, match=r"unknown write mode 'upsert'; expected one of"):
        pandas_engine.write(sample_frame(), str(tmp_path / "x.csv"), mode="upsert")


# -- atomic writes and append -----------------------------------------------------------
def test_overwrite_replaces_and_a_failed_write_keeps_the_old_file(
        pandas_engine: PandasEngineContext, tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    pandas_engine.write(sample_frame(), str(target))
    pandas_engine.write(sample_frame().head(1), str(target))
    assert len(pandas_engine.read(str(target))) == 1
    before = target.read_bytes()
    unwritable = pd.DataFrame({"mixed": [1, "two", 3.0]}, dtype=object)
    with pytest.raises(EngineError, match=r"cannot write parquet"):
        pandas_engine.write(unwritable, str(target))
    assert target.read_bytes() == before
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("name, options", [("a.csv", {}), ("a.json", {}),
                                           ("a.jsonl", {"lines": True}), ("a.parquet", {})])
def test_append_adds_rows(pandas_engine: PandasEngineContext, tmp_path: Path, name: str,
                          options: dict) -> None:
    target = tmp_path / name
    frame = sample_frame()
    pandas_engine.write(frame.head(2), str(target), **options)
    pandas_engine.write(frame.tail(1), str(target), mode="append", **options)
    pd.testing.assert_frame_equal(pandas_engine.read(str(target)), frame)
    assert temp_files(tmp_path) == []


def test_append_to_a_missing_file_creates_it(pandas_engine: PandasEngineContext,
                                             tmp_path: Path) -> None:
    target = tmp_path / "new" / "a.csv"
    pandas_engine.write(sample_frame(), str(target), mode="append")
    pd.testing.assert_frame_equal(pandas_engine.read(str(target)), sample_frame())


def test_append_with_other_columns_is_an_error(pandas_engine: PandasEngineContext,
                                               tmp_path: Path) -> None:
    for name in ("a.csv", "a.parquet"):
        target = tmp_path / name
        pandas_engine.write(sample_frame(), str(target))
        before = target.read_bytes()
        with pytest.raises(EngineError, match=r"cannot append: the file has columns"):
            pandas_engine.write(sample_frame().rename(columns={"id": "key"}), str(target),
                                mode="append")
        assert target.read_bytes() == before


# -- SQLite ---------------------------------------------------------------------------------
def test_sqlite_overwrite_append_and_query(pandas_engine: PandasEngineContext,
                                           tmp_path: Path) -> None:
    db = str(tmp_path / "shop.db")
    frame = sample_frame()
    pandas_engine.write(frame, db, table="orders")
    pandas_engine.write(frame.head(1), db, table="orders")
    pd.testing.assert_frame_equal(pandas_engine.read(db, table="orders"), frame.head(1))
    pandas_engine.write(frame.tail(2), db, table="orders", mode="append")
    pd.testing.assert_frame_equal(pandas_engine.read(db, table="orders"),
                                  frame.iloc[[0, 1, 2]].reset_index(drop=True))
    picked = pandas_engine.read(db, query="SELECT name FROM orders WHERE id >= ?", params=(2,))
    assert picked["name"].tolist() == ["bo", "cy"]


def test_sqlite_missing_table_lists_the_tables(pandas_engine: PandasEngineContext,
                                               tmp_path: Path) -> None:
    db = str(tmp_path / "shop.sqlite")
    pandas_engine.write(sample_frame(), db, table="orders")
    pandas_engine.write(sample_frame(), db, table="customers")
    with pytest.raises(EngineError, match=r"no table 'order' in .*; tables: \['customers', 'orders'\]"):
        pandas_engine.read(db, table="order")
    with pytest.raises(EngineError, match="exactly one of table= or query="):
        pandas_engine.read(db)
    with pytest.raises(EngineError, match="needs table="):
        pandas_engine.write(sample_frame(), db)
    with pytest.raises(EngineError, match="no such file"):
        pandas_engine.read(str(tmp_path / "other.db"), table="orders")
    assert not (tmp_path / "other.db").exists()


def test_sqlite_table_names_cannot_inject_sql(pandas_engine: PandasEngineContext,
                                              tmp_path: Path) -> None:
    db = str(tmp_path / "shop.db")
    pandas_engine.write(sample_frame(), db, table="orders")
    evil = 'x" (a); DROP TABLE orders; --'
    pandas_engine.write(sample_frame().head(1), db, table=evil)
    assert len(pandas_engine.read(db, table=evil)) == 1
    with sqlite3.connect(db) as connection:
        names = sorted(r[0] for r in connection.execute("SELECT name FROM sqlite_master"))
    assert names == sorted(["orders", evil])


def test_sqlite_overwrite_is_one_transaction(pandas_engine: PandasEngineContext,
                                             tmp_path: Path) -> None:
    db = str(tmp_path / "shop.db")
    pandas_engine.write(sample_frame(), db, table="orders")
    too_big = pd.DataFrame({"id": np.array([1, 2**64 - 1], dtype="uint64")})  # 2nd row fails
    with pytest.raises(EngineError, match="cannot write table 'orders'"):
        pandas_engine.write(too_big, db, table="orders")
    pd.testing.assert_frame_equal(pandas_engine.read(db, table="orders"), sample_frame())


# -- SQL ------------------------------------------------------------------------------------
def test_sql_joins_tables_by_their_logical_names(pandas_engine: PandasEngineContext) -> None:
    orders = pd.DataFrame({"cust": [1, 1, 2], "amount": [10.0, 5.0, 7.5]})
    customers = pd.DataFrame({"id": [1, 2], "region": ["north", "south"]})
    result = pandas_engine.execute_sql(
        "SELECT c.region, SUM(o.amount) AS total FROM orders o JOIN customers c ON o.cust = c.id"
        " GROUP BY c.region ORDER BY c.region", {"orders": orders, "customers": customers})
    assert result.to_dict("list") == {"region": ["north", "south"], "total": [15.0, 7.5]}


def test_sql_errors_name_the_available_tables(pandas_engine: PandasEngineContext) -> None:
    with pytest.raises(EngineError) as info:
        pandas_engine.execute_sql("SELECT * FROM order_lines", {"orders": sample_frame()})
    message = str(info.value)
    assert "order_lines" in message and "tables available: ['orders']" in message, message


def test_sql_calls_from_threads_are_isolated(pandas_engine: PandasEngineContext) -> None:
    barrier = threading.Barrier(8)
    results: dict[int, list[tuple[int, int]]] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        frame = pd.DataFrame({"x": [i] * (i + 1)})
        try:
            barrier.wait()
            for _ in range(5):
                out = pandas_engine.execute_sql("SELECT x, COUNT(*) AS n FROM t GROUP BY x", {"t": frame})
                results.setdefault(i, []).append(tuple(out.itertuples(index=False, name=None)))
        except BaseException as exc:  # reported by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {i: [((i, i + 1),)] * 5 for i in range(8)}


def test_register_temp_is_visible_until_unregistered(pandas_engine: PandasEngineContext) -> None:
    pandas_engine.register_temp("lookup", pd.DataFrame({"k": [1, 2]}))
    assert pandas_engine.execute_sql("SELECT COUNT(*) AS n FROM lookup")["n"].tolist() == [2]
    shadowed = pandas_engine.execute_sql("SELECT COUNT(*) AS n FROM lookup",
                                         {"lookup": pd.DataFrame({"k": [1]})})
    assert shadowed["n"].tolist() == [1]
    pandas_engine.unregister_temp("lookup")
    pandas_engine.unregister_temp("lookup")
    with pytest.raises(EngineError, match=r"tables available: \[\]"):
        pandas_engine.execute_sql("SELECT * FROM lookup")
    with pytest.raises(EngineError, match="expected a pandas DataFrame"):
        pandas_engine.register_temp("bad", [1, 2])


# -- snapshot and fingerprint ---------------------------------------------------------------
def test_snapshot_has_dtypes_count_and_a_json_safe_sample(pandas_engine: PandasEngineContext) -> None:
    frame = pd.DataFrame({
        "n": np.array([1, 2, 3], dtype="int32"),
        "f": [0.5, np.nan, 2.0],
        "s": ["a", None, "c"],
        "ts": pd.to_datetime(["2024-01-02", None, "2024-03-04 05:06:07"], format="ISO8601"),
        "flag": [True, False, True],
    })
    snap = pandas_engine.snapshot(frame, sample_rows=2)
    assert snap.schema == (("n", "int32"), ("f", "float64"), ("s", str(frame["s"].dtype)),
                           ("ts", str(frame["ts"].dtype)), ("flag", "bool"))
    assert snap.row_count == 3
    assert snap.sample == (
        {"n": 1, "f": 0.5, "s": "a", "ts": "2024-01-02T00:00:00", "flag": True},
        {"n": 2, "f": None, "s": None, "ts": None, "flag": False},
    )
    assert type(snap.sample[0]["n"]) is int
    json.dumps(snap.to_dict(), allow_nan=False)
    assert pandas_engine.snapshot(frame, sample_rows=0).sample == ()
    assert pandas_engine.collect_sample(frame, 1) == [snap.sample[0]]


def fingerprint_in_subprocess(frame_code: str) -> str:
    code = ("import pandas as pd, numpy as np\n"
            "from odibi_core.engine import PandasEngineContext\n"
            f"print(PandasEngineContext().fingerprint({frame_code}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=env, check=True)
    return done.stdout.strip()


def test_fingerprint_covers_values_and_schema(pandas_engine: PandasEngineContext) -> None:
    base = pandas_engine.fingerprint(sample_frame())
    assert base is not None and len(base) == 64
    assert pandas_engine.fingerprint(sample_frame()) == base
    changed = sample_frame()
    changed.loc[1, "name"] = "bob"
    variants = {
        "value": changed,
        "renamed column": sample_frame().rename(columns={"name": "label"}),
        "column order": sample_frame()[["price", "id", "name", "day"]],
        "dtype": sample_frame().astype({"id": "float64"}),
        "row order": sample_frame().iloc[::-1].reset_index(drop=True),
        "fewer rows": sample_frame().head(2),
    }
    for what, frame in variants.items():
        assert pandas_engine.fingerprint(frame) != base, f"a changed {what} kept the fingerprint"
    assert pandas_engine.fingerprint(sample_frame().set_index("id", drop=False)) == base
    mixed = pd.DataFrame({"m": [1, "1"]}, dtype=object)  # both cells hash as the text "1"
    swapped = pd.DataFrame({"m": ["1", 1]}, dtype=object)
    assert pandas_engine.fingerprint(mixed) != pandas_engine.fingerprint(swapped)


def test_fingerprint_is_the_same_in_another_process(pandas_engine: PandasEngineContext) -> None:
    code = ("pd.DataFrame({'id': [1, 2, 3], 'price': [1.5, np.nan, 3.25], 'name': ['ana', 'bo', 'cy'],"
            " 'day': ['2024-01-05', '2024-02-01', '2024-03-09']})")
    assert fingerprint_in_subprocess(code) == pandas_engine.fingerprint(sample_frame())


def test_fingerprint_is_none_for_unhashable_cells(pandas_engine: PandasEngineContext,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="odibi_core.engine.pandas_context"):
        assert pandas_engine.fingerprint(pd.DataFrame({"tags": [["a"], ["b"]]})) is None
        assert pandas_engine.fingerprint(pd.DataFrame({"meta": [{"a": 1}]})) is None
    assert "cannot fingerprint" in caplog.text and "tags" in caplog.text


def test_conversions_and_is_frame(pandas_engine: PandasEngineContext) -> None:
    frame = sample_frame()
    assert pandas_engine.to_pandas(frame) is frame and pandas_engine.from_pandas(frame) is frame
    assert pandas_engine.is_frame(frame) and not pandas_engine.is_frame(frame["id"])
    with pytest.raises(EngineError, match="fingerprint: expected a pandas DataFrame, got list"):
        pandas_engine.fingerprint([1])


def test_integer_sums_stay_integers(pandas_engine) -> None:
    import pandas as pd

    frame = pd.DataFrame({"k": ["a", "a", "b"], "n": [1, 2, 3]})
    result = pandas_engine.execute_sql("SELECT k, SUM(n) AS total, AVG(n) AS mean FROM t GROUP BY k ORDER BY k",
                                       {"t": frame})
    assert str(result["total"].dtype) == "int64", result.dtypes
    assert result["total"].tolist() == [3, 3]
    assert str(result["mean"].dtype) == "float64"
