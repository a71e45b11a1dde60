"""Cache test fixtures: a fresh folder on fsspec's memory filesystem for each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import fsspec
import pytest


@pytest.fixture
def memory_url() -> Iterator[str]:
    """``memory://odibi-test-<uuid>``, removed afterwards: fsspec's memory filesystem is one
    dict for the whole process, so tests (and xdist workers' leftovers) must not share a root."""
    url = f"memory://odibi-test-{uuid.uuid4().hex}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)
    assert not [path for path in fs.store if path.startswith(f"{root}/")]
