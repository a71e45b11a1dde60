"""The pandas engine: files through pandas and pyarrow, SQLite through sqlite3, SQL on DuckDB.

Every :meth:`PandasEngineContext.execute_sql` call opens a fresh in-memory DuckDB connection,
registers its tables under their logical names and closes it, so calls from several threads
never see each other's tables.

Writes are atomic: a temp file in the target's folder, flush, fsync, ``os.replace``. Append mode:
csv copies the file and adds rows (the header must match); JSON Lines get lines added, a JSON
array is re-read and rewritten; parquet is re-read, concatenated (the schema must match) and
rewritten; a SQLite table gets rows inserted in one transaction.

The file and SQLite helpers here are shared with the Spark engine (which reads SQLite through
pandas on the driver).

Over 400 lines: the whole engine interface for pandas (read/write per format, DuckDB SQL, snapshots, fingerprints, incremental slices); engine knowledge lives only here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_write
from ..errors import EngineError
from .base import EngineContext, IncrementalSlice, Snapshot, infer_format

__all__ = ["PandasEngineContext"]

log = logging.getLogger(__name__)

MODES = ("overwrite", "append")
_FINGERPRINT_VERSION = "odibi-pandas-fingerprint-1"
_READ_ERRORS = (OSError, ValueError, TypeError, pa.ArrowException)


class PandasEngineContext(EngineContext):
    """pandas frames; csv/json/parquet files, SQLite tables, SQL on DuckDB.

    Args:
        duckdb_config: settings for every DuckDB connection (e.g. ``{"threads": 2}``).
    """

    name = "pandas"
    cheap_counts = True

    def __init__(self, *, duckdb_config: Mapping[str, Any] | None = None) -> None:
        self.duckdb_config = dict(duckdb_config or {})
        self._temp: dict[str, pd.DataFrame] = {}
        self._lock = threading.Lock()

    # -- files and tables ------------------------------------------------------------
    def read(self, location: str, *, format: str | None = None, **options: Any) -> pd.DataFrame:
        fmt = resolve_format(location, format, self.name)
        if fmt == "sqlite":
            return read_sqlite(location, engine=self.name, **options)
        path = Path(location)
        if not path.exists():
            raise missing_path_error(path, self.name)
        try:
            if fmt == "parquet":
                return pd.read_parquet(path, engine="pyarrow", **options)
            reader = _read_csv if fmt == "csv" else _read_json
            parts = data_files(path, self.name) if path.is_dir() else [path]
            frames = [reader(part, dict(options)) for part in parts]
            return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        except _READ_ERRORS as exc:
            raise EngineError(f"cannot read {fmt} {str(path)!r}: {exc}", engine=self.name) from exc

    def write(self, frame: Any, location: str, *, format: str | None = None,
              mode: str = "overwrite", **options: Any) -> None:
        frame = self._frame(frame, "write")
        check_mode(mode, self.name)
        fmt = resolve_format(location, format, self.name)
        if fmt == "sqlite":
            write_sqlite(frame, location, mode=mode, engine=self.name, **options)
            return
        path = Path(location)
        if path.is_dir():
            raise EngineError(f"cannot write {fmt} {str(path)!r}: it is a folder; the pandas engine"
                              f" writes one file", engine=self.name)
        appending = mode == "append" and path.is_file() and path.stat().st_size > 0
        try:
            if fmt == "csv":
                _write_csv(frame, path, appending, options)
            elif fmt == "json":
                _write_json(frame, path, appending, options)
            else:
                _write_parquet(frame, path, appending, options)
        except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
            raise EngineError(f"cannot write {fmt} {str(path)!r}: {exc}", engine=self.name) from exc
        log.debug("wrote %s rows to %s (%s, %s)", len(frame), path, fmt, mode)

    # -- SQL ---------------------------------------------------------------------------
    def execute_sql(self, sql: str, tables: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self._lock:
            visible = dict(self._temp)
        visible.update(tables or {})
        for name, frame in visible.items():
            self._frame(frame, f"SQL table {name!r}")
        connection = duckdb.connect(config=self.duckdb_config)
        try:
            for name, frame in visible.items():
                connection.register(name, frame)
            relation = connection.sql(sql)
            if relation is None:  # a statement without a result (DDL)
                return pd.DataFrame()
            return _narrow_hugeints(relation).df()
        except duckdb.Error as exc:
            raise EngineError(f"SQL failed: {exc}\ntables available: {sorted(visible)}",
                              engine=self.name) from exc
        finally:
            connection.close()

    def register_temp(self, name: str, frame: Any) -> None:
        frame = self._frame(frame, f"temp table {name!r}")
        with self._lock:
            self._temp[name] = frame

    def unregister_temp(self, name: str) -> None:
        with self._lock:
            if self._temp.pop(name, None) is None:
                log.debug("unregister_temp: %r was not registered", name)

    # -- inspection ----------------------------------------------------------------------
    def count_rows(self, frame: Any) -> int | None:
        return len(frame)

    def snapshot(self, frame: Any, *, sample_rows: int = 5, count: bool | None = None) -> Snapshot:
        frame = self._frame(frame, "snapshot")
        columns = [str(column) for column in frame.columns]
        sample: tuple[dict[str, Any], ...] = ()
        if sample_rows > 0:
            sample = tuple(dict(zip(columns, (json_safe(v) for v in row), strict=True))
                           for row in frame.head(sample_rows).itertuples(index=False, name=None))
        schema = tuple((str(column), str(dtype)) for column, dtype in frame.dtypes.items())
        return Snapshot(schema=schema, row_count=len(frame), sample=sample)

    def fingerprint(self, frame: Any) -> str | None:
        """sha256 of the schema (names and dtypes, in order) and the values (row order counts).

        ``hash_pandas_object`` alone ignores column names, hence the schema in the digest.
        Returns None for frames with unhashable cells (lists, dicts)."""
        frame = self._frame(frame, "fingerprint")
        try:
            row_hashes = pd.util.hash_pandas_object(frame, index=False, categorize=True)
            # object cells hash through str(): add each cell's type so 1 and "1" differ
            mixed = frame.iloc[:, [i for i, dtype in enumerate(frame.dtypes) if dtype == np.dtype(object)]]
            if mixed.shape[1]:
                types = mixed.apply(lambda column: column.map(lambda v: type(v).__qualname__))
                row_hashes = pd.concat([row_hashes, pd.util.hash_pandas_object(types, index=False)])
        except TypeError as exc:
            log.info("cannot fingerprint a frame with columns %s (%s); it will not be cached",
                     [str(c) for c in frame.columns], exc)
            return None
        header = [_FINGERPRINT_VERSION, len(frame),
                  [[str(column), str(dtype)] for column, dtype in frame.dtypes.items()]]
        digest = hashlib.sha256(json.dumps(header).encode("utf-8"))
        digest.update(np.ascontiguousarray(row_hashes.to_numpy(dtype=np.uint64)).astype("<u8").tobytes())
        return digest.hexdigest()

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        return self._frame(frame, "to_pandas")

    def from_pandas(self, frame: Any) -> pd.DataFrame:
        return self._frame(frame, "from_pandas")

    def is_frame(self, value: Any) -> bool:
        return isinstance(value, pd.DataFrame)

    # -- streaming -------------------------------------------------------------------------
    def union_all(self, frames: Sequence[Any]) -> pd.DataFrame:
        """``pd.concat`` by column name with a fresh index; one frame is returned as is."""
        frames = [self._frame(frame, "union_all") for frame in frames]
        if not frames:
            raise EngineError("union_all needs at least one frame, got none", engine=self.name)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def incremental_slice(self, frame: Any, column: str, low: Any = None,
                          delivered: Mapping[str, int] | None = None, *, high: Any = None,
                          high_keys: Mapping[str, int] | None = None,
                          key_columns: Sequence[str] | None = None) -> IncrementalSlice:
        """See :meth:`EngineContext.incremental_slice`. Vectorised filters; row keys are hashed
        only for the rows at ``low`` and ``high``. A frame that passes whole is not copied."""
        frame = self._frame(frame, "incremental_slice")
        keys = check_slice_columns([str(c) for c in frame.columns], column, key_columns, self.name)
        values = frame[column]
        try:
            mask = values.notna()
            if low is not None:
                mask &= values >= low
            if high is not None:
                mask &= values <= high
            kept = frame if bool(mask.all()) else frame[mask.to_numpy()]
            for value, (skip, cap) in boundary_trims(low, delivered, high, high_keys).items():
                kept = _trim_at(kept, column, value, keys, skip, cap)
            if kept is not frame:
                kept = kept.reset_index(drop=True)
            if len(kept) == 0:
                return IncrementalSlice(kept, None, {})
            top = kept[column].max()
            at_top = kept[(kept[column] == top).to_numpy()]
        except TypeError as exc:
            raise EngineError(f"cannot compare column {column!r} ({values.dtype}) with the watermark"
                              f" {low!r}/{high!r}: {exc}", engine=self.name) from exc
        counts: dict[str, int] = {}
        for key in row_keys(at_top, keys):
            counts[key] = counts.get(key, 0) + 1
        return IncrementalSlice(kept, top.item() if isinstance(top, np.generic) else top, counts)

    def _frame(self, value: Any, what: str) -> pd.DataFrame:
        if not isinstance(value, pd.DataFrame):
            raise EngineError(f"{what}: expected a pandas DataFrame, got {type(value).__name__}",
                              engine=self.name)
        return value


def _trim_at(frame: pd.DataFrame, column: str, value: Any, keys: list[str],
             skip: Mapping[str, int] | None, cap: Mapping[str, int] | None) -> pd.DataFrame:
    """Among rows with ``column == value``: drop the first ``skip[key]`` rows of each key and
    any beyond the ``cap[key]``-th (a key missing from ``cap`` keeps none)."""
    at = (frame[column] == value).to_numpy()
    if not at.any():
        return frame
    positions = np.flatnonzero(at)
    rowkeys = pd.Series(row_keys(frame.iloc[positions], keys))
    occurrence = rowkeys.groupby(rowkeys).cumcount().to_numpy()
    drop = np.zeros(len(positions), dtype=bool)
    if skip:
        drop |= occurrence < rowkeys.map(skip).fillna(0).to_numpy()
    if cap is not None:
        drop |= occurrence >= rowkeys.map(cap).fillna(0).to_numpy()
    if not drop.any():
        return frame
    keep = np.ones(len(frame), dtype=bool)
    keep[positions[drop]] = False
    return frame[keep]


# -- readers and writers ----------------------------------------------------------------
def _read_csv(path: Path, options: dict[str, Any]) -> pd.DataFrame:
    return pd.read_csv(path, **options)


def _read_json(path: Path, options: dict[str, Any]) -> pd.DataFrame:
    lines = options.pop("lines", None)
    if lines is None:
        lines = not json_is_array(path)
    if lines and path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_json(path, orient=options.pop("orient", "records"), lines=lines, **options)


def _write_csv(frame: pd.DataFrame, path: Path, appending: bool, options: dict[str, Any]) -> None:
    options = {"index": False, **options}
    if not appending:
        atomic_write(path, lambda handle: frame.to_csv(handle, **options))
        return
    encoding = options.pop("encoding", "utf-8")
    existing = list(pd.read_csv(path, nrows=0, sep=options.get("sep", ","), encoding=encoding).columns)
    if existing != [str(column) for column in frame.columns]:
        raise ValueError(f"cannot append: the file has columns {existing}, the frame has"
                         f" {[str(c) for c in frame.columns]}")
    old = path.read_bytes()
    rows = frame.to_csv(header=False, **options).encode(encoding)
    atomic_write(path, lambda handle: handle.write(old + (b"" if old.endswith(b"\n") else b"\n") + rows))


def _write_json(frame: pd.DataFrame, path: Path, appending: bool, options: dict[str, Any]) -> None:
    lines = options.pop("lines", None)
    options = {"date_format": "iso", **options}
    if appending:
        file_lines = not json_is_array(path)
        if lines is not None and bool(lines) != file_lines:
            layout = "JSON Lines" if file_lines else "a JSON array"
            raise ValueError(f"cannot append with lines={lines}: the file holds {layout}")
        lines = file_lines
    text = frame.to_json(orient="records", lines=bool(lines), **options) if len(frame) else (
        "" if lines else "[]")
    if lines and text and not text.endswith("\n"):
        text += "\n"
    if not appending:
        atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
    elif lines:
        old = path.read_bytes()
        sep = b"" if old.endswith(b"\n") or not text else b"\n"
        atomic_write(path, lambda handle: handle.write(old + sep + text.encode("utf-8")))
    else:
        records = json.loads(path.read_text(encoding="utf-8")) + json.loads(text)
        atomic_write(path, lambda handle: handle.write(json.dumps(records).encode("utf-8")))


def _write_parquet(frame: pd.DataFrame, path: Path, appending: bool, options: dict[str, Any]) -> None:
    if not appending:
        atomic_write(path, lambda handle: frame.to_parquet(handle, engine="pyarrow", index=False,
                                                           **options))
        return
    old = pq.read_table(path)
    new = pa.Table.from_pandas(frame, preserve_index=False)
    if old.schema.names != new.schema.names:
        raise ValueError(f"cannot append: the file has columns {old.schema.names}, the frame has"
                         f" {new.schema.names}")
    try:
        combined = pa.concat_tables([old, new.cast(old.schema)])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"cannot append: the frame's types do not fit the file's schema"
                         f" ({old.schema.to_string(show_schema_metadata=False)}): {exc}") from exc
    atomic_write(path, lambda handle: pq.write_table(combined, handle, **options))


# -- helpers shared with the Spark engine -------------------------------------------------
def resolve_format(location: str, given: str | None, engine: str) -> str:
    """``infer_format`` with its ValueError as an EngineError."""
    try:
        return infer_format(location, given)
    except ValueError as exc:
        raise EngineError(str(exc), engine=engine) from exc


def check_mode(mode: str, engine: str) -> None:
    if mode not in MODES:
        raise EngineError(f"unknown write mode {mode!r}; expected one of {list(MODES)}", engine=engine)


def missing_path_error(path: Path, engine: str) -> EngineError:
    """An error naming the missing path and what its folder holds."""
    folder = path.parent
    if not folder.is_dir():
        return EngineError(f"no such file: {str(path)!r}; the folder {str(folder)!r} does not exist",
                           engine=engine)
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    shown = names[:20] + ([f"... ({len(names) - 20} more)"] if len(names) > 20 else [])
    return EngineError(f"no such file: {str(path)!r}; {str(folder)!r} holds {shown}", engine=engine)


def data_files(folder: Path, engine: str) -> list[Path]:
    """The data files of a folder written by Spark (names not starting with ``_`` or ``.``)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
    if not files:
        raise EngineError(f"the folder {str(folder)!r} holds no data files", engine=engine)
    return files


def json_is_array(path: Path) -> bool:
    """Whether a JSON file holds one array (else it is read as JSON Lines)."""
    with path.open("rb") as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
            if stripped:
                return stripped[:1] == b"["
    return False


def check_slice_columns(columns: list[str], column: str, key_columns: Sequence[str] | None,
                        engine: str) -> list[str]:
    """The key columns (sorted; default every column) after checking they and ``column``
    exist; EngineError naming what is missing and the columns present."""
    wanted = [column, *(key_columns or [])]
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise EngineError(f"incremental read: no column(s) {missing}; the frame has {columns}",
                          engine=engine)
    return sorted(key_columns or columns)


def boundary_trims(low: Any, delivered: Mapping[str, int] | None, high: Any,
                   high_keys: Mapping[str, int] | None) -> dict[Any, tuple[Any, Any]]:
    """Boundary value -> (skip counts, cap counts) for :meth:`incremental_slice`; one entry
    when ``low == high`` so both apply to one numbering of the rows at that value."""
    trims: dict[Any, tuple[Any, Any]] = {}
    if low is not None and delivered:
        trims[low] = (dict(delivered), None)
    if high is not None and high_keys is not None:
        same = low is not None and bool(low == high) and low in trims
        trims[high] = (trims[low][0] if same else None, dict(high_keys))
    return trims


#: how row keys render timestamps (Spark's ``to_json`` is given the same pattern)
ROW_KEY_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%f"


def canonical_value(value: Any) -> Any:
    """A key cell as JSON data: missing values (None, NaN, NaT) as None, numpy scalars as
    Python, timestamps as ``ROW_KEY_TIMESTAMP`` text in UTC, dates as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime):
        if value is pd.NaT:
            return None
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.strftime(ROW_KEY_TIMESTAMP)
    if isinstance(value, date):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(json_safe(value))


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """sha256 hex of each row's canonical JSON over ``columns`` (given sorted), e.g.
    ``{"a":1,"b":"x"}``: the row key of :meth:`EngineContext.incremental_slice`."""
    names = list(columns)
    out = []
    for row in frame[names].itertuples(index=False, name=None):
        text = json.dumps(dict(zip(names, (canonical_value(v) for v in row), strict=True)),
                          separators=(",", ":"), ensure_ascii=False)
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return out


def _narrow_hugeints(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """DuckDB sums integers into HUGEINT, which pandas receives as float64; cast those columns
    to BIGINT (an overflow is an error, never a silent float) so integer results stay integers,
    as they do on Spark."""
    types = [str(t) for t in relation.types]
    if "HUGEINT" not in types and "UHUGEINT" not in types:
        return relation
    columns = []
    for name, kind in zip(relation.columns, types, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        columns.append(f"CAST({quoted} AS BIGINT) AS {quoted}" if kind in ("HUGEINT", "UHUGEINT") else quoted)
    return relation.project(", ".join(columns))


def json_safe(value: Any) -> Any:
    """A value JSON can hold: numpy scalars as Python, NaN/NaT/NA as None, times as ISO text,
    Decimal as text, bytes as hex, containers converted item by item."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.timedelta64):
        value = pd.Timedelta(value)
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else (None if math.isnan(value) else str(value))
    if isinstance(value, int):
        return value
    if pd.isna(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


# -- SQLite ---------------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    """A SQLite identifier in double quotes (embedded quotes doubled), so it cannot inject SQL."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"invalid SQLite identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                              " AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [row[0] for row in rows]


def read_sqlite(location: str, *, engine: str, table: str | None = None, query: str | None = None,
                params: Any = None, **options: Any) -> pd.DataFrame:
    """A table (``table=``) or query result (``query=``, ``params=``) of a SQLite file."""
    path = Path(location)
    if (table is None) == (query is None):
        raise EngineError(f"reading SQLite {str(path)!r} needs exactly one of table= or query=",
                          engine=engine)
    if not path.is_file():
        raise missing_path_error(path, engine)
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            if table is not None:
                tables = sqlite_tables(connection)
                found = [name for name in tables if name.lower() == str(table).lower()]
                if not found:
                    raise EngineError(f"no table {table!r} in {str(path)!r}; tables: {tables}",
                                      engine=engine)
                query = f"SELECT * FROM {quote_identifier(found[0])}"
            return pd.read_sql_query(query, connection, params=params, **options)
    except (sqlite3.Error, pd.errors.DatabaseError, ValueError, TypeError) as exc:
        raise EngineError(f"cannot read SQLite {str(path)!r}: {exc}", engine=engine) from exc


def write_sqlite(frame: pd.DataFrame, location: str, *, engine: str, table: str | None = None,
                 mode: str = "overwrite", **options: Any) -> None:
    """Replace (overwrite) or extend (append) a SQLite table in one transaction."""
    path = Path(location)
    if not table:
        raise EngineError(f"writing SQLite {str(path)!r} needs table=", engine=engine)
    if options:
        raise EngineError(f"unknown SQLite write options {sorted(options)}; only table= is used",
                          engine=engine)
    columns = [str(column) for column in frame.columns]
    if len(set(columns)) != len(columns):
        raise EngineError(f"cannot write table {table!r}: duplicate column names {columns}",
                          engine=engine)
    try:
        target = quote_identifier(table)
        names = ", ".join(quote_identifier(c) for c in columns)
        definition = ", ".join(f"{quote_identifier(c)} {_sqlite_type(frame.dtypes.iloc[i])}".rstrip()
                               for i, c in enumerate(columns))
        rows = [tuple(_sqlite_value(v) for v in row)
                for row in frame.itertuples(index=False, name=None)]
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                if mode == "overwrite":
                    connection.execute(f"DROP TABLE IF EXISTS {target}")
                connection.execute(f"CREATE TABLE IF NOT EXISTS {target} ({definition})")
                if rows:
                    marks = ", ".join("?" * len(columns))
                    connection.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", rows)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
    except (sqlite3.Error, OSError, ValueError, OverflowError) as exc:
        raise EngineError(f"cannot write table {table!r} of {str(path)!r} ({mode}): {exc}",
                          engine=engine) from exc
    log.debug("wrote %s rows to %s table %s (%s)", len(frame), path, table, mode)


def _sqlite_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "TEXT"
    return ""


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    safe = json_safe(value)
    return json.dumps(safe) if isinstance(safe, list | dict) else safe
