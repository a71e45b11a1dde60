"""``from odibi_core.cache_manager import CacheManager``: the import path the lessons use.

The code lives in :mod:`odibi_core.cache`.
"""

from __future__ import annotations

from .cache import (
    CacheEntry,
    CacheKeyError,
    CacheManager,
    CacheStore,
    LocalDirectoryStore,
    MemoryStore,
    Uncacheable,
)

__all__ = [
    "CacheEntry",
    "CacheKeyError",
    "CacheManager",
    "CacheStore",
    "LocalDirectoryStore",
    "MemoryStore",
    "Uncacheable",
]
