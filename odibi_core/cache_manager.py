"""``from odibi_core.cache_manager import CacheManager, CloudCacheManager``: the lessons' import path.

The code lives in :mod:`odibi_core.cache`.
"""

from __future__ import annotations

from .cache import (
    CacheEntry,
    CacheKeyError,
    CacheManager,
    CacheStore,
    CloudCacheManager,
    FsspecStore,
    LocalDirectoryStore,
    MemoryStore,
    Uncacheable,
)

__all__ = [
    "CacheEntry",
    "CacheKeyError",
    "CacheManager",
    "CacheStore",
    "CloudCacheManager",
    "FsspecStore",
    "LocalDirectoryStore",
    "MemoryStore",
    "Uncacheable",
]
