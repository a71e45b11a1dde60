"""The standalone launcher: the documented script starts, reports and stops a cluster, a start
that fails stops what it began, and a stop never signals a process it did not start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_processes import leftovers

from odibi_core.engine.spark_cluster import StandaloneCluster, start_cluster, stop_cluster
from odibi_core.errors import EngineError

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(300)]


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odibi_core.engine.spark_cluster", *args],
                          capture_output=True, text=True, timeout=240, check=False)


def test_the_script_starts_reports_and_stops_a_cluster(tmp_path: Path) -> None:
    folder = tmp_path / "cluster"
    started = script("start", "--dir", str(folder))
    cluster = None
    try:
        assert started.returncode == 0, started.stderr
        cluster = StandaloneCluster.load(folder)
        assert f"master   {cluster.master_url}" in started.stdout
        assert "SPARK_LOCAL_IP=127.0.0.1" in started.stdout
        again = script("start", "--dir", str(folder))
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
        status = script("status", "--dir", str(folder))
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["alive_workers"] == 1, status.stdout
        assert leftovers(cluster), "the daemons outlive the script that started them"
        stopped = script("stop", "--dir", str(folder))
        assert stopped.returncode == 0, stopped.stderr
        assert f"[{cluster.worker_pid}, {cluster.master_pid}]" in stopped.stdout
    finally:
        if cluster is not None:
            stop_cluster(cluster)
    assert leftovers(cluster) == []


def test_a_start_that_times_out_stops_what_it_started(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"did not register with spark://127\.0\.0\.1:\d+ within 0 s"):
        start_cluster(tmp_path / "cluster", timeout=0.1)
    cluster = StandaloneCluster.load(tmp_path / "cluster")
    assert leftovers(cluster) == []


def test_stop_never_signals_a_process_without_the_marker(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                start_new_session=True)
    try:
        stale = StandaloneCluster(master_url="spark://127.0.0.1:1", master_web_url="http://127.0.0.1:2",
                                  worker_web_url="http://127.0.0.1:3", master_pid=stranger.pid,
                                  worker_pid=stranger.pid, work_dir=str(tmp_path), marker="not-this-one",
                                  ports=(1, 2, 3, 4), worker_cores=1, worker_memory="1g")
        assert stop_cluster(stale, timeout=1) == []
        assert stranger.poll() is None, "a process without the marker was signalled"
    finally:
        stranger.kill()
        stranger.wait()


def test_status_and_stop_without_a_cluster_say_how_to_start_one(tmp_path: Path) -> None:
    done = script("stop", "--dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert "no cluster recorded" in done.stderr and "spark_cluster start" in done.stderr, done.stderr
