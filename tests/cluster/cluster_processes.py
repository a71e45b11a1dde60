"""Which processes of a test cluster are still running (psutil, a dev dependency)."""

from __future__ import annotations

import psutil

from odibi_core.engine.spark_cluster import StandaloneCluster


def leftovers(cluster: StandaloneCluster) -> list[str]:
    """Running processes whose command line carries the cluster's marker or one of its ports."""
    marks = [cluster.marker, *(f"--port {p}" for p in cluster.ports),
             *(f"--webui-port {p}" for p in cluster.ports), *(f"127.0.0.1:{p}" for p in cluster.ports)]
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        line = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(mark in line for mark in marks):
            found.append(f"{proc.info['pid']}: {line[:200]}")
    return found
