"""Label values for pipeline metrics, kept low-cardinality on purpose.

Every distinct label set is a separate time series that Prometheus keeps in memory and on
disk, so labels may only hold values from small, slowly changing sets: the pipeline name, the
node (step) name, a run status from :class:`RunStatus`, and an error's class name. A run id,
an execution id, a checkpoint id, a timestamp or an error *message* would make a new series per
run and is never used as a label (those belong in logs, the tracker and lineage).
"""

from __future__ import annotations

import threading
from enum import StrEnum

from ..errors import ConfigError

__all__ = [
    "NODE_LABELS",
    "OTHER_ERROR_TYPE",
    "UNKNOWN_ERROR_TYPE",
    "ErrorTypeLimiter",
    "PipelineStatus",
    "RunStatus",
    "check_name",
]

#: the labels of the per-node metrics (runs add ``status``, failures add ``error_type``)
NODE_LABELS = ("pipeline", "node")

#: the error_type of a failure whose event carried none
UNKNOWN_ERROR_TYPE = "unknown"
#: the error_type of a failure past the limit of distinct types, or not a class name
OTHER_ERROR_TYPE = "other"

_MAX_NAME = 200


class RunStatus(StrEnum):
    """How a node run ended: executed successfully, failed (after its retries), or served from
    the cache."""

    SUCCESS = "success"
    FAILED = "failed"
    CACHED = "cached"


class PipelineStatus(StrEnum):
    """How a pipeline run ended."""

    SUCCESS = "success"
    FAILED = "failed"


def check_name(kind: str, value: object) -> str:
    """``value`` as a label value for a pipeline or node name; ConfigError if it is not a
    non-empty string of at most 200 characters."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("PipelineMetrics", f"{kind} must be a non-empty string, got {value!r}")
    if len(value) > _MAX_NAME:
        raise ConfigError("PipelineMetrics", f"{kind} must be at most {_MAX_NAME} characters,"
                                             f" got {len(value)}: {value[:40]!r}...")
    return value


class ErrorTypeLimiter:
    """Maps an event's ``error_type`` to a bounded label value.

    A class name (a Python identifier, optionally dotted) is kept as is until ``limit``
    distinct types have been seen; later new types, and anything that is not a class name
    (e.g. a message passed by mistake), become ``"other"``; a missing type becomes
    ``"unknown"``. Thread-safe.
    """

    def __init__(self, limit: int = 50) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError("PipelineMetrics", f"max_error_types must be an int >= 1, got {limit!r}")
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, error_type: object) -> str:
        if error_type is None or error_type == "":
            return UNKNOWN_ERROR_TYPE
        name = str(error_type)
        if len(name) > _MAX_NAME or not all(part.isidentifier() for part in name.split(".")):
            return OTHER_ERROR_TYPE
        with self._lock:
            if name in self._seen:
                return name
            if len(self._seen) >= self.limit:
                return OTHER_ERROR_TYPE
            self._seen.add(name)
            return name
