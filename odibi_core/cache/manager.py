"""CacheManager: content-addressed results of pipeline steps, kept in a :class:`CacheStore`.

pandas DataFrames are stored as Parquet and JSON-safe values as JSON; nothing is pickled, and
anything else is simply not cached. A cache problem never fails a run: it is logged and the
step runs as if the cache were empty.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ..errors import OdibiError
from .keys import fingerprint_code, fingerprint_source, make_cache_key, validate_key
from .store import CacheEntry, CacheStore, LocalDirectoryStore

__all__ = ["CacheDecodeError", "CacheManager", "CachedValue", "default_cache_dir"]

log = logging.getLogger(__name__)

_ENCODE_ERRORS = (ValueError, TypeError, NotImplementedError, pa.ArrowException)


def default_cache_dir() -> Path:
    """``$ODIBI_CACHE_DIR``, else ``$XDG_CACHE_HOME/odibi``, else ``~/.cache/odibi``."""
    if os.environ.get("ODIBI_CACHE_DIR"):
        return Path(os.environ["ODIBI_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "odibi"
    return Path.home() / ".cache" / "odibi"


def _json_safe(value: Any) -> bool:
    """Whether ``value`` comes back from JSON equal and of the same types."""
    if value is None or type(value) in (str, int, bool):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is dict:
        return all(type(k) is str and _json_safe(v) for k, v in value.items())
    if type(value) is list:
        return all(_json_safe(v) for v in value)
    return False


def _encode(value: Any) -> tuple[str, bytes] | str:
    """(kind, payload) for a value the cache can hold, else why it cannot."""
    if value is None:
        return "None cannot be told apart from a miss"
    if isinstance(value, pd.DataFrame):
        buffer = io.BytesIO()
        try:
            # index=None: a default RangeIndex is kept as metadata only, any other index as columns
            value.to_parquet(buffer, engine="pyarrow", index=None)
        except _ENCODE_ERRORS as exc:
            return f"Parquet cannot hold this DataFrame ({type(exc).__name__}: {exc})"
        return "parquet", buffer.getvalue()
    if _json_safe(value):
        return "json", json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if kind.startswith("pyspark."):
        return f"a Spark DataFrame ({kind}) is not collected to the driver to be cached"
    return (f"a {kind} is neither a pandas DataFrame nor plain JSON data "
            "(dict with str keys, list, str, int, finite float, bool, None)")


class CacheDecodeError(OdibiError, ValueError):
    """A cache entry passed its checksum but cannot be decoded."""


def _decode(entry: CacheEntry) -> Any:
    try:
        if entry.kind == "parquet":
            # one thread: a threaded read can abort a short-lived process at exit
            # (pyarrow's thread pool teardown, apache/arrow#34314); cached frames are small
            return pd.read_parquet(io.BytesIO(entry.payload), engine="pyarrow", use_threads=False)
        return json.loads(entry.payload)
    except (*_ENCODE_ERRORS, OSError, UnicodeDecodeError) as exc:
        raise CacheDecodeError(f"cache entry {entry.key} cannot be decoded ({exc})") from exc


class CachedValue:
    """A cache hit whose payload is read and checked but decoded only on :meth:`load`.

    Decoding a large Parquet payload costs about as much as reading the source again; a run
    whose steps are all cached needs only the frames a running step (or a reader) asks for."""

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry
        self.metadata: Mapping[str, Any] = entry.metadata

    def load(self) -> Any:
        """The stored value (DataFrames as pandas); raises CacheDecodeError if undecodable."""
        return _decode(self.entry)


class CacheManager:
    """Stores step results under content-addressed keys; counts hits and misses.

    Args:
        enabled: when False, :meth:`get` always misses and :meth:`put` stores nothing.
        cache_dir: folder for the default :class:`LocalDirectoryStore`
            (default :func:`default_cache_dir`).
        store: where entries live (any :class:`CacheStore`: a folder, memory, or a bucket via
            :class:`~odibi_core.cache.fsspec_store.FsspecStore`); overrides ``cache_dir``.

    Example::

        cache = CacheManager(store=MemoryStore())
        key = cache.compute_cache_key("clean", {"limit": 5}, {"raw": fingerprint}, "SELECT ...")
        if (frame := cache.get(key)) is None:
            frame = run_step()
            cache.put(key, frame, step_name="clean")
    """

    fingerprint_source = staticmethod(fingerprint_source)
    fingerprint_code = staticmethod(fingerprint_code)

    def __init__(self, enabled: bool = True, cache_dir: str | os.PathLike[str] | None = None, *,
                 store: CacheStore | None = None) -> None:
        self.enabled = enabled
        if store is None:
            self.cache_dir: Path | None = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            store = LocalDirectoryStore(self.cache_dir)
        else:
            # only a folder on this machine is a cache_dir; other stores say where they are in repr
            self.cache_dir = store.root if isinstance(store, LocalDirectoryStore) else None
        self.store = store
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        log.debug("cache %s in %r", "enabled" if enabled else "disabled", store)

    def __repr__(self) -> str:
        return f"CacheManager(enabled={self.enabled}, store={self.store!r})"

    @staticmethod
    def compute_cache_key(step_name: str, params: Any, input_fingerprint: Any, value: Any, *,
                          step_type: str = "", engine: str = "",
                          code_fingerprint: str | None = None) -> str:
        """sha256 hex of the format version, step name, type, params, value, engine, code
        fingerprint and input fingerprints (a str, a mapping name -> fingerprint, or a list).

        Raises :class:`Uncacheable` when a part is not plain JSON or a fingerprint is None;
        when :meth:`fingerprint_code` returned None, do not pass None here: skip the cache."""
        return make_cache_key(step_name, params, input_fingerprint, value, step_type=step_type,
                              engine=engine, code_fingerprint=code_fingerprint)

    def lookup(self, key: str, engine: str = "pandas") -> CachedValue | None:
        """The entry put under ``key`` for ``engine``, read and checked but not decoded yet
        (:meth:`CachedValue.load` decodes it), or None on a miss. Counts a hit or a miss."""
        if not self.enabled:
            return None
        validate_key(key)
        entry = self.store.read(key)
        if entry is not None and entry.metadata.get("engine") != engine:
            log.debug("cache entry %s was put for engine %r, not %r: a miss",
                      key, entry.metadata.get("engine"), engine)
            entry = None
        with self._lock:
            if entry is None:
                self._misses += 1
            else:
                self._hits += 1
        if entry is None:
            return None
        log.debug("cache hit %s", key)
        return CachedValue(entry)

    def get(self, key: str, engine: str = "pandas") -> Any | None:
        """The value put under ``key`` for ``engine`` (DataFrames as pandas), or None on a miss."""
        hit = self.lookup(key, engine)
        if hit is None:
            return None
        try:
            return hit.load()
        except CacheDecodeError as exc:
            log.warning("%s; treated as a miss", exc)
            with self._lock:
                self._hits -= 1
                self._misses += 1
            return None

    def put(self, key: str, value: Any, engine: str = "pandas", *, step_name: str | None = None,
            metadata: Mapping[str, Any] | None = None) -> bool:
        """Store ``value`` under ``key``; whether it was stored. Unsupported values (and a bare
        None, which :meth:`get` could not tell from a miss) and write errors are logged, not raised.
        ``metadata`` (plain JSON data) is kept with the entry and comes back in
        :attr:`CachedValue.metadata`."""
        if not self.enabled:
            return False
        validate_key(key)
        encoded = _encode(value)
        if isinstance(encoded, str):
            log.info("not caching %s%s: %s", key[:12], f" (step '{step_name}')" if step_name else "",
                     encoded)
            return False
        kind, payload = encoded
        meta: dict[str, Any] = {**(metadata or {}), "step_name": step_name, "engine": engine}
        if isinstance(value, pd.DataFrame):
            meta.update(rows=len(value), columns=[str(c) for c in value.columns])
        try:
            self.store.write(CacheEntry(key, kind, payload, meta))
        except OSError as exc:
            log.warning("cannot write cache entry %s to %r (%s); the step is not cached",
                        key, self.store, exc)
            return False
        log.debug("cached %s (%s, %d bytes)", key, kind, len(payload))
        return True

    def invalidate(self, step_name: str) -> int:
        """Remove every entry put for ``step_name``; how many were removed."""
        removed = sum(self.store.delete(info.key) for info in self.store.entries()
                      if info.step_name == step_name)
        log.info("invalidated %d cache entries of step '%s'", removed, step_name)
        return removed

    def clear_all(self) -> int:
        """Remove every entry; how many were removed."""
        removed = self.store.clear()
        log.info("cleared %d cache entries from %r", removed, self.store)
        return removed

    def get_stats(self) -> dict[str, Any]:
        """Hits, misses, hit rate, stored entries and bytes (with the seed's names too)."""
        try:
            infos = self.store.entries()
        except OSError as exc:
            log.warning("cannot list cache entries in %r (%s); counted as none", self.store, exc)
            infos = []
        with self._lock:
            hits, misses = self._hits, self._misses
        total = hits + misses
        return {
            "enabled": self.enabled,
            "hits": hits,
            "misses": misses,
            "hit_rate": hits / total if total else 0.0,
            "entries": len(infos),
            "bytes": sum(info.bytes for info in infos),
            "entry_count": len(infos),
            "total_hits": hits,
            "total_misses": misses,
        }

