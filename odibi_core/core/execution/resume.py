"""What a resumed run may skip: resume keys and the resume plan.

A checkpoint says which nodes completed. That alone is not enough to skip them:

* the node's config (or code, or source file, or an upstream node's config) may have changed
  since, so its old output is stale;
* its output may have lived only in memory, so a node that must run now cannot read it.

Each node therefore has a **resume key**: a hash of its own config (type, value, params
without the executor's, engine, inputs and outputs), its function's code, its source file's
identity (path, size, mtime, content) for an ingest step, and the resume keys of its parents.
A change anywhere upstream changes every key below it (as a build system's hashes do), so a
changed node re-runs *with its descendants*.

The plan, from a checkpoint and the current keys:

1. complete = nodes the checkpoint lists as complete whose recorded key equals today's;
2. every other node runs;
3. a complete node whose outputs a running node needs is **restored** when every output is
   durable (an entry in the cache); otherwise it runs again, and then its parents are
   needed in turn;
4. the rest of the complete nodes are **resumed**: not run, not loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...cache.keys import canonical, fingerprint_code, fingerprint_source, hash_canonical
from ...functions import get_function
from ..planning.builder import DAGNode
from ..planning.ready_queue import ReadyQueue
from .step_cache import EXECUTOR_PARAMS

__all__ = ["ResumePlan", "plan_resume", "resume_keys"]

RESUME_KEY_VERSION = 2  # 2: hashed through the cache's canonical JSON


def _code(step: Any) -> str | None:
    if step.kind[1] != "function":
        return None
    try:
        return fingerprint_code(get_function(str(step.value)))
    except LookupError:
        return None


def _key(name: str, node: DAGNode, engine: str, parents: Mapping[str, str]) -> str:
    step = node.step
    source = None
    if step.kind[0] == "ingest" and isinstance(step.value, str):
        source = fingerprint_source(step.value)
    return hash_canonical({
        "version": RESUME_KEY_VERSION,
        "name": name,
        "kind": list(step.kind),
        "value": canonical(step.value, f"step '{name}' value") if not callable(step.value)
        else repr(step.value),
        "params": canonical({k: v for k, v in step.params.items() if k not in EXECUTOR_PARAMS},
                            f"step '{name}' params"),
        "engine": engine,
        "inputs": dict(sorted(step.inputs.items())),
        "outputs": dict(sorted(step.outputs.items())),
        "code": _code(step),
        "source": source,
        "parents": {parent: parents[parent] for parent in sorted(node.dependencies)},
    }, f"step '{name}' resume key")


def resume_keys(dag: Mapping[str, DAGNode], engine: str) -> dict[str, str]:
    """The resume key of every node, parents first (see the module docstring), hashed through
    the cache's canonical JSON (:func:`~odibi_core.cache.keys.hash_canonical`)."""
    keys: dict[str, str] = {}
    queue = ReadyQueue(dag)
    queue.prepare()
    ready = queue.get_ready()
    while ready:
        for name in ready:
            keys[name] = _key(name, dag[name], engine, keys)
        queue.done(*ready)
        ready = queue.get_ready()
    if len(keys) < len(dag):  # a cycle: DAGBuilder refuses these before we get here
        raise ValueError(f"cannot order nodes {sorted(queue.waiting())} (a cycle?)")
    return keys


@dataclass
class ResumePlan:
    """Which nodes a resumed run skips.

    ``resumed``: complete and unchanged, not run (``restored`` ones have their outputs loaded
    from the cache because a running node reads them). ``rerun``: complete in the checkpoint
    but run again, with the reason (``changed`` since the checkpoint, or ``needed`` by a running
    node while its output was not durable).
    """

    checkpoint_id: str | None = None
    resumed: set[str] = field(default_factory=set)
    restored: set[str] = field(default_factory=set)
    rerun: dict[str, str] = field(default_factory=dict)


def plan_resume(dag: Mapping[str, DAGNode], checkpoint: Any, keys: Mapping[str, str],
                durable: Callable[[Any], bool]) -> ResumePlan:
    """The plan for resuming ``dag`` from ``checkpoint`` (None: nothing is skipped).

    ``durable(record)`` says whether every output of a NodeCheckpoint can be restored."""
    plan = ResumePlan(checkpoint_id=getattr(checkpoint, "checkpoint_id", None))
    if checkpoint is None:
        return plan
    records = {n.node_name: n for n in checkpoint.completed_nodes
               if n.node_name in dag and n.node_name in checkpoint.completed_names}
    complete = set()
    for name, record in records.items():
        if record.cache_key is not None and record.cache_key == keys.get(name):
            complete.add(name)
        else:
            plan.rerun[name] = "changed since the checkpoint"
    runs = [name for name in dag if name not in complete]
    needed: set[str] = set()
    while runs:
        for parent in sorted(dag[runs.pop()].dependencies):
            if parent not in complete or parent in needed:
                continue
            needed.add(parent)
            if durable(records[parent]):
                plan.restored.add(parent)
            else:
                complete.discard(parent)
                plan.rerun[parent] = "its output was only in memory and a running node needs it"
                runs.append(parent)
    plan.resumed = complete
    return plan
