"""The ready queue: which nodes of a planned DAG may start now, in the manner of
:class:`graphlib.TopologicalSorter`.

``prepare()`` once, then ``get_ready()`` hands out every node whose parents are all done (each
node once), ``done(name)`` marks a handed-out node finished and releases its children, and
``is_active()`` says whether anything is still to hand out or to finish. Every call costs the
degree of the nodes it touches: nothing scans the whole DAG per node, so a walk of ``n`` nodes
and ``e`` edges is O(n + e).

The executor (the scheduling loop), the critical path, the resume keys and the builder's levels
all walk the DAG through this one object. A node that fails is simply never ``done``: its
descendants are never handed out.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from ...errors import CycleError

__all__ = ["ReadyQueue", "find_cycle"]

_PENDING, _READY, _OUT, _DONE = 0, 1, 2, 3


class PlannedNode(Protocol):
    """What the queue reads of a node: the names it waits for and the names waiting for it."""

    dependencies: set[str]
    dependents: set[str]


class ReadyQueue:
    """Hands out the nodes of ``dag`` (name -> node with ``dependencies`` / ``dependents``)
    as their parents finish.

    Misuse raises ``ValueError`` with graphlib's messages: ``prepare() must be called first``,
    ``cannot prepare() more than once``, ``node 'x' was not passed out (still not ready)``,
    ``node 'x' was already marked done``; an unknown name says so.
    """

    __slots__ = ("_dag", "_finished", "_out", "_ready", "_state", "_waiting")

    def __init__(self, dag: Mapping[str, PlannedNode]) -> None:
        self._dag = dag
        self._waiting: dict[str, int] = {}
        self._state: dict[str, int] | None = None
        self._ready: list[str] = []
        self._out = 0  # handed out and not yet done
        self._finished = 0

    def prepare(self, done: Iterable[str] = ()) -> None:
        """Start the walk. ``done`` names nodes finished before it starts (a resumed run's
        complete nodes): they are never handed out and release their children at once."""
        if self._state is not None:
            raise ValueError("cannot prepare() more than once")
        dag = self._dag
        self._waiting = waiting = {name: len(node.dependencies) for name, node in dag.items()}
        self._state = state = dict.fromkeys(dag, _PENDING)
        for name in done:
            if name not in state:
                raise ValueError(f"node {name!r} is not in the DAG")
            state[name] = _DONE
            self._finished += 1
        if self._finished:
            for name in [n for n, s in state.items() if s == _DONE]:
                for child in dag[name].dependents:
                    waiting[child] -= 1
        self._ready = [name for name, count in waiting.items() if not count and state[name] == _PENDING]
        for name in self._ready:
            state[name] = _READY

    def _prepared(self) -> dict[str, int]:
        if self._state is None:
            raise ValueError("prepare() must be called first")
        return self._state

    def get_ready(self) -> tuple[str, ...]:
        """Every node that became ready since the last call (possibly none), each once."""
        state = self._prepared()
        ready, self._ready = self._ready, []
        for name in ready:
            state[name] = _OUT
        self._out += len(ready)
        return tuple(ready)

    def is_active(self) -> bool:
        """Whether a node is ready or handed out and not done (graphlib's meaning: False once
        every node that can still progress has been done)."""
        self._prepared()
        return bool(self._out or self._ready)

    def done(self, *names: str) -> None:
        """Mark handed-out nodes finished; their children whose parents are all done become
        ready (cost: the nodes' out-degree)."""
        state = self._prepared()
        dag, waiting, ready = self._dag, self._waiting, self._ready
        for name in names:
            current = state.get(name)
            if current != _OUT:
                if current is None:
                    raise ValueError(f"node {name!r} is not in the DAG")
                if current == _DONE:
                    raise ValueError(f"node {name!r} was already marked done")
                raise ValueError(f"node {name!r} was not passed out (still not ready)")
            state[name] = _DONE
            self._out -= 1
            self._finished += 1
            for child in dag[name].dependents:
                count = waiting[child] - 1
                waiting[child] = count
                if not count and state[child] == _PENDING:
                    state[child] = _READY
                    ready.append(child)

    def waiting(self) -> set[str]:
        """Nodes never handed out because some parent is not done (failed, or in a cycle)."""
        state = self._prepared()
        return {name for name, s in state.items() if s == _PENDING}

    def static_order(self) -> Iterator[str]:
        """Every node, parents first, ties broken by name (a heap of the ready names): the
        stable order of :meth:`DAGBuilder.get_execution_order`. Raises CycleError, naming the
        cycle in order, when nodes remain that wait on each other."""
        self.prepare()
        ready = list(self.get_ready())
        heapq.heapify(ready)
        while ready:
            name = heapq.heappop(ready)
            yield name
            self.done(name)
            for child in self.get_ready():
                heapq.heappush(ready, child)
        stuck = self.waiting()
        if stuck:
            raise CycleError(find_cycle(self._dag, stuck))


    def levels(self) -> list[list[str]]:
        """Every node by level, each level's names sorted: level 0 holds the nodes without
        parents, level k those whose longest chain of parents has k nodes (what one round of
        ``get_ready`` / ``done`` of a whole batch hands out). Raises CycleError like
        :meth:`static_order`."""
        self.prepare()
        found = []
        ready = self.get_ready()
        while ready:
            found.append(sorted(ready))
            self.done(*ready)
            ready = self.get_ready()
        stuck = self.waiting()
        if stuck:
            raise CycleError(find_cycle(self._dag, stuck))
        return found


def find_cycle(dag: Mapping[str, PlannedNode], stuck: set[str]) -> list[str]:
    """One cycle among the stuck nodes, in dependency order, first node repeated at the end."""
    start = min(stuck)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(d for d in dag[node].dependencies if d in stuck)
    cycle = path[seen[node]:]
    cycle.reverse()  # walked child -> parent; report parent -> child
    first = cycle.index(min(cycle))
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]
