"""NodeContext: per-node, per-instance temp tables under unique SQL-safe names, cleaned up on
exit; the executor's nodes never see each other's temp tables; the same on Spark."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pandas as pd
import pytest
from coursekit import require

from grader.grade import spark_available
from odibi_core.core import (
    DAGBuilder,
    DAGExecutor,
    NodeContext,
    ScopedEngineContext,
    Step,
    create_engine_context,
)
from odibi_core.engine import PandasEngineContext
from odibi_core.engine.base import EngineContext
from odibi_core.errors import EngineError
from odibi_core.functions import register_function, unregister_function

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def test_seed_checkpoint_context_without_spark() -> None:
    ctx = NodeContext("test_node", spark_session=None)
    assert ctx.node_name == "test_node" and ctx.spark is None
    with ctx as entered:
        assert entered is ctx
        name = ctx.register_temp("my_view", pd.DataFrame({"x": [1]}))
        assert ctx.registered == {"my_view": name}
        with pytest.raises(EngineError, match="no engine and no Spark session"):
            ctx.execute_sql("SELECT * FROM my_view")
    assert ctx.registered == {}


@pytest.mark.parametrize("node", ["clean", "my node-1", "1st step", "naïve", "a" * 200, "x;DROP TABLE t"])
def test_view_names_are_sql_safe_and_unique_per_instance(node: str) -> None:
    first, second = NodeContext(node), NodeContext(node)
    names = {first.view_name("orders"), second.view_name("orders"), first.view_name("order s")}
    assert len(names) == 3, "per instance, and distinct logical names stay distinct"
    assert all(IDENTIFIER.match(n) for n in names), names
    assert first.view_name("orders") == first.view_name("orders")
    assert first.view_name("a-b") != first.view_name("a_b")


def test_sql_sees_registered_frames_by_logical_and_unique_name() -> None:
    engine = PandasEngineContext()
    with NodeContext("join", engine=engine) as ctx:
        unique = ctx.register_temp("orders", pd.DataFrame({"id": [1, 2, 3]}))
        assert ctx.execute_sql("SELECT COUNT(*) AS n FROM orders")["n"].tolist() == [3]
        assert ctx.execute_sql(f"SELECT COUNT(*) AS n FROM {unique}")["n"].tolist() == [3]
        given = ctx.execute_sql("SELECT COUNT(*) AS n FROM orders", {"orders": pd.DataFrame({"id": [9]})})
        assert given["n"].tolist() == [1], "tables passed to the call win"
        with pytest.raises(EngineError):
            engine.execute_sql(f"SELECT * FROM {unique}")  # nothing is put on the shared engine
        ctx.unregister_temp("orders")
        with pytest.raises(EngineError, match="orders"):
            ctx.execute_sql("SELECT * FROM orders")


def test_exit_cleans_up_even_on_error_and_cleanup_is_idempotent() -> None:
    engine = PandasEngineContext()
    ctx = NodeContext("boom", engine=engine)
    with pytest.raises(RuntimeError, match="node broke"), ctx:
        ctx.register_temp("t", pd.DataFrame({"x": [1]}))
        raise RuntimeError("node broke")
    assert ctx.registered == {}
    ctx.cleanup()
    ctx.cleanup()
    with pytest.raises(EngineError):
        ctx.execute_sql("SELECT * FROM t")


def test_contexts_on_threads_never_see_each_others_frames() -> None:
    engine = PandasEngineContext()
    barrier = threading.Barrier(8)
    seen: dict[int, list[int]] = {}

    def work(n: int) -> None:
        with NodeContext("same_node", engine=engine) as ctx:
            ctx.register_temp("shared", pd.DataFrame({"x": [n] * (n + 1)}))
            barrier.wait(10)
            seen[n] = ctx.execute_sql("SELECT x FROM shared")["x"].tolist()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == {n: [n] * (n + 1) for n in range(8)}


def test_scoped_engine_routes_temp_tables_and_sql_to_the_node() -> None:
    engine = PandasEngineContext()
    engine.register_temp("lookup", pd.DataFrame({"k": [1]}))  # registered by the user: still visible
    with NodeContext("n", engine=engine) as ctx:
        scoped = ctx.scoped_engine()
        assert isinstance(scoped, ScopedEngineContext) and scoped.name == "pandas"
        assert scoped.duckdb_config == engine.duckdb_config  # engine extras pass through
        scoped.register_temp("mine", pd.DataFrame({"k": [1, 2]}))
        out = scoped.execute_sql("SELECT COUNT(*) AS n FROM mine JOIN lookup USING (k)")
        assert out["n"].tolist() == [1]
        scoped.close()  # a node cannot close the run's engine
        assert engine.execute_sql("SELECT k FROM lookup")["k"].tolist() == [1]
    with pytest.raises(EngineError, match="without an engine"):
        NodeContext("x").scoped_engine()


def test_scoped_engine_delegates_every_engine_operation() -> None:
    """A base-class default would bypass the engine's own (faster) implementation."""
    operations = {name for name, value in vars(EngineContext).items()
                  if callable(value) and not name.startswith("_")}
    assert operations <= set(vars(ScopedEngineContext)), sorted(operations - set(vars(ScopedEngineContext)))


def test_parallel_nodes_registering_the_same_name_stay_apart() -> None:
    """Two nodes run at once (a barrier proves it), each registers 'scratch' with its own frame
    through the context it is given; each query sees its own, and nothing is left behind."""
    engine = create_engine_context("pandas")
    barrier = threading.Barrier(2)
    names: dict[str, str] = {}

    @register_function("scratch_user", replace=True)
    def scratch_user(*, tag: str, context):
        context.register_temp("scratch", pd.DataFrame({"tag": [tag] * 3}))
        names[tag] = context.node_context.view_name("scratch")
        barrier.wait(10)
        return context.execute_sql("SELECT DISTINCT tag FROM scratch")

    steps = [Step("transform", f"node_{tag}", "function", "pandas", "scratch_user",
                  params={"args": {"tag": tag}}, outputs={"data": f"out_{tag}"}) for tag in ("a", "b")]
    try:
        ex = DAGExecutor(DAGBuilder(steps).build(), engine, max_workers=2)
        data = ex.execute()
    finally:
        unregister_function("scratch_user")
    assert data["out_a"]["tag"].tolist() == ["a"] and data["out_b"]["tag"].tolist() == ["b"]
    assert names["a"] != names["b"]
    for name in ("scratch", names["a"], names["b"]):
        with pytest.raises(EngineError):
            engine.execute_sql(f"SELECT * FROM {name}")


# -- Spark ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_session() -> Iterator[object]:
    require("ODIBI_REQUIRE_SPARK", spark_available(),
            "pip install -e '.[spark]' and a Java 17 runtime (conda: openjdk)")
    engine = create_engine_context("spark", master="local[2]")
    engine.session.sparkContext.setLogLevel("ERROR")
    yield engine.session


def temp_views(session) -> set[str]:
    return {t.name for t in session.catalog.listTables() if t.isTemporary}


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_session_views_are_unique_and_dropped(spark_session) -> None:
    before = temp_views(spark_session)
    frame = spark_session.createDataFrame(pd.DataFrame({"id": [1, 2, 3]}))
    with NodeContext("step1", spark_session) as ctx:  # the seed's example, now isolated
        unique = ctx.register_temp("my_view", frame)
        assert unique in temp_views(spark_session)
        assert spark_session.sql(f"SELECT COUNT(*) AS n FROM {unique}").collect()[0]["n"] == 3
        result = ctx.execute_sql("SELECT COUNT(*) AS n FROM my_view WHERE id > 1")
        assert result.collect()[0]["n"] == 2
    assert temp_views(spark_session) == before


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_contexts_on_threads_keep_their_own_frames(spark_session) -> None:
    before = temp_views(spark_session)
    barrier = threading.Barrier(3)
    seen: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            frame = spark_session.createDataFrame(pd.DataFrame({"x": [n] * (n + 1)}))
            with NodeContext("same_node", spark_session) as ctx:
                ctx.register_temp("shared", frame)
                barrier.wait(60)
                seen[n] = sorted(r["x"] for r in ctx.execute_sql("SELECT x FROM shared").collect())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert seen == {n: [n] * (n + 1) for n in range(3)}
    assert temp_views(spark_session) == before


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_engine_nodes_get_scoped_temp_tables(spark_session) -> None:
    engine = create_engine_context("spark", session=spark_session)

    @register_function("spark_scratch", replace=True)
    def spark_scratch(t, *, context):
        context.register_temp("scratch", t)
        return context.execute_sql("SELECT id * 10 AS id FROM scratch")

    steps = [
        Step("transform", "make", "sql", "spark", "SELECT id FROM VALUES (1), (2) AS v(id)",
             outputs={"data": "ids"}),
        Step("transform", "scale", "function", "spark", "spark_scratch", inputs={"t": "ids"},
             outputs={"data": "scaled"}),
    ]
    try:
        data = DAGExecutor(DAGBuilder(steps).build(), engine, max_workers=2).execute()
    finally:
        unregister_function("spark_scratch")
    assert sorted(r["id"] for r in data["scaled"].collect()) == [10, 20]
    with pytest.raises(EngineError):
        engine.execute_sql("SELECT * FROM scratch")
