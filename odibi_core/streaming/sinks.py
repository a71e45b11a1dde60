"""Idempotent sinks for continuous runs: writing batch ``n`` twice leaves what writing it once does.

A continuous run may replay a batch after a crash (see :mod:`odibi_core.streaming.batch_log`).
A sink that *appends* would then hold the batch twice; a sink keyed by (output, batch id)
simply replaces its part with the same rows. That, with the offsets and commits logs, is what
makes the whole run exactly-once rather than at-least-once.
"""

from __future__ import annotations

import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..engine.base import EngineContext
from ..errors import ConfigError

__all__ = ["FileSink", "Sink"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Sink(ABC):
    """Where a continuous run puts each batch's outputs, keyed by batch id."""

    @abstractmethod
    def write(self, batch_id: int, frames: Mapping[str, Any], context: EngineContext) -> None:
        """Write every frame of batch ``batch_id``, replacing any earlier write of that batch."""

    @abstractmethod
    def has(self, batch_id: int) -> bool:
        """Whether every output of batch ``batch_id`` is completely written."""


class FileSink(Sink):
    """One file per (output, batch): ``<folder>/<output>/part-<batch_id>.<format>``.

    Each part is written through the engine (the pandas engine writes atomically; a Spark
    write replaces the part's folder). After all parts of a batch, a marker
    ``<folder>/_batches/<batch_id>`` says the batch is complete. ``read(output, context)``
    reads every part of one output back as one frame.
    """

    def __init__(self, folder: str | os.PathLike[str], *, format: str = "parquet") -> None:
        self.folder = Path(folder)
        self.format = format
        (self.folder / "_batches").mkdir(parents=True, exist_ok=True)

    def part(self, output: str, batch_id: int) -> Path:
        if not _NAME.match(output):
            raise ConfigError(f"sink output name {output!r} must be letters, digits, '_', '.' or '-'")
        return self.folder / output / f"part-{batch_id:010d}.{self.format}"

    def _marker(self, batch_id: int) -> Path:
        return self.folder / "_batches" / f"{batch_id:010d}"

    def write(self, batch_id: int, frames: Mapping[str, Any], context: EngineContext) -> None:
        marker = self._marker(batch_id)
        marker.unlink(missing_ok=True)
        for output, frame in frames.items():
            path = self.part(output, batch_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():  # a Spark part from an earlier try
                shutil.rmtree(path)
            context.write(frame, str(path), format=self.format, mode="overwrite")
        marker.write_text(",".join(sorted(frames)), encoding="utf-8")

    def has(self, batch_id: int) -> bool:
        return self._marker(batch_id).exists()

    def batch_ids(self) -> list[int]:
        """The ids of the complete batches, ascending."""
        return sorted(int(p.name) for p in (self.folder / "_batches").iterdir() if p.name.isdigit())

    def parts(self, output: str) -> list[Path]:
        folder = self.folder / output
        return sorted(folder.glob(f"part-*.{self.format}")) if folder.is_dir() else []

    def read(self, output: str, context: EngineContext) -> Any:
        """Every part of ``output`` as one frame (None when nothing was written)."""
        frames = [context.read(str(path), format=self.format) for path in self.parts(output)]
        if not frames:
            return None
        return frames[0] if len(frames) == 1 else context.union_all(frames)
