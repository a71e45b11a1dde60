"""The same pipelines through the Orchestrator on pandas and on Spark give the same results."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from coursekit import require

from odibi_core.core import Orchestrator, Step, create_engine_context

DATA = Path(__file__).resolve().parents[2] / "lessons" / "data"

pytestmark = [pytest.mark.spark, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::FutureWarning")]

REVENUE = """
SELECT c.country, p.category, SUM(o.quantity * p.price) AS revenue, COUNT(*) AS orders
FROM orders o JOIN customers c ON o.customer_id = c.customer_id
JOIN products p ON o.product_id = p.product_id
WHERE o.status = 'paid'
GROUP BY c.country, p.category
"""


def pipelines(out: Path) -> dict[str, list[Step]]:
    reads = [
        Step("ingest", "read_orders", "config_op", "pandas", str(DATA / "orders.csv"), outputs={"d": "orders"}),
        Step("ingest", "read_customers", "config_op", "pandas", str(DATA / "customers.csv"),
             outputs={"d": "customers"}),
        Step("ingest", "read_products", "config_op", "pandas", str(DATA / "products.csv"),
             outputs={"d": "products"}),
    ]
    join = Step("transform", "revenue", "sql", "pandas", REVENUE,
                inputs={"orders": "orders", "customers": "customers", "products": "products"},
                outputs={"d": "revenue"})
    return {
        "csv_join_parquet": [*reads, join,
                             Step("store", "save", "config_op", "pandas", str(out / "revenue.parquet"),
                                  inputs={"d": "revenue"}, outputs={"d": "saved"}),
                             Step("ingest", "reload", "config_op", "pandas", str(out / "revenue.parquet"),
                                  inputs={"after": "saved"}, outputs={"d": "result"})],
        "sqlite_round_trip": [reads[0],
                              Step("connect", "db", "config_op", "pandas", str(out / "wh.db"), outputs={"c": "wh"}),
                              Step("transform", "paid", "sql", "pandas",
                                   "SELECT order_id, quantity FROM orders WHERE status = 'paid'",
                                   inputs={"orders": "orders"}, outputs={"d": "paid"}),
                              Step("store", "save", "config_op", "pandas", "paid_orders",
                                   inputs={"d": "paid", "c": "wh"}, outputs={"d": "saved"}),
                              Step("ingest", "reload", "config_op", "pandas", "paid_orders",
                                   inputs={"c": "wh", "after": "saved"}, outputs={"d": "result"})],
    }


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("int64")
        elif pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].astype("float64").round(9)
        else:
            frame[column] = frame[column].astype(str)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def spark():
    from grader.grade import spark_available

    require("ODIBI_REQUIRE_SPARK", spark_available(), "pip install -e '.[spark]' and Java 17")
    return create_engine_context("spark", master="local[2]")


@pytest.mark.parametrize("name", ["csv_join_parquet", "sqlite_round_trip"])
def test_pipeline_gives_the_same_result_on_both_engines(name: str, spark, tmp_path: Path) -> None:
    results = {}
    for engine, context in (("pandas", create_engine_context("pandas")), ("spark", spark)):
        out = tmp_path / engine
        out.mkdir()
        steps = [replace(step, engine=engine) for step in pipelines(out)[name]]
        result = Orchestrator(steps, context, parallel=(engine == "spark"), max_workers=2).run()
        assert result.success, result.errors
        results[engine] = normalise(context.to_pandas(result.data_map["result"]))
    assert len(results["pandas"]) > 0
    pd.testing.assert_frame_equal(results["pandas"], results["spark"])


def test_spark_steps_are_never_served_from_the_cache(spark, tmp_path: Path, monkeypatch) -> None:
    """Spark frames have no fingerprint (it would mean collecting them), so nothing is cached."""
    monkeypatch.setenv("ODIBI_CACHE_DIR", str(tmp_path / "cache"))
    steps = [replace(step, engine="spark") for step in pipelines(tmp_path)["csv_join_parquet"][:4]]
    runs = [Orchestrator(steps, spark, use_cache=True).run() for _ in range(2)]
    assert all(run.success for run in runs)
    assert runs[1].stats["cache_hits"] == 0
    assert not any(r.cached for r in runs[1].node_results.values())
