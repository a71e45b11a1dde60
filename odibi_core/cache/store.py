"""Where cache entries live: a tiny store interface, a folder on disk and a dict in memory.

Stores move bytes and metadata; they know nothing about DataFrames or keys' meaning. Every
store checks an entry's payload against the sha256 recorded at write time, so a damaged entry
reads as None (with a warning), never as garbage.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..clock import utc_stamp
from .keys import validate_key

__all__ = ["KINDS", "ORPHAN_AGE", "CacheEntry", "CacheEntryInfo", "CacheStore", "LocalDirectoryStore", "MemoryStore"]

log = logging.getLogger(__name__)

KINDS = ("parquet", "json")
#: layout version of stored metadata; entries of another version read as misses
STORE_FORMAT = 1
_META_SUFFIX = ".meta.json"
#: seconds an uncommitted payload or temp file is left alone: it may be a write in progress
#: in another process (filling and fsyncing a large payload can take a while)
ORPHAN_AGE = 300.0


@dataclass(frozen=True)
class CacheEntry:
    """One cached result: its key, how the payload is encoded, the bytes and their metadata."""

    key: str
    kind: str
    payload: bytes
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_key(self.key)
        if self.kind not in KINDS:
            raise ValueError(f"cache entry kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.payload, bytes):
            raise TypeError(f"cache entry payload must be bytes, got {type(self.payload).__qualname__}")


@dataclass(frozen=True)
class CacheEntryInfo:
    """What a listing says about an entry without reading its payload."""

    key: str
    step_name: str | None
    kind: str
    bytes: int
    created_at: str


def _now() -> str:
    return utc_stamp("microseconds")


def _seal(entry: CacheEntry) -> dict[str, Any]:
    """The metadata a store keeps: the caller's (as JSON data) plus format, size and checksum."""
    meta = json.loads(json.dumps(dict(entry.metadata), default=str))
    meta.setdefault("created_at", _now())
    meta.update(format=STORE_FORMAT, key=entry.key, kind=entry.kind, bytes=len(entry.payload),
                sha256=hashlib.sha256(entry.payload).hexdigest())
    return meta


def _problem(key: str, meta: Any) -> str | None:
    """Why ``meta`` is not valid metadata for ``key``, or None when it is."""
    if not isinstance(meta, dict):
        return f"metadata is a {type(meta).__qualname__}, not an object"
    if meta.get("format") != STORE_FORMAT:
        return f"metadata format {meta.get('format')!r}, expected {STORE_FORMAT}"
    if meta.get("key") != key:
        return f"metadata names key {meta.get('key')!r}"
    if meta.get("kind") not in KINDS:
        return f"unknown kind {meta.get('kind')!r}"
    if not isinstance(meta.get("bytes"), int) or not isinstance(meta.get("sha256"), str):
        return "metadata lacks size or checksum"
    return None


def _payload_problem(meta: Mapping[str, Any], payload: bytes) -> str | None:
    """Why ``payload`` is not the one valid ``meta`` was sealed for, or None when it is."""
    if len(payload) != meta["bytes"] or hashlib.sha256(payload).hexdigest() != meta["sha256"]:
        return f"payload does not match its checksum ({len(payload)} bytes, expected {meta['bytes']})"
    return None


def _open(key: str, meta: Any, payload: bytes, where: str) -> CacheEntry | None:
    """The entry when metadata and payload agree; None with a warning otherwise."""
    problem = _problem(key, meta)
    if problem is None:
        problem = _payload_problem(meta, payload)
    if problem is not None:
        log.warning("cache entry %s in %s is damaged (%s); treated as a miss", key, where, problem)
        return None
    return CacheEntry(key, meta["kind"], payload, meta)


def _info(key: str, meta: Mapping[str, Any]) -> CacheEntryInfo:
    step = meta.get("step_name")
    return CacheEntryInfo(key, step if isinstance(step, str) else None, meta["kind"],
                          meta["bytes"], str(meta.get("created_at", "")))


def parse_meta(key: str, raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """An entry's metadata from its bytes: ``(metadata, None)``, or ``(None, what is wrong)``
    when it is not JSON or not valid metadata of ``key``."""
    try:
        meta = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"metadata is not JSON: {exc}"
    problem = _problem(key, meta)
    return (meta, None) if problem is None else (None, problem)


def list_entries(keys: list[str], read_meta: Callable[[str], bytes | None],
                 where: object) -> list[CacheEntryInfo]:
    """What ``entries()`` returns for any store: each key's metadata (``read_meta`` gives its
    bytes, None when the entry vanished since the listing), damaged entries left out with a
    warning naming the entry and ``where`` it lives."""
    infos = []
    for key in keys:
        try:
            raw = read_meta(key)
        except OSError as exc:
            log.warning("cache entry %s in %s is damaged (metadata unreadable: %s); "
                        "left out of the listing", key, where, exc)
            continue
        if raw is None:
            continue
        meta, problem = parse_meta(key, raw)
        if meta is None:
            log.warning("cache entry %s in %s is damaged (%s); left out of the listing",
                        key, where, problem)
            continue
        infos.append(_info(key, meta))
    return infos


class CacheStore(ABC):
    """Keeps cache entries by key. Implementations are thread-safe."""

    @abstractmethod
    def read(self, key: str) -> CacheEntry | None:
        """The entry for ``key``; None when absent or damaged (damage is logged, never raised)."""

    @abstractmethod
    def write(self, entry: CacheEntry) -> None:
        """Store ``entry`` atomically: a reader sees the whole entry or nothing."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``'s entry; whether there was one."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every stored key, sorted."""

    @abstractmethod
    def entries(self) -> list[CacheEntryInfo]:
        """Key, step name, kind, size and creation time of every entry, sorted by key."""

    @abstractmethod
    def clear(self) -> int:
        """Remove every entry; how many there were."""


class MemoryStore(CacheStore):
    """Entries in a lock-guarded dict; for tests and for runs that need no persistence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, bytes]] = {}

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._entries)} entries)"

    def read(self, key: str) -> CacheEntry | None:
        validate_key(key)
        with self._lock:
            stored = self._entries.get(key)
        if stored is None:
            return None
        meta, payload = stored
        return _open(key, copy.deepcopy(meta), payload, "memory")

    def write(self, entry: CacheEntry) -> None:
        sealed = (_seal(entry), entry.payload)
        with self._lock:
            self._entries[entry.key] = sealed

    def delete(self, key: str) -> bool:
        validate_key(key)
        with self._lock:
            return self._entries.pop(key, None) is not None

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def entries(self) -> list[CacheEntryInfo]:
        with self._lock:
            items = sorted(self._entries.items())
        return [_info(key, meta) for key, (meta, _) in items if _problem(key, meta) is None]

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
        return count


_ROOT_LOCKS: dict[Hashable, threading.RLock] = {}
_ROOT_LOCKS_GUARD = threading.Lock()


def _root_lock(root: Hashable) -> threading.RLock:
    """One lock per folder (or object prefix), shared by every store on it in this process."""
    with _ROOT_LOCKS_GUARD:
        return _ROOT_LOCKS.setdefault(root, threading.RLock())


class LocalDirectoryStore(CacheStore):
    """Entries as files in a folder: ``<key>.<kind>`` payload and ``<key>.meta.json`` metadata.

    A write puts the payload first and the metadata last; the metadata is the commit marker,
    so a payload without metadata is not an entry. Both files are replaced atomically. Keys
    are hex, so names never leave the folder. Only files named like entries are ever touched:
    the folder may hold other things.

    Several processes may share the folder. A payload without metadata (or a temp file) may
    be a write in progress in another process, so reads never remove anything, and listings
    and :meth:`clear` remove such files only once they are older than ``orphan_age`` seconds
    (then the writer has died). Writers in one process are serialized; writers in several
    processes are not, which is safe for one key because keys are content addressed (they
    write the same payload). A listing that removes a stale payload in the instant a rewrite
    replaces it leaves that entry reading as a miss, never as wrong data.

    Args:
        root: the folder (created on the first write).
        orphan_age: seconds before an uncommitted payload or temp file counts as abandoned.
    """

    def __init__(self, root: str | os.PathLike[str], *, orphan_age: float = ORPHAN_AGE) -> None:
        if not orphan_age >= 0:
            raise ValueError(f"orphan_age must be a number of seconds >= 0, got {orphan_age!r}")
        self.root = Path(root).expanduser().absolute()
        self.orphan_age = float(orphan_age)
        self._lock = _root_lock(self.root)

    def __repr__(self) -> str:
        return f"LocalDirectoryStore({str(self.root)!r})"

    def _meta_path(self, key: str) -> Path:
        return self.root / f"{key}{_META_SUFFIX}"

    def _payload_path(self, key: str, kind: str) -> Path:
        return self.root / f"{key}.{kind}"

    def read(self, key: str) -> CacheEntry | None:
        validate_key(key)
        with self._lock:
            try:
                text = self._meta_path(key).read_bytes()
            except FileNotFoundError:  # no entry, or one being written: nothing to tidy here
                return None
            except OSError as exc:
                log.warning("cannot read cache metadata for %s in %s (%s); treated as a miss",
                            key, self.root, exc)
                return None
            meta, problem = parse_meta(key, text)
            if meta is None:
                log.warning("cache entry %s in %s is damaged (%s); treated as a miss",
                            key, self.root, problem)
                return None
            try:
                payload = self._payload_path(key, meta["kind"]).read_bytes()
            except OSError as exc:
                log.warning("cache entry %s in %s is damaged (payload unreadable: %s); "
                            "treated as a miss", key, self.root, exc)
                return None
        return _open(key, meta, payload, str(self.root))

    def write(self, entry: CacheEntry) -> None:
        meta = json.dumps(_seal(entry), indent=2, sort_keys=True).encode("utf-8")
        with self._lock:
            # uncommit first: while the payload changes, readers see no entry at all
            self._meta_path(entry.key).unlink(missing_ok=True)
            atomic_write(self._payload_path(entry.key, entry.kind),
                         lambda handle: handle.write(entry.payload))
            for kind in KINDS:
                if kind != entry.kind:
                    self._payload_path(entry.key, kind).unlink(missing_ok=True)
            atomic_write(self._meta_path(entry.key), lambda handle: handle.write(meta))

    def delete(self, key: str) -> bool:
        validate_key(key)
        with self._lock:
            meta = self._meta_path(key)
            existed = meta.exists()
            meta.unlink(missing_ok=True)
            for kind in KINDS:  # the entry's payload, and any a dead writer left
                self._payload_path(key, kind).unlink(missing_ok=True)
        return existed

    def _remove_if_stale(self, name: str) -> None:
        """Remove the uncommitted file ``name`` once it is older than ``orphan_age``; a younger
        one may be another process's write in progress."""
        path = self.root / name
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return
        if age >= self.orphan_age:
            log.debug("removing uncommitted cache file %s (%.0f s old)", path, age)
            path.unlink(missing_ok=True)

    def _scan(self) -> tuple[list[str], list[str]]:
        """(committed keys, names of uncommitted payloads and temp files), each sorted."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return [], []
        committed, files = set(), set()
        for name in names:
            key, dot, rest = name.partition(".")
            if dot and _is_key(key) and rest == _META_SUFFIX[1:]:
                committed.add(key)
            elif _is_entry_file(name):
                files.add(name)
        uncommitted = {name for name in files
                       if name.startswith(".") or name.partition(".")[0] not in committed}
        return sorted(committed), sorted(uncommitted)

    def keys(self) -> list[str]:
        with self._lock:
            committed, uncommitted = self._scan()
            for name in uncommitted:
                self._remove_if_stale(name)
        return committed

    def entries(self) -> list[CacheEntryInfo]:
        def read(key: str) -> bytes | None:
            try:
                return self._meta_path(key).read_bytes()
            except FileNotFoundError:  # deleted since the listing
                return None

        return list_entries(self.keys(), read, self.root)

    def clear(self) -> int:
        with self._lock:
            committed, uncommitted = self._scan()
            for key in committed:  # uncommit everything first, then remove the payloads
                self._meta_path(key).unlink(missing_ok=True)
                for kind in KINDS:
                    self._payload_path(key, kind).unlink(missing_ok=True)
            for name in uncommitted:  # writes in progress elsewhere are left to finish
                self._remove_if_stale(name)
        return len(committed)


def _is_key(text: str) -> bool:
    try:
        validate_key(text)
    except ValueError:
        return False
    return True


def _is_entry_file(name: str) -> bool:
    """A payload, metadata or leftover temp file of an entry (``.<key>.<suffix>.<random>.tmp``)."""
    temp = name.startswith(".") and name.endswith(".tmp")
    key, dot, rest = (name[1:] if temp else name).partition(".")
    if not dot or not _is_key(key):
        return False
    suffixes = (*KINDS, _META_SUFFIX[1:])
    return rest.startswith(tuple(f"{s}." for s in suffixes)) if temp else rest in suffixes
