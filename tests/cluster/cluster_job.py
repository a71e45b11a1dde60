"""The driver side of the cluster tests, run as its own process (one SparkContext per process):
``python cluster_job.py RESULTS_DIR`` with ``ODIBI_SPARK_MASTER`` (and the cluster's driver
settings as JSON in ``ODIBI_CLUSTER_DRIVER_CONF``) in the environment.

It runs, on pandas and on the cluster: the lesson-02 parity pipelines, the lesson-05 course DAG
in parallel (taken from the lesson notebook itself), a cached and checkpointed run, and three
failing pipelines; it writes each result as Parquet and a summary as ``results.json`` for the
test process to assert on.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
sys.path[:0] = [str(REPO), str(TESTS), str(TESTS / "odibi_core")]

import pandas as pd  # noqa: E402
from test_pipeline_parity import normalise, pipelines  # noqa: E402

from odibi_core.core import Orchestrator, Step, create_engine_context  # noqa: E402
from odibi_core.engine import SparkEngineContext  # noqa: E402
from odibi_core.errors import OdibiError, PipelineError  # noqa: E402

DATA = REPO / "lessons" / "data"
LESSON_05 = REPO / "lessons" / "05_parallelism.ipynb"


def course_pipeline_from_lesson() -> Any:
    """``course_pipeline`` exactly as lesson 05 defines it (its cell up to ``PIPELINE =``)."""
    cells = json.loads(LESSON_05.read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "def course_pipeline(" in "".join(c["source"]))
    namespace: dict[str, Any] = {"Path": Path, "Step": Step, "textwrap": textwrap,
                                 "path": lambda p: Path(p).resolve().as_posix()}
    exec(compile(source.split("\nPIPELINE =", 1)[0], str(LESSON_05), "exec"), namespace)
    return namespace["course_pipeline"]


def run(steps: list[Step], context: Any, **options: Any) -> Any:
    return Orchestrator([replace(s, engine=context.name) for s in steps], context, max_retries=0,
                        **options).run()


def save(frame: pd.DataFrame, out: Path, name: str) -> str:
    path = out / f"{name}.parquet"
    normalise(frame).to_parquet(path)
    return str(path)


class CollectSpy:
    """Records every Spark action that brings rows to the driver, with the odibi functions on
    the stack at the time."""

    ACTIONS = ("collect", "toPandas", "toLocalIterator", "toArrow", "take", "head", "first")

    def __init__(self, frame_type: type) -> None:
        self.calls: list[dict[str, Any]] = []
        self.frame_type = frame_type
        self.saved = {name: getattr(frame_type, name) for name in self.ACTIONS if hasattr(frame_type, name)}

    def __enter__(self) -> CollectSpy:
        for name, original in self.saved.items():
            setattr(self.frame_type, name, self._wrap(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self.saved.items():
            setattr(self.frame_type, name, original)

    def _wrap(self, name: str, original: Any) -> Any:
        def spy(frame: Any, *args: Any, **kwargs: Any) -> Any:
            stack = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.name}"
                     for f in traceback.extract_stack() if "odibi_core" in f.filename]
            self.calls.append({"action": name, "stack": stack})
            return original(frame, *args, **kwargs)
        return spy


def main(results_dir: Path) -> None:
    out = results_dir
    conf = json.loads(os.environ.get("ODIBI_CLUSTER_DRIVER_CONF", "{}"))
    # a failing task fails its job at once (no retries on the one worker): quick error tests
    conf.setdefault("spark.task.maxFailures", "1")
    conf.setdefault("spark.ui.showConsoleProgress", "false")
    spark = create_engine_context("spark", app_name="odibi-cluster-tests", spark_conf=conf)
    assert isinstance(spark, SparkEngineContext)
    session = spark.session
    session.sparkContext.setLogLevel("ERROR")
    pandas = create_engine_context("pandas")
    summary: dict[str, Any] = {"master": session.sparkContext.master,
                               "app_id": session.sparkContext.applicationId, "parity": {}}

    # (1) the lesson-02 parity pipelines
    for name in ("csv_join_parquet", "sqlite_round_trip"):
        for engine, context in (("pandas", pandas), ("spark", spark)):
            folder = out / name / engine
            folder.mkdir(parents=True)
            result = run(pipelines(folder)[name], context, parallel=(engine == "spark"), max_workers=2)
            assert result.success, result.errors
            summary["parity"][f"{name}.{engine}"] = save(context.to_pandas(result.data_map["result"]),
                                                         out, f"{name}.{engine}")

    # (2) the lesson-05 DAG, in parallel, and the file its store step wrote on the cluster
    course_pipeline = course_pipeline_from_lesson()
    for engine, context in (("pandas", pandas), ("spark", spark)):
        folder = out / "lesson05" / engine
        result = run(course_pipeline(DATA, folder), context, parallel=True, max_workers=4)
        assert result.success, result.errors
        summary["parity"][f"lesson05.{engine}"] = save(context.to_pandas(result.data_map["revenue"]),
                                                       out, f"lesson05.{engine}")
        written = context.to_pandas(context.read(str(folder / "revenue.csv")))
        summary["parity"][f"lesson05_file.{engine}"] = save(written, out, f"lesson05_file.{engine}")
        summary[f"lesson05_stats.{engine}"] = {"mode": result.stats["mode"],
                                               "workers": result.stats["max_workers"]}

    # (3) the cache and checkpoints with Spark frames: nothing collected to key or store them
    fingerprints: list[Any] = []
    original_fingerprint = SparkEngineContext.fingerprint

    def spy_fingerprint(self: SparkEngineContext, frame: Any) -> str | None:
        value = original_fingerprint(self, frame)
        fingerprints.append(value)
        return value

    SparkEngineContext.fingerprint = spy_fingerprint  # type: ignore[method-assign]
    cached_runs = []
    try:
        with CollectSpy(type(session.range(1))) as spy:
            # a cached run, the same again (Spark frames are not cached: no hits), then a run
            # resumed from the first runs' checkpoints
            for attempt, resume in enumerate((False, False, True)):
                target = out / f"cached_{attempt}"
                result = run(course_pipeline(DATA, target), spark, parallel=True, use_cache=True,
                             cache_dir=str(out / "cache"), enable_checkpoints=True, pipeline_name="course",
                             checkpoint_dir=str(out / "checkpoints"), resume_from_checkpoint=resume)
                assert result.success, result.errors
                cached_runs.append({"cache_hits": result.stats["cache_hits"],
                                    "states": {n: r.state.value for n, r in result.node_results.items()}})
                if "revenue" in result.data_map:
                    cached_runs[-1]["revenue"] = save(spark.to_pandas(result.data_map["revenue"]), out,
                                                      f"cached_{attempt}")
    finally:
        SparkEngineContext.fingerprint = original_fingerprint  # type: ignore[method-assign]
    summary["cache"] = {
        "runs": cached_runs,
        "fingerprints": fingerprints,
        "collects": spy.calls,
        "cache_files": sorted(p.name for p in (out / "cache").rglob("*") if p.is_file()),
        "checkpoint_files": sorted(p.name for p in (out / "checkpoints").rglob("*") if p.is_file()),
    }

    # (4) failures inside Spark jobs surface as odibi errors naming the step
    failing = {
        "bad_sql": [Step("ingest", "read_orders", "config_op", "spark", str(DATA / "orders.csv"),
                         outputs={"d": "orders"}),
                    Step("transform", "broken_sql", "sql", "spark", "SELECT no_such_column FROM orders",
                         inputs={"orders": "orders"}, outputs={"d": "x"})],
        "missing_file": [Step("ingest", "read_missing", "config_op", "spark",
                              str(out / "nowhere" / "orders.csv"), outputs={"d": "orders"})],
        "task_failure": [Step("transform", "bad_cast", "sql", "spark",
                              "SELECT CAST(concat('x', CAST(id AS STRING)) AS INT) AS n FROM range(3)",
                              outputs={"d": "x"}),
                         Step("store", "save_cast", "config_op", "spark", str(out / "cast.parquet"),
                              inputs={"d": "x"})],
    }
    summary["failures"] = {}
    for name, steps in failing.items():
        result = run(steps, spark, enable_tracker=False)  # no snapshots: the store runs the job
        try:
            result.raise_for_failure()
            summary["failures"][name] = None
        except PipelineError as exc:
            summary["failures"][name] = {"type": type(exc).__name__, "odibi": isinstance(exc, OdibiError),
                                         "failed": list(exc.failed), "message": str(exc)}

    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    session.stop()  # the application ends FINISHED in the master's status


if __name__ == "__main__":
    main(Path(sys.argv[1]))
