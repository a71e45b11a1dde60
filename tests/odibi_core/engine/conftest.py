"""Engine fixtures: one Spark context for the whole run (skipped without pyspark or Java, a
failure when ODIBI_REQUIRE_SPARK=1)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from coursekit import require

from odibi_core.engine import PandasEngineContext, SparkEngineContext


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None when pyspark and a Java runtime are present."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "no Java runtime (java not on PATH, JAVA_HOME unset)"
    return None


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[SparkEngineContext]:
    """The Spark engine on a local[2] session, started once per test run."""
    require("ODIBI_REQUIRE_SPARK", spark_missing(),
            "pip install -e '.[spark]' and a Java 17 runtime (conda: openjdk)")
    context = SparkEngineContext(master="local[2]", app_name="odibi-engine-tests")
    context.session.sparkContext.setLogLevel("ERROR")
    yield context


@pytest.fixture
def pandas_engine() -> PandasEngineContext:
    return PandasEngineContext()
