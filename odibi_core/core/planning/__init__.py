"""Planning: the DAG of a list of steps (validated, levelled), its ready queue and its diagram."""

from __future__ import annotations

from .builder import DAGBuilder, DAGNode
from .mermaid import MermaidDiagram

__all__ = ["DAGBuilder", "DAGNode", "MermaidDiagram"]
