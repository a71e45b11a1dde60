"""odibi_core fixtures: one Spark engine for the whole run (skipped without pyspark or Java, a
failure when ODIBI_REQUIRE_SPARK=1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from coursekit import require

from grader.grade import spark_available
from odibi_core.engine import SparkEngineContext


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[SparkEngineContext]:
    """The Spark engine on a local[2] session, started once per test run."""
    require("ODIBI_REQUIRE_SPARK", spark_available(),
            "pip install -e '.[spark]' and a Java 17 runtime (conda: openjdk)")
    context = SparkEngineContext(master="local[2]", app_name="odibi-core-tests")
    context.session.sparkContext.setLogLevel("ERROR")
    yield context
