"""The Step: one unit of a pipeline, wired to others by named inputs and outputs.

A Step accepts any strings when constructed (sketches and tests build DAGs from
placeholder layers such as ``layer="i"``); what is allowed is enforced by
``ConfigValidator`` and again just before a step runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ENGINES", "LAYERS", "LAYER_ALIASES", "STEP_TYPES", "TYPE_ALIASES", "Step"]

LAYERS = ("connect", "ingest", "transform", "store", "publish")
LAYER_ALIASES = {"connection": "connect", "ingestion": "ingest", "transformation": "transform",
                 "storage": "store", "publishing": "publish"}
STEP_TYPES = ("config_op", "sql", "function")
TYPE_ALIASES = {"config": "config_op"}
ENGINES = ("pandas", "spark")


@dataclass
class Step:
    """One pipeline step.

    Args:
        layer: connect, ingest, transform, store or publish (``ingestion`` and
            ``transformation`` are accepted aliases).
        name: unique name of the step in its pipeline.
        type: ``config_op`` (read/write driven by ``value``), ``sql`` or ``function``.
        engine: ``pandas`` or ``spark``.
        value: what the step does: a path, a SQL query or a registered function name.
        params: options for the step (format, table, function arguments, ...).
        inputs: logical name (the SQL table name, the function argument) -> data-map key read.
        outputs: logical name -> data-map key written.
        metadata: free-form notes (owner, description); never affects execution.
    """

    layer: str
    name: str
    type: str
    engine: str
    value: Any
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> tuple[str, str]:
        """(layer, type) with aliases resolved; what the node registry is keyed by."""
        layer = LAYER_ALIASES.get(self.layer, self.layer)
        return layer, TYPE_ALIASES.get(self.type, self.type)

    def to_dict(self) -> dict[str, Any]:
        """The step as plain data (the JSON/YAML config record)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """Build a step from a config record with the Step field names."""
        return cls(**data)
