"""The engine contract: the few operations a pipeline needs from a dataframe engine.

Everything engine-specific lives behind this interface (pandas on DuckDB, Spark);
nothing outside ``odibi_core.engine`` branches on the engine name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import EngineError

__all__ = ["FORMATS", "EngineContext", "IncrementalSlice", "Snapshot", "infer_format"]

FORMATS = ("csv", "json", "parquet", "sqlite")
_SUFFIXES = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet", ".pq": "parquet",
             ".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite"}


def infer_format(location: str, given: str | None = None) -> str:
    """The data format: ``given`` when set, else from the file suffix. Raises ValueError naming
    the location and the formats known."""
    fmt = given or _SUFFIXES.get(Path(str(location)).suffix.lower())
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of {location!r} (got {given!r}); pass params"
                         f" format= one of {list(FORMATS)}")
    return fmt


@dataclass(frozen=True)
class Snapshot:
    """A bounded picture of a frame: schema (column, dtype), row count and a few rows.

    ``row_count`` is None when counting would cost a full job (Spark, unless asked)."""

    schema: tuple[tuple[str, str], ...] = ()
    row_count: int | None = 0
    sample: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": [f"{n}: {t}" for n, t in self.schema], "row_count": self.row_count,
                "sample": list(self.sample)}

    def to_record(self) -> dict[str, Any]:
        """Plain JSON data that :meth:`from_record` turns back into this snapshot."""
        return {"schema": [[n, t] for n, t in self.schema], "row_count": self.row_count,
                "sample": [dict(row) for row in self.sample]}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Snapshot:
        """The snapshot :meth:`to_record` described; ValueError when ``record`` is not one."""
        try:
            schema = tuple((str(n), str(t)) for n, t in record["schema"])
            rows = record["row_count"]
            sample = tuple(dict(row) for row in record["sample"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a snapshot record: {exc}") from exc
        if rows is not None and not isinstance(rows, int):
            raise ValueError(f"not a snapshot record: row_count {rows!r}")
        return cls(schema=schema, row_count=rows, sample=sample)


class IncrementalSlice(NamedTuple):
    """What :meth:`EngineContext.incremental_slice` returns.

    ``frame``: the rows to deliver. ``high``: the largest watermark value among them (a Python
    scalar or ``pandas.Timestamp``), None when there are none. ``high_keys``: row key -> how
    many of the returned rows have that key and ``column == high``.
    """

    frame: Any
    high: Any
    high_keys: dict[str, int]


class EngineContext(ABC):
    """One engine's implementation of the operations steps need.

    Frames are the engine's own dataframe type (``pandas.DataFrame``, Spark ``DataFrame``).
    SQL runs with the given tables registered under their logical names for that one call
    only, so steps running at the same time never see each other's tables.
    """

    name: str = ""
    #: whether counting rows is cheap (pandas) or a full job (Spark)
    cheap_counts: bool = True

    @abstractmethod
    def read(self, location: str, *, format: str | None = None, **options: Any) -> Any:
        """Read csv/json/parquet (a path) or a SQLite table (``options['table']``)."""

    @abstractmethod
    def write(self, frame: Any, location: str, *, format: str | None = None,
              mode: str = "overwrite", **options: Any) -> None:
        """Write a frame; ``mode`` is overwrite or append. Files are replaced atomically."""

    @abstractmethod
    def execute_sql(self, sql: str, tables: Mapping[str, Any] | None = None) -> Any:
        """Run a query with ``tables`` (logical name -> frame) visible for this call only,
        plus anything registered with :meth:`register_temp`."""

    @abstractmethod
    def register_temp(self, name: str, frame: Any) -> None:
        """Make a frame visible to every later :meth:`execute_sql` on this context."""

    @abstractmethod
    def unregister_temp(self, name: str) -> None:
        """Forget a frame registered with :meth:`register_temp`."""

    @abstractmethod
    def snapshot(self, frame: Any, *, sample_rows: int = 5, count: bool | None = None) -> Snapshot:
        """Schema, row count (when ``count`` or cheap) and ``sample_rows`` rows of a frame."""

    def count_rows(self, frame: Any) -> int | None:
        """The row count when it is cheap (no job, no schema work), else None."""
        return self.snapshot(frame, sample_rows=0).row_count if self.cheap_counts else None

    def collect_sample(self, frame: Any, n: int = 5) -> list[dict[str, Any]]:
        """The first ``n`` rows as dicts."""
        return list(self.snapshot(frame, sample_rows=n, count=False).sample)

    @abstractmethod
    def fingerprint(self, frame: Any) -> str | None:
        """A content hash of schema and values, or None when it cannot be had cheaply."""

    @abstractmethod
    def to_pandas(self, frame: Any) -> Any:
        """The frame as a pandas DataFrame (collects on Spark)."""

    @abstractmethod
    def from_pandas(self, frame: Any) -> Any:
        """A pandas DataFrame as this engine's frame."""

    @abstractmethod
    def is_frame(self, value: Any) -> bool:
        """Whether ``value`` is this engine's dataframe type."""

    # -- streaming (not abstract, so engines written before streaming keep working) --------
    def union_all(self, frames: Sequence[Any]) -> Any:
        """One frame holding every row of ``frames``, matched by column name (a column missing
        from a frame is null there). One frame is returned as is; none is an EngineError."""
        raise EngineError(f"the {self.name or type(self).__name__} engine has no union_all",
                          engine=self.name or None)

    def incremental_slice(self, frame: Any, column: str, low: Any = None,
                          delivered: Mapping[str, int] | None = None, *, high: Any = None,
                          high_keys: Mapping[str, int] | None = None,
                          key_columns: Sequence[str] | None = None) -> IncrementalSlice:
        """The rows of ``frame`` an incremental (high-water mark) read delivers next.

        Keeps rows with ``column >= low`` (all non-null rows when ``low`` is None) and drops,
        among the rows with ``column == low``, the ones already delivered: ``delivered`` maps a
        row key to how many rows with that key were delivered at ``low``, and that many are
        dropped per key. So a row that arrives later with a value equal to the watermark is
        delivered once, and a row delivered before is never delivered again; ``>`` alone would
        lose the late row, ``>=`` alone would repeat the old ones. Rows with a null ``column``
        are never delivered.

        ``high`` / ``high_keys`` bound a replay: rows with ``column > high`` are dropped and,
        at ``column == high``, at most ``high_keys[key]`` rows per key are kept counting the
        ones ``delivered`` already holds (so replaying a logged batch gives exactly its rows).

        Row key: sha256 (hex) of the canonical JSON of the key columns (``key_columns``, default
        all columns) sorted by name: ``{"a":1,"b":"x"}`` with no spaces, nulls as ``null``,
        timestamps as ``yyyy-MM-ddTHH:mm:ss.ffffff``. Keys are computed only for rows at the
        boundary values; engines never collect the whole frame (Spark collects the max and the
        keys at the max). Rows with equal keys are interchangeable: pick key columns that
        identify a row when other columns may differ.
        """
        raise EngineError(f"the {self.name or type(self).__name__} engine has no incremental reads",
                          engine=self.name or None)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the context holds (connections); the shared Spark session stays."""

    def __enter__(self) -> EngineContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
