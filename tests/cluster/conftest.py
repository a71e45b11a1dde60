"""Cluster fixtures: a Spark standalone master and worker for the test session, started with
the launcher bundled in pyspark and stopped by process id afterwards, pass or fail. Every test
here needs pyspark and Java: skipped without them, a failure when ODIBI_REQUIRE_SPARK=1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cluster_processes import leftovers
from coursekit import require

from grader.grade import spark_available
from odibi_core.engine.spark_cluster import StandaloneCluster, standalone_cluster


@pytest.fixture(autouse=True)
def _spark_required() -> None:
    require("ODIBI_REQUIRE_SPARK", spark_available(),
            "pip install -e '.[spark]' and a Java 17 runtime (conda: openjdk)")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """One master and one worker (1 core, 1 GB) on 127.0.0.1 for the whole session; after the
    session no process of it may remain."""
    require("ODIBI_REQUIRE_SPARK", spark_available(),
            "pip install -e '.[spark]' and a Java 17 runtime (conda: openjdk)")
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), cores=1, memory="1g") as cluster:
        yield cluster
    left = leftovers(cluster)
    assert not left, f"processes of the cluster still running after stop: {left}"

