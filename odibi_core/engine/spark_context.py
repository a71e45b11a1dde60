"""The Spark engine: a local or remote SparkSession, one shared per process.

pyspark is imported only inside functions here, so ``import odibi_core`` works without it.

Masters. A context takes a master URL (``local[N]``, ``spark://host:port`` for a standalone
cluster, ``sc://host:port`` for Spark Connect when pyspark's Connect client is installed, or
``yarn`` / ``k8s://...``), else ``$ODIBI_SPARK_MASTER``, else ``local[2]``; or an existing
SparkSession. A remote master is probed over TCP first, so a wrong address fails in seconds
with its name instead of after Spark's registration retries. There is one SparkContext per
process: asking for a different master while one runs is an error that says so (two
``local[N]`` masters only differ in threads, so they share the running session).

SQL isolation. Temp views are session-scoped, and a DataFrame's ``createOrReplaceTempView``
registers the view in the session that created the frame: in pyspark 4.3 a frame made in
session A and registered "from" session B is not visible in B (checked; ``spark.sql(...,
t=df)`` has the same limit). So each :meth:`SparkEngineContext.execute_sql` call opens
``spark.newSession()`` (same SparkContext, its own temp views; the shared session's runtime
SQL conf is copied in), publishes each input as a uniquely named global temp view
(``global_temp.odibi_<uuid>``, visible to every session of the context), binds it in the new
session under its logical name with ``createOrReplaceTempView``, runs ``spark.sql`` (analysis
is eager, so the result's plan holds the inputs' plans) and drops the global views. Two steps
using the same logical name at the same time never collide, and only public APIs are used.

Files. Spark writes folders of part files. A local target is written to a hidden staging
folder beside it, then renamed into place (overwrite: the old target is renamed away first and
deleted after; append: the new part files are moved into the existing folder). Targets with
a URI scheme other than ``file:`` are written by Spark directly.

SQLite goes through the driver (sqlite3 and pandas), so it is for small tables: no JDBC
driver is assumed to be available offline.

Fingerprints. :meth:`SparkEngineContext.fingerprint` returns None (a documented opt-out):
hashing values would collect the data, and plan hashes are not stable across processes.

Over 400 lines: the whole engine interface for Spark (sessions, Connect, formats, SQL, plan fingerprints, snapshots); pyspark is imported only here.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import fsync_dir
from ..errors import EngineError
from .base import EngineContext, IncrementalSlice, Snapshot
from .pandas_context import (
    boundary_trims,
    check_mode,
    check_slice_columns,
    json_is_array,
    json_safe,
    missing_path_error,
    read_sqlite,
    resolve_format,
    write_sqlite,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DEFAULT_SPARK_CONF", "MASTER_ENV", "SparkEngineContext", "resolve_master", "shared_session"]

log = logging.getLogger(__name__)

ENGINE = "spark"
#: environment variable naming the master of contexts created without one
MASTER_ENV = "ODIBI_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
_MASTER_FORMS = re.compile(r"local(\[(\*|\d+)(,\s*\d+)?\])?|yarn|(spark|sc)://[^/\s]+(/\S*)?|k8s://\S+")
# static or UI settings a Spark Connect client cannot set on the server's session
_CONNECT_SKIPPED = ("spark.ui.enabled", "spark.sql.warehouse.dir")
DEFAULT_SPARK_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_SESSION_LOCK = threading.Lock()
# copied into per-call sessions when the RuntimeConfig cannot list its entries (pyspark < 4)
_RUNTIME_KEYS = ("spark.sql.session.timeZone", "spark.sql.shuffle.partitions", "spark.sql.ansi.enabled")


def resolve_master(master: str | None = None) -> str:
    """``master`` if given, else ``$ODIBI_SPARK_MASTER``, else ``local[2]``; checked against
    the forms Spark accepts (EngineError naming them otherwise)."""
    chosen = (master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER).strip()
    if _MASTER_FORMS.fullmatch(chosen) is None:
        source = "" if master else f" (from ${MASTER_ENV})"
        raise EngineError(f"unknown Spark master {chosen!r}{source}; expected local, local[N],"
                          f" local[*], spark://host:port, sc://host:port (Spark Connect), yarn or"
                          f" k8s://...", engine=ENGINE)
    return chosen


def shared_session(master: str = DEFAULT_MASTER, app_name: str = "odibi_core",
                   spark_conf: Mapping[str, Any] | None = None) -> SparkSession:
    """The process's SparkSession (``getOrCreate``), started with :data:`DEFAULT_SPARK_CONF`
    overridden by ``spark_conf``.

    Raises:
        EngineError: the master is unreachable, Spark cannot start, or a session on another
            master already runs in this process.
    """
    with _SESSION_LOCK:
        if master.startswith("sc://"):
            return _connect_session(master, app_name, spark_conf)
        from pyspark.sql import SparkSession

        if master.startswith("spark://"):
            _probe(master)
        builder = SparkSession.builder.master(master).appName(app_name)
        conf = {**DEFAULT_SPARK_CONF, **(spark_conf or {})}
        # Spark's default warehouse is ./spark-warehouse, which would land in whatever folder the
        # process runs in (a lesson folder, a checkout); keep it in a temp folder unless given.
        conf.setdefault("spark.sql.warehouse.dir", _scratch_warehouse())
        _quiet_query_context_loggers()
        for key, value in conf.items():
            builder = builder.config(key, str(value))
        with spark_errors(f"could not start Spark (master {master!r}; needs Java 17+ on PATH or"
                          f" JAVA_HOME)"):
            session = builder.getOrCreate()
            running = session.sparkContext.master
        if running != master and not (_is_local(running) and _is_local(master)):
            raise EngineError(f"this process already runs a SparkSession on master {running!r}, so"
                              f" {master!r} cannot be used (one SparkContext per process); stop it"
                              f" first (session.stop()), or run the pipeline in another process",
                              engine=ENGINE)
        log.debug("Spark session ready: master %s, version %s", running, session.version)
        return session


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def _connect_session(url: str, app_name: str, spark_conf: Mapping[str, Any] | None) -> SparkSession:
    """A Spark Connect session on ``url`` (runtime settings only; the server owns the rest)."""
    from pyspark.sql import SparkSession

    missing = [m for m in ("grpc", "google.protobuf", "grpc_status") if not _importable(m)]
    if missing or not hasattr(SparkSession.builder, "remote"):
        raise EngineError(f"cannot use Spark Connect master {url!r}: this pyspark has no Connect"
                          f" client (missing {missing or ['SparkSession.builder.remote']});"
                          f" pip install 'pyspark[connect]'", engine=ENGINE)
    _probe(url)
    builder = SparkSession.builder.remote(url).appName(app_name)
    for key, value in {**DEFAULT_SPARK_CONF, **(spark_conf or {})}.items():
        if key not in _CONNECT_SKIPPED:
            builder = builder.config(key, str(value))
    with spark_errors(f"could not connect to Spark Connect at {url!r}"):
        return builder.getOrCreate()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package
        return False


def _probe(url: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when no ``host:port`` of ``url`` accepts a connection."""
    scheme, _, rest = url.partition("://")
    default_port = 15002 if scheme == "sc" else 7077
    errors = []
    for address in rest.split("/")[0].split(";")[0].split(","):
        host, _, port = address.rpartition(":") if ":" in address else (address, "", str(default_port))
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{address}: {exc}")
    hint = ("start one with python -m odibi_core.engine.spark_cluster start, or check the URL"
            if scheme == "spark" else "start a Spark Connect server, or check the URL")
    raise EngineError(f"cannot reach the Spark master {url!r} ({'; '.join(errors)}); {hint}",
                      engine=ENGINE)


def _scratch_warehouse() -> str:
    folder = tempfile.mkdtemp(prefix="odibi-spark-warehouse-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _quiet_query_context_loggers() -> None:
    """pyspark logs every analysis error with its whole plan as JSON on stderr, before the
    caller can handle it; odibi turns those errors into short EngineErrors, so the duplicate
    log is turned down (set these loggers' level back to see it)."""
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def _pandas_conversion() -> Iterator[None]:
    """pyspark 4.3 warns about pandas 3 on every conversion; the warnings are about pyspark's
    own compatibility, not the caller's code, so they are kept out of learners' notebooks."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        warnings.filterwarnings("ignore", "The copy keyword is deprecated")
        yield


@contextmanager
def spark_errors(action: str, hint: str = "") -> Iterator[None]:
    """Translate Spark and Py4J errors into EngineError with a short message (no JVM trace)."""
    from py4j.protocol import Py4JError, Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as exc:
        raise EngineError(f"{action}: {_first_line(str(exc))}{hint}", engine=ENGINE) from exc
    except Py4JJavaError as exc:
        raise EngineError(f"{action}: {_java_message(exc)}{hint}", engine=ENGINE) from exc
    except Py4JError as exc:
        raise EngineError(f"{action}: {_first_line(str(exc))}{hint}", engine=ENGINE) from exc


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def _java_message(exc: Any) -> str:
    """The first line of a Java exception, plus its root cause's when that says more (a task
    failure on an executor wraps the real error several levels down)."""
    from py4j.protocol import Py4JError

    head = _first_line(str(exc.java_exception.toString()))
    try:
        root = exc.java_exception
        for _ in range(20):  # bounded: a cause chain can loop
            cause = root.getCause()
            if cause is None:
                break
            root = cause
        last = _first_line(str(root.toString()))
    except Py4JError as inner:  # the JVM went away while the chain was walked
        log.debug("could not walk the Java cause chain: %s", inner)
        return head
    return head if last in head else f"{head} (caused by {last})"


class SparkEngineContext(EngineContext):
    """Spark DataFrames on a shared SparkSession.

    Args:
        master: Spark master URL for a new session: ``local[N]``, ``spark://host:port``,
            ``sc://host:port`` (Spark Connect) and the like; default ``$ODIBI_SPARK_MASTER``,
            else ``local[2]``.
        app_name: application name for a new session.
        spark_conf: settings for the session builder (override :data:`DEFAULT_SPARK_CONF`),
            e.g. ``spark.driver.host``, ``spark.executor.memory``, ``spark.sql.shuffle.partitions``.
        session: an existing SparkSession to use as is (the other options are then ignored).
    """

    name = "spark"
    cheap_counts = False

    def __init__(self, *, master: str | None = None, app_name: str = "odibi_core",
                 spark_conf: Mapping[str, Any] | None = None,
                 session: SparkSession | None = None) -> None:
        if session is None and importlib.util.find_spec("pyspark") is None:
            raise EngineError("pyspark is not installed; install the spark extra"
                              " (pip install 'odibi-course[spark]') and a Java 17 runtime",
                              engine=ENGINE)
        self.master = resolve_master(master) if session is None else _session_master(session)
        self.app_name = app_name
        self.spark_conf = dict(spark_conf or {})
        self._session = session
        self._temp: dict[str, DataFrame] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> SparkSession:
        """The SparkSession (the process's shared one unless one was given); started on first use."""
        with self._lock:
            if self._session is None:
                self._session = shared_session(self.master, self.app_name, self.spark_conf)
            return self._session

    # -- files and tables ------------------------------------------------------------
    def read(self, location: str, *, format: str | None = None, **options: Any) -> DataFrame:
        fmt = resolve_format(location, format, self.name)
        if fmt == "sqlite":
            return self.from_pandas(read_sqlite(location, engine=self.name, **options))
        local = _local_path(location)
        if local is not None and not local.exists():
            raise missing_path_error(local, self.name)
        options = dict(options)
        if fmt == "csv":
            options = {"header": True, "inferSchema": True, **options}
        elif fmt == "json":
            lines = options.pop("lines", None)
            if "multiLine" not in options:
                is_array = local is not None and local.is_file() and json_is_array(local)
                options["multiLine"] = not lines if lines is not None else is_array
        source = _spark_uri(local) if local is not None else location
        with spark_errors(f"cannot read {fmt} {location!r}"):
            return self.session.read.format(fmt).options(**options).load(source)

    def write(self, frame: Any, location: str, *, format: str | None = None,
              mode: str = "overwrite", **options: Any) -> None:
        frame = self._frame(frame, "write")
        check_mode(mode, self.name)
        fmt = resolve_format(location, format, self.name)
        if fmt == "sqlite":
            write_sqlite(self.to_pandas(frame), location, mode=mode, engine=self.name, **options)
            return
        options = dict(options)
        if fmt == "csv":
            options.setdefault("header", True)
        elif fmt == "json" and not options.pop("lines", True):
            raise EngineError(f"cannot write {location!r} as a JSON array: Spark writes JSON Lines"
                              f" only (drop lines=False)", engine=self.name)
        action = f"cannot write {fmt} {location!r}"
        local = _local_path(location)
        if local is None:
            with spark_errors(action):
                frame.write.format(fmt).mode(mode).options(**options).save(location)
            return
        staging = local.parent / f".{local.name}.{uuid.uuid4().hex}.tmp"
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            with spark_errors(action):
                frame.write.format(fmt).mode("errorifexists").options(**options).save(_spark_uri(staging))
            if mode == "append" and local.exists():
                _move_parts(staging, local)
            else:
                _swap_into_place(staging, local)
        except OSError as exc:
            raise EngineError(f"{action}: {exc}", engine=self.name) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.debug("wrote %s (%s, %s)", local, fmt, mode)

    # -- SQL ---------------------------------------------------------------------------
    def execute_sql(self, sql: str, tables: Mapping[str, Any] | None = None) -> DataFrame:
        with self._lock:
            visible = dict(self._temp)
        visible.update(tables or {})
        for name, frame in visible.items():
            self._frame(frame, f"SQL table {name!r}")
        root = self.session
        with spark_errors("cannot prepare the SQL session"):
            session = _session_like(root)
            global_db = root.conf.get("spark.sql.globalTempDatabase", "global_temp")
        published: list[str] = []
        try:
            with spark_errors("SQL failed", f"; tables available: {sorted(visible)}"):
                for name, frame in visible.items():
                    view = f"odibi_{uuid.uuid4().hex}"
                    frame.createOrReplaceGlobalTempView(view)
                    published.append(view)
                    session.table(f"`{global_db}`.`{view}`").createOrReplaceTempView(name)
                return session.sql(sql)
        finally:
            _drop_global_views(session, published)

    def register_temp(self, name: str, frame: Any) -> None:
        frame = self._frame(frame, f"temp table {name!r}")
        with self._lock:
            self._temp[name] = frame

    def unregister_temp(self, name: str) -> None:
        with self._lock:
            if self._temp.pop(name, None) is None:
                log.debug("unregister_temp: %r was not registered", name)

    # -- inspection ----------------------------------------------------------------------
    def snapshot(self, frame: Any, *, sample_rows: int = 5, count: bool | None = None) -> Snapshot:
        """Schema from the plan (no job); rows counted only when ``count`` is true; sample
        rows via ``limit(n).collect()`` only when ``sample_rows > 0``."""
        frame = self._frame(frame, "snapshot")
        with spark_errors("cannot take a snapshot"):
            schema = tuple((name, dtype) for name, dtype in frame.dtypes)
            row_count = frame.count() if count else None
            rows = frame.limit(sample_rows).collect() if sample_rows > 0 else []
        sample = tuple(json_safe(row.asDict(recursive=True)) for row in rows)
        return Snapshot(schema=schema, row_count=row_count, sample=sample)

    def fingerprint(self, frame: Any) -> str | None:
        """Always None: Spark frames are not fingerprinted (that would collect the data), so
        steps on Spark are not cached."""
        self._frame(frame, "fingerprint")
        log.debug("Spark frames are not fingerprinted; the step will not be cached")
        return None

    def to_pandas(self, frame: Any) -> pd.DataFrame:
        frame = self._frame(frame, "to_pandas")
        with spark_errors("cannot convert to pandas"), _pandas_conversion():
            return frame.toPandas()

    def from_pandas(self, frame: Any) -> DataFrame:
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise EngineError(f"from_pandas: expected a pandas DataFrame, got {type(frame).__name__}",
                              engine=self.name)
        with spark_errors("cannot convert from pandas"), _pandas_conversion():
            if len(frame) == 0:  # nothing to infer types from: take them from the dtypes
                import pyarrow as pa
                from pyspark.sql.pandas.types import from_arrow_schema

                schema = from_arrow_schema(pa.Schema.from_pandas(frame, preserve_index=False))
                return self.session.createDataFrame(frame, schema=schema)
            return self.session.createDataFrame(frame)

    def is_frame(self, value: Any) -> bool:
        from pyspark.sql import DataFrame

        return isinstance(value, DataFrame)

    # -- streaming -------------------------------------------------------------------------
    def union_all(self, frames: Sequence[Any]) -> DataFrame:
        """``unionByName(allowMissingColumns=True)`` over the frames (lazy, no job)."""
        frames = [self._frame(frame, "union_all") for frame in frames]
        if not frames:
            raise EngineError("union_all needs at least one frame, got none", engine=self.name)
        with spark_errors("cannot union the frames"):
            out = frames[0]
            for frame in frames[1:]:
                out = out.unionByName(frame, allowMissingColumns=True)
            return out

    def incremental_slice(self, frame: Any, column: str, low: Any = None,
                          delivered: Mapping[str, int] | None = None, *, high: Any = None,
                          high_keys: Mapping[str, int] | None = None,
                          key_columns: Sequence[str] | None = None) -> IncrementalSlice:
        """See :meth:`EngineContext.incremental_slice`. Two small jobs: the max of ``column``,
        then the row keys (``sha2(to_json(struct(keys)))``) and counts at that max; nothing else
        is collected. The returned frame stays lazy and is pinned to what was counted
        (``column <= high`` and at most the counted rows per key at ``high``), so rows that
        reach the source between Spark's jobs are left for the next read, not half-delivered."""
        from pyspark.sql import functions as F

        frame = self._frame(frame, "incremental_slice")
        keys = check_slice_columns(list(frame.columns), column, key_columns, self.name)
        target = F.col(_quote(column))
        with spark_errors(f"incremental read on column {column!r}"):
            condition = target.isNotNull()
            if low is not None:
                condition &= target >= F.lit(_spark_literal(low))
            if high is not None:
                condition &= target <= F.lit(_spark_literal(high))
            kept = frame.filter(condition)
            for value, (skip, cap) in boundary_trims(low, delivered, high, high_keys).items():
                kept = self._trim_at(kept, column, value, keys, skip, cap)
            top = kept.agg(F.max(target).alias("high")).collect()[0]["high"]
            if top is None:
                return IncrementalSlice(kept, None, {})
            at_top = kept.filter(target == F.lit(top))
            rows = at_top.groupBy(_row_key(keys).alias("key")).count().collect()
            counts = {row["key"]: int(row["count"]) for row in rows}
            pinned = self._trim_at(kept.filter(target <= F.lit(top)), column, top, keys, None, counts)
        return IncrementalSlice(pinned, top, counts)

    def _trim_at(self, frame: DataFrame, column: str, value: Any, keys: list[str],
                 skip: Mapping[str, int] | None, cap: Mapping[str, int] | None) -> DataFrame:
        """Among rows with ``column == value``: drop the first ``skip[key]`` rows of each key
        and any beyond the ``cap[key]``-th; the limits travel as a small broadcast frame."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        target = F.col(_quote(column))
        literal = F.lit(_spark_literal(value))
        limits = [(key, int((skip or {}).get(key, 0)), None if cap is None else int(cap.get(key, 0)))
                  for key in sorted(set(skip or {}) | set(cap or {}))]
        table = self.session.createDataFrame(limits, "__odibi_key string, __odibi_skip long,"
                                                     " __odibi_cap long")
        at = (frame.filter(target == literal)
              .withColumn("__odibi_key", _row_key(keys))
              .withColumn("__odibi_n", F.row_number().over(
                  Window.partitionBy("__odibi_key").orderBy("__odibi_key")) - 1)
              .join(F.broadcast(table), "__odibi_key", "left"))
        keep = F.col("__odibi_n") >= F.coalesce(F.col("__odibi_skip"), F.lit(0))
        if cap is not None:
            keep &= F.col("__odibi_n") < F.coalesce(F.col("__odibi_cap"), F.lit(0))
        rest = frame.filter(~(target == literal))
        return rest.unionByName(at.filter(keep).select(*[F.col(_quote(c)) for c in frame.columns]))

    def _frame(self, value: Any, what: str) -> DataFrame:
        if not self.is_frame(value):
            raise EngineError(f"{what}: expected a Spark DataFrame, got {type(value).__name__}",
                              engine=self.name)
        return value


def _session_master(session: SparkSession) -> str:
    """The master of a given session (its Connect URL is not exposed: ``sc://``)."""
    from pyspark.errors import PySparkException

    try:
        return str(session.sparkContext.master)
    except PySparkException:  # a Spark Connect session has no SparkContext
        return "sc://"


def _session_like(root: SparkSession) -> SparkSession:
    """A new session of ``root``'s SparkContext with ``root``'s runtime SQL settings."""
    session = _new_session(root)
    conf = root.conf
    entries = conf.getAll if hasattr(type(conf), "getAll") else {
        key: conf.get(key) for key in _RUNTIME_KEYS if conf.get(key, None) is not None}
    for key, value in entries.items():
        if conf.isModifiable(key):
            session.conf.set(key, value)
    return session


def _new_session(root: SparkSession) -> SparkSession:
    """``root.newSession()``; a Spark Connect session (which has none) clones itself instead:
    same server, its own temp views."""
    if type(root).__module__.startswith("pyspark.sql.connect"):
        return root.cloneSession() if hasattr(root, "cloneSession") else root
    return root.newSession()


def _drop_global_views(session: SparkSession, views: list[str]) -> None:
    """Drop the views one SQL call published; a failure is logged, not raised over the
    call's own result or error."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    for view in views:
        try:
            session.catalog.dropGlobalTempView(view)
        except (PySparkException, Py4JError) as exc:
            log.warning("could not drop the global temp view %s: %s", view, _first_line(str(exc)))


def _quote(name: str) -> str:
    """A column name for ``F.col`` (backticks, so dots and spaces are part of the name)."""
    return "`" + name.replace("`", "``") + "`"


def _spark_literal(value: Any) -> Any:
    """A watermark as something ``F.lit`` takes: numpy scalars as Python, pandas Timestamps
    as ``datetime``."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _row_key(keys: list[str]) -> Any:
    """The row key column: sha256 of ``to_json`` of the (sorted) key columns, nulls kept and
    timestamps in the pandas engine's format, so both engines give the same keys."""
    from pyspark.sql import functions as F

    options = {"ignoreNullFields": "false", "timestampFormat": _TIMESTAMP_PATTERN,
               "timestampNTZFormat": _TIMESTAMP_PATTERN}
    struct = F.struct(*[F.col(_quote(key)).alias(key) for key in keys])
    return F.sha2(F.to_json(struct, options), 256)


_TIMESTAMP_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"


def _local_path(location: str) -> Path | None:
    """The local path of ``location``, or None for a URI with another scheme (s3a://, hdfs://)."""
    if location.startswith("file:"):
        return Path(location.removeprefix("file:").removeprefix("//")).absolute()
    if "://" in location:
        return None
    return Path(location).absolute()


def _spark_uri(path: Path) -> str:
    """A local path as a ``file://`` URI, so Spark never resolves it against another default
    file system (HDFS on a cluster). Not percent-encoded: Hadoop's Path takes the raw text."""
    return "file://" + path.as_posix()


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is renamed away, then deleted."""
    if not (target.exists() or target.is_symlink()):
        os.replace(staging, target)
        fsync_dir(target.parent)
        return
    old = target.parent / f".{target.name}.{uuid.uuid4().hex}.old"
    os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    fsync_dir(target.parent)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()


def _move_parts(staging: Path, target: Path) -> None:
    """Move the part files Spark wrote to ``staging`` into the existing folder ``target``."""
    if not target.is_dir():
        raise EngineError(f"cannot append to {str(target)!r}: it is a file; Spark appends part"
                          f" files to a folder", engine=ENGINE)
    for part in sorted(staging.iterdir()):
        if part.name in ("_SUCCESS", "._SUCCESS.crc"):
            continue
        os.replace(part, target / part.name)
    fsync_dir(target)
