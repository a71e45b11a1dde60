"""Incremental (high-water mark) batches.

Each poll reads the whole source through the engine and keeps rows with ``column >= the
watermark``, minus the rows already delivered at exactly the watermark (the boundary
multiset: row key -> count). ``>`` alone would lose a row that arrives later with a value
equal to the watermark; ``>=`` alone would deliver the boundary rows again. The new watermark
is the max of the rows delivered, never the clock, and it is persisted only at commit.

Positions are JSON data: ``{"watermark": {"type": ..., "value": ...} | None, "boundary":
{rowkey: count}}``. A batch from ``start`` to ``end`` can be replayed exactly: rows in
``[start, end]`` minus those delivered at ``start``, at most ``end``'s counts at ``end``.
"""

from __future__ import annotations

from typing import Any

from ..engine.base import EngineContext
from ..errors import OdibiError
from .config import StreamConfig
from .errors import StreamError
from .state import decode_watermark, encode_watermark

__all__ = ["advance", "empty_position", "read_increment"]


def empty_position() -> dict[str, Any]:
    return {"watermark": None, "boundary": {}}


def read_increment(engine: EngineContext, name: str, config: StreamConfig,
                   start: dict[str, Any], end: dict[str, Any] | None = None,
                   ) -> tuple[Any, dict[str, Any]] | None:
    """(frame, end position) of the rows after ``start``; None when there are none.

    With ``end`` (a replay) the rows are bounded by it and ``end`` is returned as is."""
    column = str(config.watermark_column)
    try:
        frame = engine.read(config.source_path, format=config.format, **config.read_options)
    except OdibiError as exc:
        raise StreamError(f"source {name!r}: cannot read {config.source_path!r}: {exc}") from exc
    columns = engine.snapshot(frame, sample_rows=0, count=False).columns
    if column not in columns:
        raise StreamError(f"source {name!r}: watermark column {column!r} is not in"
                          f" {config.source_path!r}; its columns are {columns}")
    low = decode_watermark(start.get("watermark"))
    delivered = dict(start.get("boundary") or {})
    try:
        if end is not None:
            part = engine.incremental_slice(
                frame, column, low, delivered, high=decode_watermark(end.get("watermark")),
                high_keys=dict(end.get("boundary") or {}), key_columns=config.key_columns)
            return part.frame, end
        part = engine.incremental_slice(frame, column, low, delivered,
                                        key_columns=config.key_columns)
    except OdibiError as exc:
        raise StreamError(f"source {name!r}: incremental read failed: {exc}") from exc
    if part.high is None:
        return None
    boundary = dict(part.high_keys)
    if low is not None and bool(part.high == low):  # still at the same value: keys add up
        for key, count in delivered.items():
            boundary[key] = boundary.get(key, 0) + count
    return part.frame, {"watermark": encode_watermark(part.high), "boundary": boundary}


def advance(cursor: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
    """The later of two positions (at the same watermark, the larger count per key)."""
    now, new = decode_watermark(cursor.get("watermark")), decode_watermark(end.get("watermark"))
    if new is None:
        return cursor
    if now is None or bool(new > now):
        return {"watermark": end["watermark"], "boundary": dict(end.get("boundary") or {})}
    if bool(new == now):
        merged = dict(cursor.get("boundary") or {})
        for key, count in (end.get("boundary") or {}).items():
            merged[key] = max(merged.get(key, 0), count)
        return {"watermark": cursor["watermark"], "boundary": merged}
    return cursor
