"""The offsets log and the commits log of a continuous run (as Spark Structured Streaming keeps).

Before a batch is processed, its source positions are written to ``offsets/<batch_id>.json``;
after the sink has written the batch, ``commits/<batch_id>.json`` records that it is done. On a
restart the newest offsets entry tells what to do:

- it has a commit: the batch is finished; the sources' positions are rolled forward to its end
  (in case the process died between the commit record and the source commit);
- it has no commit: the batch is replayed with the same id from the logged positions, and the
  sink, keyed by batch id, overwrites whatever part of it was already written.

Both logs are written atomically (temp file, fsync, rename), so an entry is whole or absent.
Old entries are purged, keeping the newest ``keep`` batches.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from ..clock import utc_stamp
from ..errors import OdibiError

__all__ = ["BatchLog", "BatchLogError", "LoggedBatch"]


class BatchLogError(OdibiError):
    """An offsets or commits entry cannot be read."""


@dataclass(frozen=True)
class LoggedBatch:
    """One offsets entry: the batch id, each source's ``{"start": ..., "end": ...}`` position,
    and whether its commit is recorded."""

    batch_id: int
    sources: dict[str, dict[str, Any]]
    committed: bool
    iteration: int = 0


class BatchLog:
    """The two logs of one continuous run, under ``folder``."""

    def __init__(self, folder: str | os.PathLike[str], *, keep: int = 100) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.folder = Path(folder)
        self.offsets_dir = self.folder / "offsets"
        self.commits_dir = self.folder / "commits"
        self.keep = keep
        self.offsets_dir.mkdir(parents=True, exist_ok=True)
        self.commits_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _ids(folder: Path) -> list[int]:
        ids = []
        for entry in os.scandir(folder):
            stem, dot, suffix = entry.name.partition(".")
            if dot and suffix == "json" and stem.isdigit():
                ids.append(int(stem))
        return sorted(ids)

    def _path(self, folder: Path, batch_id: int) -> Path:
        return folder / f"{batch_id:010d}.json"

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BatchLogError(f"{path}: cannot read this log entry ({exc}); it was written"
                                " atomically, so the file was changed or damaged outside odibi") from exc
        if not isinstance(data, dict) or not isinstance(data.get("batch_id"), int):
            raise BatchLogError(f"{path}: expected a JSON object with an integer 'batch_id'")
        return data

    def latest(self) -> LoggedBatch | None:
        """The newest offsets entry (None for a new run)."""
        ids = self._ids(self.offsets_dir)
        if not ids:
            return None
        data = self._read(self._path(self.offsets_dir, ids[-1]))
        return LoggedBatch(
            batch_id=data["batch_id"],
            sources=data.get("sources", {}),
            committed=self.is_committed(data["batch_id"]),
            iteration=int(data.get("iteration", 0)),
        )

    def is_committed(self, batch_id: int) -> bool:
        return self._path(self.commits_dir, batch_id).exists()

    def write_offsets(self, batch_id: int, sources: dict[str, dict[str, Any]], *,
                      iteration: int = 0) -> Path:
        """Record where batch ``batch_id`` starts and ends in each source, before processing."""
        return write_json_atomic(self._path(self.offsets_dir, batch_id), {
            "batch_id": batch_id, "iteration": iteration, "sources": sources,
            "logged_at": utc_stamp(),
        })

    def write_commit(self, batch_id: int, **details: Any) -> Path:
        """Record that batch ``batch_id`` is in the sink; then purge entries beyond ``keep``."""
        path = write_json_atomic(self._path(self.commits_dir, batch_id), {
            "batch_id": batch_id,
            "committed_at": utc_stamp(),
            **details,
        })
        self._purge()
        return path

    def committed_ids(self) -> list[int]:
        return self._ids(self.commits_dir)

    def _purge(self) -> None:
        for folder in (self.offsets_dir, self.commits_dir):
            ids = self._ids(folder)
            for batch_id in ids[: max(0, len(ids) - self.keep)]:
                self._path(folder, batch_id).unlink(missing_ok=True)
