"""A cache store on any fsspec filesystem: object stores (S3, Azure Blob, GCS), memory, local.

The layout is the one :class:`~odibi_core.cache.store.LocalDirectoryStore` uses: a payload
object ``<key>.<kind>`` and a metadata object ``<key>.meta.json`` under one folder or prefix.

What a reader can rely on, and why:

* An object store writes one object with one PUT, and a PUT is atomic: a reader gets the old
  object, the new one or none, never a part. (On a local disk the same holds because each
  file is written to a temp file and renamed; see :func:`odibi_core.atomic.atomic_write`.)
* An entry is two objects, and two PUTs are not atomic together. So a write removes the old
  metadata first, PUTs the payload, then PUTs the metadata last: the metadata object is the
  commit point. A payload without metadata (a writer that died) is not an entry.
* Every read checks the payload against the size and sha256 sealed in the metadata. A reader
  that races a writer and gets an old metadata with a new payload notices the mismatch, sees
  that the metadata changed and reads again; a mismatch with stable metadata is damage, and
  reads as a miss with a warning. Never wrong data.
* Writers in one process are serialized per folder. Writers on other machines are not (object
  stores have no cross-object locks): two of them racing on one key can leave an entry whose
  checksum fails, which reads as a miss until the next write repairs it. Keys are content
  addressed, so racing writers of one key normally write the same bytes anyway.
"""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write
from .keys import validate_key
from .store import (
    _META_SUFFIX,
    KINDS,
    CacheEntry,
    CacheEntryInfo,
    CacheStore,
    _is_entry_file,
    _is_key,
    _payload_problem,
    _root_lock,
    _seal,
    list_entries,
    parse_meta,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["FsspecStore"]

log = logging.getLogger(__name__)

#: how often a read starts over when the entry changes under it before it counts as a miss
_READ_ATTEMPTS = 3
_CHANGED = object()


class FsspecStore(CacheStore):
    """Entries as objects under a folder or prefix of any fsspec filesystem.

    Args:
        url_or_fs: a URL such as ``"memory://cache"``, ``"file:///tmp/cache"``,
            ``"s3://bucket/prefix"``, ``"az://container/prefix"``, ``"gs://bucket/prefix"``;
            or an ``fsspec.AbstractFileSystem`` instance, with ``root``.
        root: the folder inside ``url_or_fs`` when it is a filesystem instance (required then;
            with a URL the folder is part of the URL).
        **storage_options: passed to the filesystem a URL names (credentials, endpoints);
            never shown in ``repr`` or logs.

    Only objects named like entries are ever touched, so the prefix may hold other things.

    Example::

        store = FsspecStore("s3://team-bucket/odibi-cache", anon=False)
        cache = CacheManager(store=store)
    """

    def __init__(self, url_or_fs: str | AbstractFileSystem, root: str | None = None,
                 **storage_options: Any) -> None:
        import fsspec
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(url_or_fs, str):
            if root is not None:
                raise ValueError(f"FsspecStore({url_or_fs!r}, root={root!r}): the URL already "
                                 "names the folder; pass root only with a filesystem instance")
            fs, path = fsspec.core.url_to_fs(url_or_fs, **storage_options)
        elif isinstance(url_or_fs, fsspec.AbstractFileSystem):
            if root is None:
                raise ValueError("FsspecStore(filesystem) needs root=, the folder to keep entries in")
            if storage_options:
                raise TypeError("storage options configure a filesystem made from a URL; "
                                f"the filesystem passed is already made (got {sorted(storage_options)})")
            fs, path = url_or_fs, url_or_fs._strip_protocol(root)
        else:
            raise TypeError("FsspecStore needs a URL or an fsspec AbstractFileSystem, "
                            f"got {type(url_or_fs).__qualname__}")
        self.fs: AbstractFileSystem = fs
        #: the folder in ``fs``, without protocol
        self.root: str = path.rstrip("/") or path
        #: the folder as a URL, for messages (no credentials)
        self.url: str = fs.unstrip_protocol(self.root)
        self._local = isinstance(fs, LocalFileSystem)
        token = getattr(fs, "_fs_token", None) or id(fs)
        self._lock = _root_lock(("fsspec", type(fs).__qualname__, token, self.root))

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r})"

    # -- paths and single-object operations ---------------------------------------------------

    def _meta_path(self, key: str) -> str:
        return posixpath.join(self.root, f"{key}{_META_SUFFIX}")

    def _payload_path(self, key: str, kind: str) -> str:
        return posixpath.join(self.root, f"{key}.{kind}")

    def _cat(self, path: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            return bytes(self.fs.cat_file(path))
        except FileNotFoundError:
            return None

    def _put(self, path: str, data: bytes) -> None:
        """Write one object so that readers see all of it or none of it."""
        if self._local:
            # fsspec's local files are written in place (or moved from the system temp
            # folder, a copy across disks); a temp file beside the target plus rename is atomic
            atomic_write(path, lambda handle: handle.write(data))
        else:
            self.fs.pipe_file(path, data)  # one PUT: atomic on object stores and in memory

    def _remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def _names(self) -> list[str]:
        """Names of the objects directly in the folder (call with the lock held)."""
        self.fs.invalidate_cache(self.root)  # other machines may have written since
        try:
            paths = self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return []
        return [posixpath.basename(str(p).rstrip("/")) for p in paths]

    def _scan(self) -> list[str]:
        """Committed keys (those with a metadata object), sorted."""
        committed = set()
        for name in self._names():
            key, dot, rest = name.partition(".")
            if dot and rest == _META_SUFFIX[1:] and _is_key(key):
                committed.add(key)
        return sorted(committed)

    # -- the CacheStore interface -------------------------------------------------------------

    def read(self, key: str) -> CacheEntry | None:
        validate_key(key)
        for _ in range(_READ_ATTEMPTS):
            got = self._read_once(key)
            if got is not _CHANGED:
                return got  # type: ignore[return-value]
        log.debug("cache entry %s in %s kept changing while read; treated as a miss", key, self.url)
        return None

    def _read_once(self, key: str) -> CacheEntry | object | None:
        """The entry, None, or ``_CHANGED`` when a writer replaced it while it was read."""
        try:
            raw = self._cat(self._meta_path(key))
        except OSError as exc:
            log.warning("cannot read cache metadata for %s in %s (%s); treated as a miss",
                        key, self.url, exc)
            return None
        if raw is None:
            return None
        meta, problem = parse_meta(key, raw)
        if meta is not None:
            try:
                payload = self._cat(self._payload_path(key, meta["kind"]))
            except OSError as exc:
                payload, problem = None, f"payload unreadable: {exc}"
            if payload is None:
                problem = problem or "payload unreadable: no payload object"
            else:
                problem = _payload_problem(meta, payload)
        if meta is not None and problem is None:
            return CacheEntry(key, meta["kind"], payload, meta)  # type: ignore[arg-type]
        if self._changed(key, raw):
            return _CHANGED
        log.warning("cache entry %s in %s is damaged (%s); treated as a miss", key, self.url, problem)
        return None

    def _changed(self, key: str, raw: bytes) -> bool:
        """Whether the metadata is no longer ``raw`` (a writer got there between two reads)."""
        try:
            return self._cat(self._meta_path(key)) != raw
        except OSError:
            return False

    def write(self, entry: CacheEntry) -> None:
        meta = json.dumps(_seal(entry), indent=2, sort_keys=True).encode("utf-8")
        with self._lock:
            # uncommit first: while the payload changes, readers see no entry at all
            self._remove(self._meta_path(entry.key))
            self._put(self._payload_path(entry.key, entry.kind), entry.payload)
            for kind in KINDS:
                if kind != entry.kind:
                    self._remove(self._payload_path(entry.key, kind))
            self._put(self._meta_path(entry.key), meta)  # the commit point

    def delete(self, key: str) -> bool:
        validate_key(key)
        with self._lock:
            existed = self.fs.exists(self._meta_path(key))
            self._remove(self._meta_path(key))
            for kind in KINDS:  # and any payload a dead writer left
                self._remove(self._payload_path(key, kind))
        return bool(existed)

    def keys(self) -> list[str]:
        # payloads without metadata are left alone here: on a shared object store one may
        # belong to a writer on another machine that is about to commit it
        with self._lock:
            return self._scan()

    def entries(self) -> list[CacheEntryInfo]:
        return list_entries(self.keys(), lambda key: self._cat(self._meta_path(key)), self.url)

    def clear(self) -> int:
        with self._lock:
            committed = self._scan()
            for key in committed:  # uncommit everything first, then sweep the payloads
                self._remove(self._meta_path(key))
            for name in self._names():
                if _is_entry_file(name):
                    self._remove(posixpath.join(self.root, name))
        return len(committed)
