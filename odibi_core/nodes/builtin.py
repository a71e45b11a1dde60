"""The built-in node types: connect, ingest, transform (sql, function), store, publish."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Mapping
from typing import Any

from ..atomic import write_json_atomic
from ..functions import get_function
from .base import Connection, Node
from .registry import register_node

__all__ = ["ConnectNode", "FunctionTransformNode", "IngestNode", "PublishNode", "SqlTransformNode",
           "StoreNode"]


@register_node("connect", "config_op")
class ConnectNode(Node):
    """Declares where data lives (a SQLite file or a folder) for later steps to use."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(self.step.params.get("options", {}))
        return self.output(Connection.for_location(self.step.name, str(self.step.value), options))


@register_node("ingest", "config_op")
class IngestNode(Node):
    """Reads a file (csv, json, parquet) or a table of a connection into a dataframe."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        location, options = self.location(inputs)
        return self.output(self.context.read(location, **options))


@register_node("transform", "sql")
class SqlTransformNode(Node):
    """Runs ``value`` as SQL with each input visible as a table under its logical name."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return self.output(self.context.execute_sql(str(self.step.value), self.frames(inputs)))


@functools.lru_cache(maxsize=1024)
def _signature_has_context(fn: Any) -> bool:
    return "context" in inspect.signature(fn).parameters


def _accepts_context(fn: Any) -> bool:
    """Whether ``fn`` takes a ``context`` argument (signatures are cached: this runs per call)."""
    try:
        return _signature_has_context(fn)
    except TypeError:  # an unhashable callable
        return "context" in inspect.signature(fn).parameters


@register_node("transform", "function")
class FunctionTransformNode(Node):
    """Calls the registered function ``value`` with the inputs as keyword arguments (by logical
    name) plus ``params['args']``; a ``context`` parameter receives the engine context. The
    function returns a frame (one output) or a dict of frames by logical output name."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        try:
            fn = get_function(str(self.step.value))
        except LookupError as exc:
            raise self.fail(str(exc)) from exc
        is_frame = self.context.is_frame
        kwargs = {name: value for name, value in inputs.items() if is_frame(value)}  # frames()
        args = self.step.params.get("args")
        if args:
            kwargs.update(args)
        if _accepts_context(fn):
            kwargs["context"] = self.context
        result = fn(**kwargs)
        if is_frame(result) and len(self.step.outputs) == 1:  # the common case: one frame out
            return {next(iter(self.step.outputs)): result}
        if self.context.is_frame(result):
            return self.output(result)  # says what is wrong with the declared outputs
        if isinstance(result, Mapping):
            missing = sorted(set(self.step.outputs) - set(result))
            if missing:
                raise self.fail(f"function {self.step.value!r} returned {sorted(result)}, missing"
                                f" declared outputs {missing}")
            return dict(result)
        raise self.fail(f"function {self.step.value!r} returned {type(result).__name__};"
                        f" expected a dataframe or a dict of dataframes")


@register_node("store", "config_op")
class StoreNode(Node):
    """Writes its one dataframe input to ``value`` (a path, or a table of a connection);
    passes the frame on when the step declares an output."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        frame = self.single_frame(inputs)
        location, options = self.location(inputs)
        self.context.write(frame, location, mode=self.step.params.get("mode", "overwrite"), **options)
        return self.output(frame) if self.step.outputs else {}


@register_node("publish", "config_op")
class PublishNode(StoreNode):
    """Stores like a store step, then writes ``<target>.manifest.json`` (rows, columns,
    fingerprint, time) beside a file target so consumers can see what was published."""

    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        outputs = super().run(inputs)
        location, options = self.location(inputs)
        if options.get("format") != "sqlite" and "table" not in options:
            frame = self.single_frame(inputs)
            snap = self.context.snapshot(frame, sample_rows=0, count=True)
            manifest = {
                "step": self.step.name,
                "target": location,
                "rows": snap.row_count,
                "columns": [f"{name}: {dtype}" for name, dtype in snap.schema],
                "fingerprint": self.context.fingerprint(frame),
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            write_json_atomic(f"{location}.manifest.json", manifest)
        return outputs
