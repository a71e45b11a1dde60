"""Planning: turn steps into a validated DAG of named nodes with levels and a stable order.

The planner knows nothing of engines. Dependencies come from data-map keys: a step that
reads key ``k`` depends on the one step that writes ``k``. Levels are for display and
teaching; execution is driven by the ready queue (:mod:`.ready_queue`), which also orders the
DAG here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ValidationError
from ..config.step import Step
from ..config.wiring import wiring_problems
from .mermaid import MermaidDiagram, flowchart
from .ready_queue import ReadyQueue

__all__ = ["DAGBuilder", "DAGNode"]


@dataclass
class DAGNode:
    """A step in the DAG: who it waits for, who waits for it, and its depth."""

    name: str
    step: Step
    dependencies: set[str] = field(default_factory=set)
    dependents: set[str] = field(default_factory=set)
    level: int = 0


class DAGBuilder:
    """Builds and orders the DAG of a list of steps.

    Args:
        steps: the pipeline's steps.
        external: data-map keys provided from outside the pipeline (no step writes them).
    """

    def __init__(self, steps: Sequence[Step], *, external: Iterable[str] = ()) -> None:
        self.steps = list(steps)
        self.external = set(external)
        self._dag: dict[str, DAGNode] | None = None

    # -- building -----------------------------------------------------------------
    def _producers(self) -> dict[str, str]:
        problems = wiring_problems(self.steps, self.external)
        if problems:
            raise ValidationError(problems)
        return {key: step.name for step in self.steps for key in step.outputs.values()}

    def build(self) -> dict[str, DAGNode]:
        """Validate the wiring and return name -> DAGNode. Raises ValidationError (duplicate
        names or outputs, dangling inputs) or CycleError naming the cycle in order."""
        producers = self._producers()
        dag = {step.name: DAGNode(step.name, step) for step in self.steps}
        for step in self.steps:
            for key in step.inputs.values():
                parent = producers.get(key)
                if parent is not None:
                    dag[step.name].dependencies.add(parent)
                    dag[parent].dependents.add(step.name)
        for level, names in enumerate(ReadyQueue(dag).levels()):  # raises CycleError
            for name in names:
                dag[name].level = level
        self._dag = dag
        return dag

    @staticmethod
    def _kahn(dag: dict[str, DAGNode]) -> list[str]:
        """Kahn's algorithm on the ready queue: a node comes out once all its parents have; among
        ready nodes the smallest name first (a heap), so the order is stable. A cycle leaves
        nodes waiting: CycleError names it in order."""
        return list(ReadyQueue(dag).static_order())

    # -- reading the plan -------------------------------------------------------------
    @property
    def dag(self) -> dict[str, DAGNode]:
        return self._dag if self._dag is not None else self.build()

    def get_execution_order(self) -> list[str]:
        """A topological order; ties are broken by name, so the order is stable."""
        return self._kahn(self.dag)

    def get_parallel_batches(self) -> list[list[str]]:
        """Nodes grouped by level (each group could run at once), names sorted in a group."""
        batches: dict[int, list[str]] = {}
        for node in self.dag.values():
            batches.setdefault(node.level, []).append(node.name)
        return [sorted(batches[level]) for level in sorted(batches)]

    def export_mermaid(self, states: Mapping[str, Any] | None = None) -> str:
        """The DAG as Mermaid flowchart text, each edge labelled with the keys it carries.

        ``states`` (step name -> state, or the executor's results) colours the nodes.
        """
        order = self.get_execution_order()
        nodes = [(name, f"{self.dag[name].step.layer}/{self.dag[name].step.type}") for name in order]
        edges = []
        for name in order:
            for child in sorted(self.dag[name].dependents):
                keys = sorted(k for k in self.dag[child].step.inputs.values()
                              if k in self.dag[name].step.outputs.values())
                edges.append((name, child, keys))
        return flowchart(nodes, edges, states)

    def mermaid(self, states: Mapping[str, Any] | None = None) -> MermaidDiagram:
        """The DAG as a diagram a notebook renders (``text/vnd.mermaid``, JupyterLab >= 4.1);
        ``states`` colours the nodes as in :meth:`export_mermaid`."""
        return MermaidDiagram(self.export_mermaid(states))
