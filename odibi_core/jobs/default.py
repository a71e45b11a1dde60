"""The module-level executor that :func:`get_executor` shares across a process.

It keeps its job records in the default SQLite store (``jobs.sqlite3`` in ``$ODIBI_HOME`` or
``~/.odibi``) and is shut down with ``wait=False`` when the interpreter exits: queued jobs are
recorded as cancelled, and jobs still running then are found and marked failed by the next
executor that opens the store.
"""

from __future__ import annotations

import atexit
import threading

from ..errors import ConfigError
from .executor import BackgroundJobExecutor
from .store import JobStore

__all__ = ["DEFAULT_WORKERS", "get_executor", "shutdown_executor"]

#: workers of the module-level executor when the first caller does not say
DEFAULT_WORKERS = 4

_lock = threading.Lock()
_executor: BackgroundJobExecutor | None = None


def get_executor(num_workers: int | None = None, *, store: JobStore | None = None) -> BackgroundJobExecutor:
    """The process's shared executor, started; created on the first call (or after
    :func:`shutdown_executor`) with ``num_workers`` (default :data:`DEFAULT_WORKERS`) and
    ``store``. Later calls return the same executor; asking them for a different worker count
    or store is a ConfigError, since the running executor cannot change them."""
    global _executor
    with _lock:
        current = _executor
        if current is None or current.is_shut_down:
            current = BackgroundJobExecutor(num_workers or DEFAULT_WORKERS, store=store)
            _executor = current
        else:
            if num_workers is not None and num_workers != current.num_workers:
                raise ConfigError(
                    "get_executor",
                    f"the shared executor already runs {current.num_workers} workers; got "
                    f"num_workers={num_workers}. Omit num_workers, or call shutdown_executor() first",
                )
            if store is not None and store is not current.store:
                raise ConfigError(
                    "get_executor",
                    f"the shared executor already uses {current.store!r}; got {store!r}. Omit "
                    "store, or call shutdown_executor() first",
                )
        return current.start()


def shutdown_executor(wait: bool = True) -> None:
    """Shut the shared executor down (see :meth:`BackgroundJobExecutor.shutdown`) and forget it,
    so the next :func:`get_executor` creates a new one. A no-op when there is none."""
    global _executor
    with _lock:
        current, _executor = _executor, None
    if current is not None:
        current.shutdown(wait=wait)


@atexit.register
def _shutdown_at_exit() -> None:
    shutdown_executor(wait=False)
