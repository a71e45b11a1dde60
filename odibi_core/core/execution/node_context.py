"""One node's own temp tables, so nodes running at the same time never see each other's.

The seed registers Spark temp views as ``<node>_<view>`` in the shared session: two attempts of
one node (a retry) or two runs of one pipeline still collide, and a query must spell the
prefixed name. A :class:`NodeContext` registers each frame under a name unique to the node AND
to this context instance (``<node>_<8 hex>_<view>``, SQL-safe), keeps the logical name for
queries, and drops everything it registered on exit, error or not.

The executor gives every node attempt its own NodeContext and hands the node a
:class:`ScopedEngineContext`: the run's engine, except that ``register_temp``,
``unregister_temp`` and ``execute_sql`` go through the node's NodeContext.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ...engine.base import EngineContext, Snapshot
from ...errors import EngineError

__all__ = ["NodeContext", "ScopedEngineContext"]

log = logging.getLogger("odibi_core.core.node_context")  # the logger keeps its name from before the move

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# context ids: a random per-process part and a counter (uuid4 per attempt costs more than the
# no-op node it wraps); unique within the process, and across processes sharing a session
_PROCESS_ID = uuid.uuid4().hex[:4]
_COUNTER = itertools.count()


def _sql_safe(text: str, limit: int) -> str:
    """``text`` as a SQL identifier part; a short hash keeps distinct names distinct."""
    safe = _UNSAFE.sub("_", text)[:limit] or "x"
    if safe != text:
        safe += "_" + hashlib.sha256(text.encode()).hexdigest()[:6]
    return safe


class NodeContext:
    """Temp tables of one node (one attempt of it), under unique SQL-safe names.

    Args:
        node_name: the node (step) name; it prefixes every view name.
        spark_session: a SparkSession, when there is no engine context: frames are registered
            as Spark temp views under their unique names, and :meth:`execute_sql` runs through
            a Spark engine on that session (each query isolated, logical names visible).
        engine: the engine context to register on and run SQL with (preferred).

    Example::

        with NodeContext("clean", engine=context) as ctx:
            ctx.register_temp("orders", frame)
            result = ctx.execute_sql("SELECT * FROM orders WHERE amount > 0")
        # nothing this context registered is left on the engine
    """

    def __init__(self, node_name: str, spark_session: Any = None, *,
                 engine: EngineContext | None = None) -> None:
        self.node_name = node_name
        self.spark = spark_session
        self.engine = engine
        self.id = f"{_PROCESS_ID}{next(_COUNTER):04x}"
        self._frames: dict[str, Any] = {}  # logical name -> frame
        self._spark_views: dict[str, Any] = {}  # unique name -> session holding the view
        self._sql_engine: EngineContext | None = engine
        self._lock = threading.Lock()

    @functools.cached_property
    def _prefix(self) -> str:
        """Starts every view name (made on first use: most nodes register no temp table)."""
        safe = _sql_safe(self.node_name, 40)
        # an identifier must not start with a digit
        return f"{'n' if safe[0].isdigit() else ''}{safe}_{self.id}"

    def __repr__(self) -> str:
        return f"NodeContext({self.node_name!r}, id={self.id!r}, temps={sorted(self.registered)})"

    @property
    def registered(self) -> dict[str, str]:
        """Logical name -> unique view name of every frame registered and not yet dropped."""
        with self._lock:
            return {name: self.view_name(name) for name in self._frames}

    def view_name(self, name: str) -> str:
        """The unique, SQL-safe name ``name`` is (or would be) registered under."""
        return f"{self._prefix}_{_sql_safe(name, 60)}"

    def register_temp(self, name: str, frame: Any) -> str:
        """Register ``frame`` for this node's SQL; returns its unique view name.

        Queries through :meth:`execute_sql` may use ``name`` or the unique name. With an engine
        the frame is kept here and handed to each query (``EngineContext.execute_sql`` makes
        tables visible for one call only), so nothing is put on the shared engine; with a raw
        Spark session the unique name is also a real temp view, for ``spark.sql``."""
        unique = self.view_name(name)
        if self.engine is None and self.spark is not None:
            frame.createOrReplaceTempView(unique)
            with self._lock:
                self._spark_views[unique] = frame.sparkSession
        with self._lock:
            self._frames[name] = frame
        log.debug("node %s registered temp %r as %s", self.node_name, name, unique)
        return unique

    def unregister_temp(self, name: str) -> None:
        """Drop one registration (unknown names are ignored)."""
        with self._lock:
            known = self._frames.pop(name, None) is not None
        if known:
            self._drop(self.view_name(name))

    def _drop(self, unique: str) -> None:
        with self._lock:
            session = self._spark_views.pop(unique, None)
        if session is None:
            return
        try:
            session.catalog.dropTempView(unique)
        except Exception as exc:  # cleanup must not hide the node's own error
            log.warning("node %s: cannot drop temp view %s: %s", self.node_name, unique, exc)

    def _engine_for_sql(self) -> EngineContext:
        if self._sql_engine is None:
            if self.spark is None:
                raise EngineError(f"NodeContext {self.node_name!r} has no engine and no Spark"
                                  f" session to run SQL with; pass engine= (or spark_session=)",
                                  step=self.node_name)
            from ...engine.spark_context import SparkEngineContext

            self._sql_engine = SparkEngineContext(session=self.spark)
        return self._sql_engine

    def execute_sql(self, query: str, tables: Mapping[str, Any] | None = None) -> Any:
        """Run ``query`` with this node's registered frames (by logical and unique name) and
        ``tables`` visible, for this call only (``tables`` win on a name clash)."""
        engine = self._engine_for_sql()
        with self._lock:
            frames = dict(self._frames)
        visible = {self.view_name(name): frame for name, frame in frames.items()}
        visible.update(frames)
        visible.update(tables or {})
        return engine.execute_sql(query, visible)

    def cleanup(self) -> None:
        """Drop everything this context registered; safe to call more than once."""
        if not self._frames:
            return
        with self._lock:
            names = list(self._frames)
            self._frames.clear()
        for name in names:
            self._drop(self.view_name(name))
        if names:
            log.debug("node %s dropped %d temp table(s)", self.node_name, len(names))

    def scoped_engine(self) -> ScopedEngineContext:
        """The engine as this node should see it (requires ``engine``)."""
        if self.engine is None:
            raise EngineError(f"NodeContext {self.node_name!r} was made without an engine",
                              step=self.node_name)
        return ScopedEngineContext(self.engine, self)

    def __enter__(self) -> NodeContext:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()


class ScopedEngineContext(EngineContext):
    """The run's engine as one node sees it: temp tables and SQL go through the node's
    :class:`NodeContext`; reads, writes, snapshots and anything engine-specific go to the
    shared engine. Closing it does nothing (the engine belongs to the run)."""

    def __init__(self, engine: EngineContext, node_context: NodeContext | None = None, *,
                 node_name: str | None = None) -> None:
        if node_context is None and node_name is None:
            raise ValueError("ScopedEngineContext needs a node_context or a node_name")
        self.engine = engine
        self._node_context = node_context
        self._node_name = node_context.node_name if node_context is not None else node_name
        self.name = engine.name
        self.cheap_counts = engine.cheap_counts
        self.is_frame = engine.is_frame  # called per input: one hop less

    @classmethod
    def for_node(cls, engine: EngineContext, node_name: str) -> ScopedEngineContext:
        """A scope whose NodeContext is made on first use (most nodes register no temp
        table); :meth:`release` drops what it registered."""
        return cls(engine, node_name=node_name)

    @property
    def node_context(self) -> NodeContext:
        if self._node_context is None:
            self._node_context = NodeContext(self._node_name or "", engine=self.engine)
        return self._node_context

    def release(self) -> None:
        """Drop the temp tables the node registered (none when it never used its scope)."""
        if self._node_context is not None:
            self._node_context.cleanup()

    def __repr__(self) -> str:
        return f"ScopedEngineContext({self.engine!r}, node={self._node_name!r})"

    def __getattr__(self, attribute: str) -> Any:
        # only called for attributes not found here: engine extras such as ``session``
        if attribute.startswith("_") or attribute == "engine":
            raise AttributeError(attribute)
        return getattr(self.engine, attribute)

    def read(self, location: str, *, format: str | None = None, **options: Any) -> Any:
        return self.engine.read(location, format=format, **options)

    def write(self, frame: Any, location: str, *, format: str | None = None,
              mode: str = "overwrite", **options: Any) -> None:
        self.engine.write(frame, location, format=format, mode=mode, **options)

    def execute_sql(self, sql: str, tables: Mapping[str, Any] | None = None) -> Any:
        return self.node_context.execute_sql(sql, tables)

    def register_temp(self, name: str, frame: Any) -> None:
        self.node_context.register_temp(name, frame)

    def unregister_temp(self, name: str) -> None:
        self.node_context.unregister_temp(name)

    def snapshot(self, frame: Any, *, sample_rows: int = 5, count: bool | None = None) -> Snapshot:
        return self.engine.snapshot(frame, sample_rows=sample_rows, count=count)

    def count_rows(self, frame: Any) -> int | None:
        return self.engine.count_rows(frame)

    def collect_sample(self, frame: Any, n: int = 5) -> list[dict[str, Any]]:
        return self.engine.collect_sample(frame, n)

    def fingerprint(self, frame: Any) -> str | None:
        return self.engine.fingerprint(frame)

    def to_pandas(self, frame: Any) -> Any:
        return self.engine.to_pandas(frame)

    def from_pandas(self, frame: Any) -> Any:
        return self.engine.from_pandas(frame)

    def is_frame(self, value: Any) -> bool:
        return self.engine.is_frame(value)

    def union_all(self, frames: Any) -> Any:
        return self.engine.union_all(frames)

    def incremental_slice(self, frame: Any, column: str, *args: Any, **kwargs: Any) -> Any:
        return self.engine.incremental_slice(frame, column, *args, **kwargs)

    def close(self) -> None:
        """Nothing to release: the shared engine outlives the node."""
