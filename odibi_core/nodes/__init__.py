"""Node types: what runs a step of each (layer, type), and the registry to add more."""

from __future__ import annotations

from . import builtin  # noqa: F401 - registers the built-in node types
from .base import Connection, Node
from .builtin import (
    ConnectNode,
    FunctionTransformNode,
    IngestNode,
    PublishNode,
    SqlTransformNode,
    StoreNode,
)
from .registry import known_kinds, node_class, register_node, unregister_node

__all__ = [
    "ConnectNode",
    "Connection",
    "FunctionTransformNode",
    "IngestNode",
    "Node",
    "PublishNode",
    "SqlTransformNode",
    "StoreNode",
    "known_kinds",
    "node_class",
    "register_node",
    "unregister_node",
]
