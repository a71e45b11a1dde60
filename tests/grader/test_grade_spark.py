"""engine-spark steps run for real when Spark is enabled (required in CI)."""

from __future__ import annotations

import pytest
from coursekit import Course, code, require, spec

from grader.grade import GradeOptions, grade_notebook, spark_available
from grader.results import LessonStatus, StepState

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SPARK_CELL = """
import os
from pyspark.sql import SparkSession
assert os.environ["ODIBI_SPARK"] == "1"
spark = SparkSession.builder.master("local[1]").appName("grader-test").config("spark.ui.enabled", "false").getOrCreate()
rows = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], ["id", "name"]).filter("id >= 2").count()
spark.stop()
"""


def test_engine_spark_step_runs_with_spark(course: Course) -> None:
    require("ODIBI_REQUIRE_SPARK", spark_available(), "pip install -e '.[spark]' and Java 17")
    cells = [
        code("x = 1", "step-1"),
        code("assert x == 1", "step-1", "check"),
        code(SPARK_CELL, "step-2", "engine-spark"),
        code("assert rows == 2, f'expected 2 rows, got {rows}'", "step-2", "engine-spark", "check"),
    ]
    path = course.lesson("01_spark", cells, spec("spark_demo", runnable_steps=2, total_steps=2,
                                                  engines=["pandas", "spark"]))
    with_spark = grade_notebook(path, course.root, GradeOptions(timeout=300, spark=True))
    assert [s.state for s in with_spark.steps] == [StepState.PASSED, StepState.PASSED], with_spark.steps
    assert with_spark.status is LessonStatus.PASSED

    without = grade_notebook(path, course.root, GradeOptions(timeout=60, spark=False))
    assert [s.state for s in without.steps] == [StepState.PASSED, StepState.SKIPPED]
    assert without.score == 1.0  # skipped steps are not graded
