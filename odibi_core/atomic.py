"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

Temp file in the target's folder, fill, flush, fsync, ``os.replace``, fsync the folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "fsync_dir", "write_json_atomic"]


def atomic_write(path: str | os.PathLike[str], fill: Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` through ``fill(handle)`` atomically; keeps an existing file's mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_of(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def _mode_of(path: Path) -> int:
    """The existing file's permission bits, else 0o644; another process may remove or replace
    the file at any moment, so its absence is not an error."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o644


def write_json_atomic(path: str | os.PathLike[str], data: Any, *, indent: int = 2) -> Path:
    """``data`` as JSON (values JSON cannot hold written with ``str``), atomically."""
    text = json.dumps(data, indent=indent, default=str).encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(text))


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
