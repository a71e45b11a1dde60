"""Cache keys: canonical JSON, key hashing and fingerprints of sources and code.

A key is the sha256 of one canonical JSON document holding everything a step's result depends
on. A part that cannot be written as canonical JSON (or a missing fingerprint) makes the step
:class:`Uncacheable`: a key is never hashed from part of what it should cover.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import OdibiError
from ..filenames import is_ignored

__all__ = [
    "CACHE_FORMAT_VERSION",
    "CONTENT_HASH_LIMIT",
    "CacheKeyError",
    "Uncacheable",
    "canonical",
    "canonical_json",
    "fingerprint_code",
    "fingerprint_source",
    "hash_canonical",
    "make_cache_key",
    "validate_key",
]

log = logging.getLogger(__name__)

#: part of every key: changing how results are stored or keys are built retires old entries
CACHE_FORMAT_VERSION = 1
#: files up to this size also get their content hashed (size + mtime alone miss a same-size
#: rewrite within one timestamp tick)
CONTENT_HASH_LIMIT = 8 * 1024 * 1024

_KEY = re.compile(r"[0-9a-f]{1,128}")
_PLAIN = (str, int, bool, type(None))


class Uncacheable(OdibiError):
    """A step's result cannot be cached: part of its key cannot be made canonical.

    Callers skip the cache for that step (and say why); ``part`` names what failed
    (``params.options[2]``, ``input_fingerprint['orders']``...)."""

    def __init__(self, part: str, reason: str) -> None:
        self.part = part
        self.reason = reason
        super().__init__(f"not cacheable: {part}: {reason}")


class CacheKeyError(OdibiError, ValueError):
    """A cache key that is not lowercase hex (1 to 128 digits); keeps paths inside the store."""

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"invalid cache key {key!r}: expected 1 to 128 lowercase hex digits")


def validate_key(key: object) -> str:
    """``key`` itself when it is lowercase hex, else :class:`CacheKeyError`."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise CacheKeyError(key)
    return key


def canonical(value: Any, part: str = "value") -> Any:
    """``value`` as plain JSON data (dicts with str keys, lists, str, int, finite float, bool,
    None); tuples become lists. Anything else raises :class:`Uncacheable` naming ``part``."""
    if type(value) in _PLAIN:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise Uncacheable(part, f"{value!r} is not a finite number")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise Uncacheable(part, f"mapping key {name!r} is not a string")
            out[name] = canonical(item, f"{part}.{name}")
        return out
    if isinstance(value, list | tuple):
        return [canonical(item, f"{part}[{i}]") for i, item in enumerate(value)]
    raise Uncacheable(part, f"a {type(value).__qualname__} cannot be written as canonical JSON")


def canonical_json(value: Any, part: str = "value") -> str:
    """One spelling per value: sorted keys, no spaces, ASCII escapes."""
    return json.dumps(canonical(value, part), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, allow_nan=False)


def hash_canonical(value: Any, part: str = "value") -> str:
    """sha256 hex of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value, part).encode("ascii")).hexdigest()


def _fingerprint(value: Any, part: str) -> str:
    if value is None:
        raise Uncacheable(part, "no fingerprint (None): the data cannot be identified")
    if not isinstance(value, str) or not value:
        raise Uncacheable(part, f"a fingerprint must be a non-empty string, got {value!r}")
    return value


def _inputs(value: Any) -> str | dict[str, str] | list[str]:
    part = "input_fingerprint"
    if isinstance(value, str) or value is None:
        return _fingerprint(value, part)
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise Uncacheable(part, f"input name {name!r} is not a string")
            out[name] = _fingerprint(item, f"{part}[{name!r}]")
        return out
    if isinstance(value, Sequence):
        return [_fingerprint(item, f"{part}[{i}]") for i, item in enumerate(value)]
    raise Uncacheable(part, f"expected a str, a mapping or a list, got a {type(value).__qualname__}")


def make_cache_key(step_name: str, params: Any, input_fingerprint: Any, value: Any, *,
                   step_type: str = "", engine: str = "", code_fingerprint: str | None = None) -> str:
    """sha256 hex over every part a step's result depends on, as one canonical JSON document.

    ``input_fingerprint`` is one fingerprint, a mapping logical name -> fingerprint (order does
    not count) or a list (order counts); ``code_fingerprint`` None means no function is
    involved. Raises :class:`Uncacheable` when any part cannot be made canonical."""
    document = {
        "format": CACHE_FORMAT_VERSION,
        "step": canonical(step_name, "step_name"),
        "type": canonical(step_type, "step_type"),
        "engine": canonical(engine, "engine"),
        "params": canonical(params, "params"),
        "value": canonical(value, "value"),
        "inputs": _inputs(input_fingerprint),
        "code": None if code_fingerprint is None else _fingerprint(code_fingerprint, "code_fingerprint"),
    }
    return hash_canonical(document, "key")


def _file_facts(path: Path, stat: os.stat_result) -> list[Any]:
    facts: list[Any] = [stat.st_size, stat.st_mtime_ns]
    if stat.st_size <= CONTENT_HASH_LIMIT:
        facts.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return facts


def fingerprint_source(path: str | os.PathLike[str]) -> str | None:
    """Identity and version of an external source: resolved path, size, mtime_ns (and content
    hash up to :data:`CONTENT_HASH_LIMIT`) of a file, or of every file under a folder (sorted,
    hidden/temp names skipped). None when it does not exist or cannot be read."""
    try:
        root = Path(path).resolve()
        stat = root.stat()
        if not root.is_dir():
            return hash_canonical(["file", str(root), *_file_facts(root, stat)])
        files: list[list[Any]] = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not is_ignored(d))
            for name in sorted(n for n in names if not is_ignored(n)):
                file = Path(folder, name)
                try:
                    files.append([file.relative_to(root).as_posix(), *_file_facts(file, file.stat())])
                except FileNotFoundError:  # removed while we walked: not part of the source now
                    continue
        files.sort()
        return hash_canonical(["dir", str(root), files])
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.info("cannot fingerprint source %s (%s); it will not be cached", path, exc)
        return None


def fingerprint_code(fn: Callable[..., Any]) -> str | None:
    """sha256 of a function's qualified name and source; None when the source is unavailable
    (builtins, lambdas typed at a prompt, partials). Helpers it calls are not covered."""
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError) as exc:
        log.info("no source for %s (%s); it will not be cached", name, exc)
        return None
    return hash_canonical(["code", name, source])
