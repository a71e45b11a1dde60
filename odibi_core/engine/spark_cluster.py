"""A Spark standalone cluster on this machine: one master and one worker, for tests and trials.

Both are started with the ``spark-class`` launcher bundled in the pyspark package
(``org.apache.spark.deploy.master.Master`` and ``...worker.Worker``), bound to 127.0.0.1 on
free ports, each as the leader of its own process group, with logs and the worker's scratch
space under one folder. :func:`start_cluster` returns once the master lists the worker as
ALIVE; :func:`stop_cluster` signals both process groups by id (the worker's group includes
the executors it launched) and waits until they are gone. The cluster's record
(``cluster.json`` in its folder) carries a unique marker that is also on every daemon's and
executor's command line, so a stop never signals a process it did not start, even when the
record is stale.

``python -m odibi_core.engine.spark_cluster start|status|stop [--dir DIR]`` does the same from a
shell (POSIX only: the bundled launcher is a bash script).

Over 400 lines: starting, probing and stopping a local Spark Connect cluster is one process life cycle.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineError

__all__ = [
    "MARKER_PROPERTY",
    "StandaloneCluster",
    "default_cluster_dir",
    "find_spark_home",
    "main",
    "standalone_cluster",
    "start_cluster",
    "stop_cluster",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
RECORD = "cluster.json"
#: Java system property put on every daemon and executor command line: ``-D<property>=<marker>``
MARKER_PROPERTY = "odibi.cluster"
_MASTER = "org.apache.spark.deploy.master.Master"
_WORKER = "org.apache.spark.deploy.worker.Worker"


@dataclass(frozen=True)
class StandaloneCluster:
    """A running master and worker (as recorded in ``<work_dir>/cluster.json``)."""

    master_url: str
    master_web_url: str
    worker_web_url: str
    master_pid: int
    worker_pid: int
    work_dir: str
    marker: str
    ports: tuple[int, ...]
    worker_cores: int
    worker_memory: str

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The master's JSON status (``<web ui>/json/``): workers, active and completed apps."""
        return _get_json(f"{self.master_web_url}/json/", timeout)

    def worker_status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The worker's JSON status: its running and finished executors (with their app ids)."""
        return _get_json(f"{self.worker_web_url}/json/", timeout)

    def driver_conf(self, executor_memory: str = "512m") -> dict[str, str]:
        """Spark settings for a driver on this machine: reachable on 127.0.0.1, executors that
        fit the worker, and the cluster's marker on the executors' command line."""
        return {
            "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST,
            "spark.executor.memory": executor_memory,
            "spark.executor.cores": str(self.worker_cores),
            "spark.cores.max": str(self.worker_cores),
            "spark.executor.extraJavaOptions": f"-D{MARKER_PROPERTY}={self.marker}",
        }

    def driver_env(self) -> dict[str, str]:
        """Environment for a driver process: 127.0.0.1 as its address, this Python for the
        executors' Python workers, and the master as ``ODIBI_SPARK_MASTER``."""
        return {"SPARK_LOCAL_IP": HOST, "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable, "ODIBI_SPARK_MASTER": self.master_url}

    def save(self) -> Path:
        path = Path(self.work_dir) / RECORD
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, work_dir: str | Path) -> StandaloneCluster:
        """The cluster recorded in ``work_dir``; EngineError when there is none."""
        path = Path(work_dir) / RECORD
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["ports"] = tuple(data["ports"])
            return cls(**data)
        except FileNotFoundError as exc:
            raise EngineError(f"no cluster recorded in {str(work_dir)!r} (expected {path}); start one"
                              f" with python -m odibi_core.engine.spark_cluster start", engine="spark") from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise EngineError(f"{path} is not a cluster record: {exc}", engine="spark") from exc


def find_spark_home() -> Path:
    """``SPARK_HOME`` if set, else the installed pyspark package folder (which bundles
    ``bin/spark-class`` and the jars)."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise EngineError("pyspark is not installed; install the spark extra"
                          " (pip install 'odibi-course[spark]') and a Java 17 runtime", engine="spark")
    return Path(spec.origin).parent


def default_cluster_dir() -> Path:
    """Where the script keeps its cluster unless told: ``$ODIBI_SPARK_CLUSTER_DIR`` or a
    per-user folder under the system temp folder."""
    given = os.environ.get("ODIBI_SPARK_CLUSTER_DIR")
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(given) if given else Path(tempfile.gettempdir()) / f"odibi-spark-cluster-{user}"


def start_cluster(work_dir: str | Path, *, cores: int = 1, memory: str = "1g",
                  daemon_memory: str = "256m", timeout: float = 180.0) -> StandaloneCluster:
    """Start a master and one worker bound to 127.0.0.1 and wait until the worker is registered.

    Args:
        work_dir: folder for the record, the logs (``logs/``) and the worker's scratch space
            (``worker/``); created if missing.
        cores: cores the worker offers to applications.
        memory: memory the worker offers to executors (``SPARK_WORKER_MEMORY``).
        daemon_memory: heap of the master and worker daemons themselves.
        timeout: seconds to wait for the worker to register.

    Raises:
        EngineError: not POSIX, no pyspark or launcher, a cluster already recorded and running
            in ``work_dir``, or the worker did not register in time (both are then stopped, and
            the message ends with the logs' last lines).

    Over 60 lines: one subprocess start with its readiness probe and cleanup on every failure path.
    """
    if os.name != "posix":
        raise EngineError("the standalone launcher needs a POSIX shell (bin/spark-class is bash);"
                          " on Windows use WSL", engine="spark")
    home = find_spark_home()
    launcher = home / "bin" / "spark-class"
    if not launcher.is_file():
        raise EngineError(f"no Spark launcher at {launcher}; set SPARK_HOME to a Spark"
                          f" distribution or reinstall pyspark", engine="spark")
    work = Path(work_dir).absolute()
    _refuse_running(work)
    logs, scratch, conf = work / "logs", work / "worker", work / "conf"
    for folder in (logs, scratch, conf):
        folder.mkdir(parents=True, exist_ok=True)
    marker = uuid.uuid4().hex
    master_port, master_ui, worker_port, worker_ui = _free_ports(4)
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_CONF_DIR": str(conf),  # an empty conf folder: no user spark-defaults leak in
        "SPARK_LOCAL_IP": HOST,
        "SPARK_PUBLIC_DNS": HOST,
        "SPARK_LOG_DIR": str(logs),
        "SPARK_WORKER_DIR": str(scratch),
        "SPARK_WORKER_MEMORY": memory,
        "SPARK_WORKER_CORES": str(cores),
        "SPARK_DAEMON_MEMORY": daemon_memory,
        "SPARK_DAEMON_JAVA_OPTS": f"-D{MARKER_PROPERTY}={marker}",
        "PYSPARK_PYTHON": sys.executable,
    }
    master_url = f"spark://{HOST}:{master_port}"
    master = _launch([str(launcher), _MASTER, "--host", HOST, "--port", str(master_port),
                      "--webui-port", str(master_ui)], env, logs / "master.out", work)
    worker = _launch([str(launcher), _WORKER, "--host", HOST, "--port", str(worker_port),
                      "--webui-port", str(worker_ui), "--cores", str(cores), "--memory", memory,
                      "--work-dir", str(scratch), master_url], env, logs / "worker.out", work)
    cluster = StandaloneCluster(master_url=master_url, master_web_url=f"http://{HOST}:{master_ui}",
                                worker_web_url=f"http://{HOST}:{worker_ui}", master_pid=master.pid,
                                worker_pid=worker.pid, work_dir=str(work), marker=marker,
                                ports=(master_port, master_ui, worker_port, worker_ui),
                                worker_cores=cores, worker_memory=memory)
    cluster.save()
    try:
        _wait_for_worker(cluster, (master, worker), timeout)
    except BaseException:
        stop_cluster(cluster)
        raise
    log.info("Spark standalone cluster up: %s (web UI %s), worker on port %s",
             master_url, cluster.master_web_url, worker_port)
    return cluster


def stop_cluster(cluster: StandaloneCluster, *, timeout: float = 30.0) -> list[int]:
    """Stop the worker's and then the master's process group: SIGTERM, then SIGKILL after
    ``timeout`` seconds. Only groups whose leader carries the cluster's marker are signalled
    (or whose leader is already gone). Returns the process ids signalled."""
    signalled = []
    daemons = ((cluster.worker_pid, cluster.ports[3]), (cluster.master_pid, cluster.ports[1]))
    for pid, web_port in daemons:
        # the marker is on java's command line; before bin/spark-class execs java, the
        # launcher's own line names the daemon's web UI port
        if _signal_group(pid, (cluster.marker, f"--webui-port {web_port}"), signal.SIGTERM):
            signalled.append(pid)
    deadline = time.monotonic() + timeout
    for pid in signalled:
        if not _wait_group_gone(pid, deadline):
            log.warning("process group %s did not stop within %.0f s; killing it", pid, timeout)
            _signal_group(pid, None, signal.SIGKILL)
            _wait_group_gone(pid, time.monotonic() + 10)
    log.info("Spark standalone cluster %s stopped (groups %s)", cluster.master_url, signalled)
    return signalled


@contextmanager
def standalone_cluster(work_dir: str | Path, **options: Any) -> Iterator[StandaloneCluster]:
    """:func:`start_cluster`, then :func:`stop_cluster` when the block exits, error or not."""
    cluster = start_cluster(work_dir, **options)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


# -- processes -------------------------------------------------------------------------
def _launch(command: list[str], env: dict[str, str], out: Path, cwd: Path) -> subprocess.Popen[bytes]:
    log.debug("launching %s", shlex.join(command))
    with out.open("ab") as sink:
        # its own session: the daemon outlives a CLI that started it, and the worker's group
        # (its pid) holds the executors it launches, so one killpg stops them all
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _cmdline(pid: int) -> str | None:
    """The command line of ``pid`` (None when there is no such process)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.is_dir():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    done = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def _signal_group(pid: int, marks: Sequence[str] | None, sig: signal.Signals) -> bool:
    """Signal the process group led by ``pid``; with ``marks``, only if the leader's command
    line carries one of them or the leader has exited (its group may still hold executors)."""
    if marks is not None:
        line = _cmdline(pid)
        if line is not None and not any(mark in line for mark in marks):
            log.warning("not signalling %s: its command line does not carry the cluster marker"
                        " (a stale record?)", pid)
            return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        _reap(pid)
        return False
    except PermissionError as exc:
        raise EngineError(f"cannot signal process group {pid}: {exc}", engine="spark") from exc
    return True


def _wait_group_gone(pid: int, deadline: float) -> bool:
    while True:
        _reap(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _reap(pid: int) -> None:
    """Collect the exit status of ``pid`` if it is our child (a zombie still counts as a member
    of its group)."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _refuse_running(work: Path) -> None:
    if not (work / RECORD).is_file():
        return
    try:
        old = StandaloneCluster.load(work)
    except EngineError:
        return
    alive = [pid for pid in (old.master_pid, old.worker_pid) if old.marker in (_cmdline(pid) or "")]
    if alive:
        raise EngineError(f"a cluster is already running from {work} ({old.master_url}, pids {alive});"
                          f" stop it first: python -m odibi_core.engine.spark_cluster stop --dir {work}",
                          engine="spark")


# -- readiness and status ---------------------------------------------------------------
def _get_json(url: str, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot read the cluster status at {url}: {exc}", engine="spark") from exc


def _wait_for_worker(cluster: StandaloneCluster, procs: Sequence[subprocess.Popen[bytes]],
                     timeout: float) -> None:
    deadline = time.monotonic() + timeout
    worker_port = cluster.ports[2]
    while True:
        for proc, name in zip(procs, ("master", "worker"), strict=True):
            if proc.poll() is not None:
                raise EngineError(f"the Spark {name} exited with code {proc.returncode} while"
                                  f" starting{_log_tail(cluster)}", engine="spark")
        try:
            workers = cluster.status(timeout=2).get("workers", [])
        except EngineError:
            workers = []  # the master's web UI is not up yet
        if any(w.get("state") == "ALIVE" and w.get("port") == worker_port for w in workers):
            return
        if time.monotonic() > deadline:
            raise EngineError(f"the Spark worker did not register with {cluster.master_url} within"
                              f" {timeout:.0f} s{_log_tail(cluster)}", engine="spark")
        time.sleep(0.5)


def _log_tail(cluster: StandaloneCluster, lines: int = 15) -> str:
    parts = []
    for name in ("master", "worker"):
        path = Path(cluster.work_dir) / "logs" / f"{name}.out"
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"\n--- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "".join(parts)


# -- command line ----------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """``start`` / ``status`` / ``stop`` a standalone cluster kept in ``--dir``."""
    parser = argparse.ArgumentParser(prog="python -m odibi_core.engine.spark_cluster",
                                     description="A Spark standalone master and worker on 127.0.0.1.")
    parser.add_argument("command", choices=["start", "status", "stop"])
    parser.add_argument("--dir", type=Path, default=default_cluster_dir(),
                        help="the cluster's folder: record, logs, worker scratch (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=1, help="worker cores (start)")
    parser.add_argument("--memory", default="1g", help="worker memory for executors (start)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait (start)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "start":
            cluster = start_cluster(args.dir, cores=args.cores, memory=args.memory, timeout=args.timeout)
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in cluster.driver_env().items()
                           if k != "PYSPARK_DRIVER_PYTHON")
            sys.stdout.write(f"master   {cluster.master_url}\nweb UI   {cluster.master_web_url}\n"
                             f"record   {Path(cluster.work_dir) / RECORD}\n"
                             f"drivers  export {env}\n")
        elif args.command == "status":
            cluster = StandaloneCluster.load(args.dir)
            status = cluster.status()
            summary = {"master": cluster.master_url, "web_ui": cluster.master_web_url,
                       "status": status.get("status"), "alive_workers": status.get("aliveworkers"),
                       "active_apps": [a.get("name") for a in status.get("activeapps", [])],
                       "completed_apps": [a.get("name") for a in status.get("completedapps", [])]}
            sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        else:
            stopped = stop_cluster(StandaloneCluster.load(args.dir))
            sys.stdout.write(f"stopped process groups {stopped}\n")
    except EngineError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
