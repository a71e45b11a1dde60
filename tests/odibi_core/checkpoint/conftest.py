"""The checkpoint stores every store-level test runs against.

To add a store, add a ``pytest.param`` to ``STORES``: the contract tests, the manager tests and
the age-cleanup tests all run against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from odibi_core.checkpoint import (
    CheckpointStore,
    FileCheckpointStore,
    MemoryCheckpointStore,
    SqliteCheckpointStore,
)

STORES = [
    pytest.param(lambda tmp: FileCheckpointStore(tmp / "checkpoints"), id="file"),
    pytest.param(lambda tmp: MemoryCheckpointStore(), id="memory"),
    pytest.param(lambda tmp: SqliteCheckpointStore(tmp / "checkpoints.db"), id="sqlite"),
]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CheckpointStore]:
    make: Callable[[Path], CheckpointStore] = request.param
    made = make(tmp_path)
    yield made
    if isinstance(made, SqliteCheckpointStore):
        made.close()
