"""One small pipeline through the EngineContext API only (read CSV, SQL with JOIN and GROUP BY,
write Parquet, read it back) gives the same rows on pandas and on Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from odibi_core.engine import EngineContext, PandasEngineContext, SparkEngineContext

ORDERS_CSV = """\
order_id,customer_id,amount,qty,item,day
1,10,19.99,2,pen,2024-01-05
2,10,5.25,1,ink,2024-01-03
3,20,100.0,4,desk,2024-02-11
4,30,7.5,3,pad,2024-03-01
5,20,0.1,1,clip,2024-01-30
6,30,2.2,5,pin,2024-02-02
"""
CUSTOMERS_CSV = """\
id,name,region
10,Ana,north
20,Bo,south
30,Cy,north
"""
SQL = """
SELECT c.region AS region, COUNT(*) AS orders, SUM(o.amount) AS total, MAX(o.qty) AS max_qty,
       MIN(o.day) AS first_day, AVG(o.amount) AS mean_amount
FROM orders o JOIN customers c ON o.customer_id = c.id
GROUP BY c.region
"""


def run_pipeline(engine: EngineContext, folder: Path) -> pd.DataFrame:
    """The pipeline on one engine; the result read back from Parquet, as pandas."""
    (folder / "in").mkdir(parents=True)
    (folder / "in" / "orders.csv").write_text(ORDERS_CSV)
    (folder / "in" / "customers.csv").write_text(CUSTOMERS_CSV)
    orders = engine.read(str(folder / "in" / "orders.csv"))
    customers = engine.read(str(folder / "in" / "customers.csv"))
    summary = engine.execute_sql(SQL, {"orders": orders, "customers": customers})
    target = folder / "out" / "summary.parquet"
    engine.write(summary, str(target))
    return engine.to_pandas(engine.read(str(target)))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes whatever the engine: int64, float64, and text (dates as ISO text); rows
    sorted by region."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_integer_dtype(column):
            out[name] = column.astype("int64")
        elif pd.api.types.is_float_dtype(column):
            out[name] = column.astype("float64")
        else:
            out[name] = column.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v).astype(object)
    return pd.DataFrame(out).sort_values("region").reset_index(drop=True)


def test_pipeline_on_pandas_gives_the_expected_rows(tmp_path: Path) -> None:
    result = normalise(run_pipeline(PandasEngineContext(), tmp_path))
    expected = pd.DataFrame({
        "region": ["north", "south"],
        "orders": [4, 2],
        "total": [19.99 + 5.25 + 7.5 + 2.2, 100.0 + 0.1],
        "max_qty": [5, 4],
        "first_day": ["2024-01-03", "2024-01-30"],
        "mean_amount": [(19.99 + 5.25 + 7.5 + 2.2) / 4, (100.0 + 0.1) / 2],
    }).astype({"region": object, "first_day": object})
    pd.testing.assert_frame_equal(result, expected, check_exact=False, rtol=1e-9)


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_gives_the_same_rows_as_pandas(spark_engine: SparkEngineContext, tmp_path: Path) -> None:
    on_pandas = normalise(run_pipeline(PandasEngineContext(), tmp_path / "pandas"))
    on_spark = normalise(run_pipeline(spark_engine, tmp_path / "spark"))
    assert list(on_spark.columns) == list(on_pandas.columns)
    pd.testing.assert_frame_equal(on_spark, on_pandas, check_exact=False, rtol=1e-9)
