"""The course pipelines on a Spark standalone cluster give the pandas engine's results.

The driver runs in its own process (``cluster_job.py``; one SparkContext per process, and this
test process may already hold a local one); this module starts nothing but that process and
asserts on what it wrote and on the master's and worker's JSON status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from odibi_core.engine.spark_cluster import StandaloneCluster

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(400)]

JOB = Path(__file__).with_name("cluster_job.py")
JOB_TIMEOUT = 300


@pytest.fixture(scope="module")
def job(spark_cluster: StandaloneCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Runs cluster_job.py against the cluster once; its results.json."""
    out = tmp_path_factory.mktemp("cluster-job")
    env = {**os.environ, **spark_cluster.driver_env(),
           "ODIBI_CLUSTER_DRIVER_CONF": json.dumps(spark_cluster.driver_conf()),
           "ODIBI_CACHE_DIR": str(out / "default-cache")}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(JOB), str(out)], env=env, cwd=out, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its JVM
        output, _ = proc.communicate()
        pytest.fail(f"the cluster job did not finish in {JOB_TIMEOUT} s:\n{output[-4000:]}")
    assert proc.returncode == 0, f"the cluster job failed (exit {proc.returncode}):\n{output[-6000:]}"
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


@pytest.mark.parametrize("name", ["csv_join_parquet", "sqlite_round_trip", "lesson05", "lesson05_file"])
def test_cluster_results_equal_the_pandas_engine(job: dict[str, Any], name: str) -> None:
    expected = pd.read_parquet(job["parity"][f"{name}.pandas"])
    got = pd.read_parquet(job["parity"][f"{name}.spark"])
    assert len(expected) > 0
    pd.testing.assert_frame_equal(expected, got)


def test_the_job_ran_on_the_cluster_worker(job: dict[str, Any], spark_cluster: StandaloneCluster) -> None:
    assert job["master"] == spark_cluster.master_url, job["master"]
    assert job["lesson05_stats.spark"] == {"mode": "parallel", "workers": 4}
    apps = {app["id"]: app for app in spark_cluster.status()["completedapps"]}
    assert job["app_id"] in apps, f"expected {job['app_id']} among completed apps {sorted(apps)}"
    assert apps[job["app_id"]]["name"] == "odibi-cluster-tests"
    assert apps[job["app_id"]]["state"] == "FINISHED", apps[job["app_id"]]
    executors = spark_cluster.worker_status()["finishedexecutors"]
    ours = [e for e in executors if e["appid"] == job["app_id"]]
    assert ours, f"no executor of {job['app_id']} on the worker: {executors}"


def test_spark_frames_are_neither_cached_nor_collected_to_key_them(job: dict[str, Any]) -> None:
    cache = job["cache"]
    first, second, resumed = cache["runs"]
    assert first["cache_hits"] == second["cache_hits"] == 0, cache["runs"]
    assert set(second["states"].values()) == {"SUCCESS"}, second["states"]
    pd.testing.assert_frame_equal(pd.read_parquet(first["revenue"]), pd.read_parquet(second["revenue"]))
    assert resumed["states"] and "FAILED" not in resumed["states"].values(), resumed["states"]
    assert cache["fingerprints"] and set(cache["fingerprints"]) == {None}, cache["fingerprints"]
    keyed = [call for call in cache["collects"]
             if any("fingerprint" in frame or frame.startswith("cache/") or frame.endswith(":key")
                    for frame in call["stack"])]
    assert keyed == [], f"Spark frames collected by the cache: {keyed}"
    assert not [name for name in cache["cache_files"] if name.endswith(".parquet")], cache["cache_files"]
    assert cache["checkpoint_files"], "checkpoints must be written on the cluster too"


@pytest.mark.parametrize(("case", "step", "words"), [
    ("bad_sql", "broken_sql", ["SQL failed", "no_such_column"]),
    ("missing_file", "read_missing", ["nowhere"]),
    ("task_failure", "save_cast", ["cannot write parquet", "CAST_INVALID_INPUT"]),
])
def test_a_failing_spark_job_is_an_odibi_error_naming_the_step(job: dict[str, Any], case: str, step: str,
                                                               words: list[str]) -> None:
    failure = job["failures"][case]
    assert failure is not None, f"{case}: the pipeline should have failed"
    assert failure["odibi"] and failure["failed"] == [step], failure
    message = failure["message"]
    assert f"{step}:" in message and all(word in message for word in words), message
    assert "\tat " not in message and "Traceback" not in message, f"a Java or Python trace: {message}"
