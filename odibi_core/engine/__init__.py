"""Engines: the EngineContext contract, the pandas engine (DuckDB SQL) and the Spark engine.

pyspark is imported lazily inside the Spark engine, so this package imports without it.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import EngineError
from .base import FORMATS, EngineContext, Snapshot, infer_format
from .pandas_context import PandasEngineContext
from .spark_context import SparkEngineContext

__all__ = [
    "ENGINE_CLASSES",
    "FORMATS",
    "EngineContext",
    "PandasEngineContext",
    "Snapshot",
    "SparkEngineContext",
    "create_engine_context",
    "infer_format",
]

#: engine name -> context class
ENGINE_CLASSES: dict[str, type[EngineContext]] = {
    "pandas": PandasEngineContext,
    "spark": SparkEngineContext,
}


def create_engine_context(engine: str = "pandas", **options: Any) -> EngineContext:
    """A new context for ``engine`` ("pandas" or "spark") built with ``options``.

    Raises:
        EngineError: the engine is unknown or does not take one of the options.
    """
    cls = ENGINE_CLASSES.get(str(engine).lower())
    if cls is None:
        raise EngineError(f"unknown engine {engine!r}; engines: {sorted(ENGINE_CLASSES)}")
    try:
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        accepted = sorted(inspect.signature(cls).parameters)
        raise EngineError(f"the {cls.name} engine does not take options {sorted(options)}: {exc};"
                          f" accepted: {accepted}", engine=cls.name) from exc
    return cls(**options)
