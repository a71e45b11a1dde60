"""Content-addressed cache of step results: keys, stores (folder, memory, fsspec/cloud) and
the CacheManager (CloudCacheManager for a bucket or container)."""

from __future__ import annotations

from .cloud import CloudCacheManager
from .fsspec_store import FsspecStore
from .keys import (
    CACHE_FORMAT_VERSION,
    CacheKeyError,
    Uncacheable,
    canonical_json,
    fingerprint_code,
    fingerprint_source,
    make_cache_key,
)
from .manager import CacheDecodeError, CachedValue, CacheManager, default_cache_dir
from .store import CacheEntry, CacheEntryInfo, CacheStore, LocalDirectoryStore, MemoryStore

__all__ = [
    "CACHE_FORMAT_VERSION",
    "CacheDecodeError",
    "CacheEntry",
    "CacheEntryInfo",
    "CacheKeyError",
    "CacheManager",
    "CacheStore",
    "CachedValue",
    "CloudCacheManager",
    "FsspecStore",
    "LocalDirectoryStore",
    "MemoryStore",
    "Uncacheable",
    "canonical_json",
    "default_cache_dir",
    "fingerprint_code",
    "fingerprint_source",
    "make_cache_key",
]
