"""Project-wide pytest configuration for running the lessons with nbval
(``pytest --nbval-lax lessons/``): cells tagged ``engine-spark`` run when Spark is available
here and are skipped otherwise, unless ODIBI_REQUIRE_SPARK=1 (CI), where a missing Spark
fails instead."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    spark_cells = [item for item in items if "engine-spark" in _tags(item)]
    if not spark_cells:
        return
    from grader.grade import spark_available

    missing = spark_available()
    if missing is None:
        return
    if os.environ.get("ODIBI_REQUIRE_SPARK") == "1":
        raise pytest.UsageError(f"lessons have engine-spark cells but {missing}; ODIBI_REQUIRE_SPARK=1 requires Spark")
    for item in spark_cells:
        item.add_marker(pytest.mark.skip(reason=f"engine-spark cell: {missing}"))


def _tags(item: pytest.Item) -> list[str]:
    cell = getattr(item, "cell", None)  # nbval's notebook cell items carry their cell
    if cell is None:
        return []
    return list(cell.get("metadata", {}).get("tags", []))
