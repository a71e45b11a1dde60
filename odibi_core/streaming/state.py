"""A source's persisted state: ``<checkpoint_dir>/<name>.stream.json``.

It holds only what was committed: the seen-set of files (path -> size, mtime_ns), per-file
failure counts, the quarantine list, and the watermark with its boundary multiset (row key ->
rows delivered at exactly the watermark). It is written atomically (temp file, fsync,
rename) and carries a format version; failure counts and quarantines are written when they
happen, delivery positions only at commit. The seed's separate watermark file is folded in.

Watermark values carry a type tag so they round-trip: ``{"type": "int"|"float"|"str"|
"timestamp"|"date"|"bool", "value": ...}`` (timestamps as ISO text, nanoseconds kept).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import write_json_atomic
from .errors import StreamError

__all__ = ["STATE_FORMAT", "STATE_VERSION", "SourceState", "decode_watermark", "encode_watermark",
           "state_path"]

log = logging.getLogger(__name__)

STATE_FORMAT = "odibi-stream-state"
STATE_VERSION = 1


def state_path(checkpoint_dir: str | Path, name: str) -> Path:
    return Path(checkpoint_dir) / f"{name}.stream.json"


def encode_watermark(value: Any) -> dict[str, Any] | None:
    """A watermark as tagged JSON data (None stays None)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "str", "value": value}
    if isinstance(value, datetime | np.datetime64):
        return {"type": "timestamp", "value": pd.Timestamp(value).isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    raise StreamError(f"cannot keep a watermark of type {type(value).__name__} ({value!r});"
                      f" use an int, float, string, date or timestamp column")


def decode_watermark(record: dict[str, Any] | None) -> Any:
    """The value :func:`encode_watermark` described (timestamps as ``pandas.Timestamp``)."""
    if record is None:
        return None
    kind, value = record.get("type"), record.get("value")
    if kind == "timestamp":
        return pd.Timestamp(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind in ("int", "float", "str", "bool"):
        return {"int": int, "float": float, "str": str, "bool": bool}[kind](value)
    raise StreamError(f"unknown watermark type {kind!r} in {record!r}")


@dataclass
class SourceState:
    """The committed state of one source (what survives a restart)."""

    name: str
    mode: str
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantined: dict[str, dict[str, Any]] = field(default_factory=dict)
    watermark: dict[str, Any] | None = None
    boundary: dict[str, int] = field(default_factory=dict)
    position: dict[str, Any] = field(default_factory=dict)
    last_commit: str | None = None
    commits: int = 0
    source_path: str = ""

    def is_seen(self, path: str, size: int, mtime_ns: int) -> bool:
        return self.seen.get(path) == (size, mtime_ns)

    def to_dict(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "format_version": STATE_VERSION, "source": self.name,
                "mode": self.mode, "seen": {p: list(v) for p, v in self.seen.items()},
                "failures": self.failures, "quarantined": self.quarantined,
                "watermark": self.watermark, "boundary": self.boundary,
                "position": self.position, "last_commit": self.last_commit,
                "commits": self.commits, "source_path": self.source_path}

    def save(self, checkpoint_dir: str | Path) -> Path:
        return write_json_atomic(state_path(checkpoint_dir, self.name), self.to_dict(), indent=None)

    @classmethod
    def load(cls, checkpoint_dir: str | Path, name: str, mode: str,
             source_path: str = "") -> SourceState:
        """The persisted state, or a fresh one when there is no file. StreamError naming the
        file for a damaged file, another format version, another mode or another source path
        (two streams sharing one name in one checkpoint_dir would overwrite each other's state)."""
        path = state_path(checkpoint_dir, name)
        source_path = os.path.abspath(source_path) if source_path else ""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(name=name, mode=mode, source_path=source_path)
        except (OSError, ValueError) as exc:
            raise StreamError(f"stream state {str(path)!r} of source {name!r} cannot be read:"
                              f" {exc}; fix or delete it (deleting re-reads everything)") from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StreamError(f"{str(path)!r} is not a stream state file (expected format"
                              f" {STATE_FORMAT!r})")
        if data.get("format_version") != STATE_VERSION:
            raise StreamError(f"stream state {str(path)!r} has format_version"
                              f" {data.get('format_version')!r}; expected {STATE_VERSION}")
        if data.get("mode") != mode:
            raise StreamError(f"stream state {str(path)!r} belongs to a {data.get('mode')!r} source;"
                              f" source {name!r} is {mode!r}: use another name or checkpoint_dir")
        saved_path = data.get("source_path") or ""
        if source_path and saved_path and saved_path != source_path:
            raise StreamError(f"stream state {str(path)!r} belongs to a source reading {saved_path!r};"
                              f" source {name!r} reads {source_path!r}: give each stream its own"
                              f" name (from_source(..., name=...)) or checkpoint_dir")
        try:
            return cls(name=name, mode=mode,
                       seen={str(p): (int(v[0]), int(v[1])) for p, v in data["seen"].items()},
                       failures=dict(data["failures"]), quarantined=dict(data["quarantined"]),
                       watermark=data["watermark"], boundary={str(k): int(v) for k, v in
                                                              data["boundary"].items()},
                       position=dict(data.get("position") or {}),
                       last_commit=data.get("last_commit"), commits=int(data.get("commits", 0)),
                       source_path=source_path or saved_path)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise StreamError(f"stream state {str(path)!r} of source {name!r} is malformed:"
                              f" {exc!r}") from exc
