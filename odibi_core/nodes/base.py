"""The node contract: a node runs one step against an engine context.

``run(inputs)`` takes the step's inputs by logical name (frames, or a Connection from a
connect step) and returns its outputs by logical name; the executor maps them to
data-map keys with ``step.outputs``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..engine.base import EngineContext
from ..errors import StepError

if TYPE_CHECKING:  # a node only reads a Step: the nodes never import odibi_core.core
    from ..core.config.step import Step

__all__ = ["Connection", "Node"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True)
class Connection:
    """Where later steps read from or write to: a SQLite database or a folder of files."""

    name: str
    location: str
    kind: str  # "sqlite" or "folder"
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_location(cls, name: str, location: str, options: Mapping[str, Any] | None = None) -> Connection:
        kind = "sqlite" if Path(location).suffix.lower() in _SQLITE_SUFFIXES else "folder"
        return cls(name=name, location=str(location), kind=kind, options=dict(options or {}))

    def resolve(self, target: str) -> tuple[str, dict[str, Any]]:
        """(location, engine options) for a table or file name under this connection."""
        if self.kind == "sqlite":
            return self.location, {"format": "sqlite", "table": target}
        return str(Path(self.location) / target), {}


class Node(ABC):
    """Runs one step. Subclasses are registered per (layer, type) with ``register_node``."""

    layer: ClassVar[str] = ""
    type: ClassVar[str] = ""

    def __init__(self, step: Step, context: EngineContext) -> None:
        self.step = step
        self.context = context

    @abstractmethod
    def run(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Do the step's work; return outputs by logical name."""

    # -- helpers for subclasses ----------------------------------------------------
    def fail(self, message: str) -> StepError:
        return StepError(self.step.name, message)

    def frames(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs that are dataframes, by logical name."""
        return {name: value for name, value in inputs.items() if self.context.is_frame(value)}

    def connection(self, inputs: Mapping[str, Any]) -> Connection | None:
        found = [value for value in inputs.values() if isinstance(value, Connection)]
        if len(found) > 1:
            raise self.fail(f"expected at most one connection input, got {len(found)}")
        return found[0] if found else None

    def single_frame(self, inputs: Mapping[str, Any]) -> Any:
        frames = self.frames(inputs)
        if len(frames) != 1:
            raise self.fail(f"expected exactly one dataframe input, got {len(frames)}: {sorted(frames)}")
        return next(iter(frames.values()))

    def output(self, value: Any) -> dict[str, Any]:
        """Map one value to the step's single declared output."""
        if len(self.step.outputs) != 1:
            raise self.fail(f"expected exactly one output, got {sorted(self.step.outputs)}")
        return {next(iter(self.step.outputs)): value}

    def location(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Where ``step.value`` points (through a connection input if there is one), with the
        engine options from ``params`` (``format``, ``table``, ``options``)."""
        params = self.step.params
        options: dict[str, Any] = dict(params.get("options", {}))
        connection = self.connection(inputs)
        if connection is not None:
            location, extra = connection.resolve(str(self.step.value))
            options.update(extra)
        else:
            location = str(self.step.value)
            if "table" in params:
                options["table"] = params["table"]
        if "format" in params:
            options["format"] = params["format"]
        return location, options
