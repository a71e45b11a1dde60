"""Serving metrics over HTTP for a Prometheus server to scrape (``/metrics`` or any path)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

__all__ = ["MetricsServer", "serve_registry"]

log = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """A running metrics endpoint (a daemon thread). ``close()`` stops it and frees the port;
    it is also a context manager."""

    server: Any  # wsgiref WSGIServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def serve_registry(registry: CollectorRegistry, port: int, addr: str) -> MetricsServer:
    """Serve ``registry`` in the Prometheus text format on ``addr:port`` (port 0: a free one)."""
    server, thread = start_http_server(port, addr=addr, registry=registry)
    host, bound = server.server_address[:2]
    log.info("serving metrics on http://%s:%s/metrics", host, bound)
    return MetricsServer(server=server, thread=thread, host=str(host), port=int(bound))
