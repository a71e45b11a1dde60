"""The framework's core, in four folders: ``config`` (steps, loading, validation, wiring),
``planning`` (the DAG, its ready queue, its diagram), ``execution`` (the executor, its policies,
retries, continuous runs) and ``tracking`` (tracker, lineage, hooks); the ``orchestrator`` wires
them together. The event system is :mod:`odibi_core.events`.

The modules' earlier flat paths (``odibi_core.core.dag_executor`` and so on) are kept in ONE
place, the table below: each names the module object itself, so an import, an attribute patch
or ``inspect.getsource`` through an old path reaches the one implementation.
"""

from __future__ import annotations

import sys

from .. import cache_manager, events
from ..cache import CacheManager
from ..engine import create_engine_context
from ..events import EventEmitter
from .config import loader, step, validator, wiring
from .config.loader import ConfigLoader
from .config.step import Step
from .config.validator import ConfigValidator
from .execution import continuous, executor, node_context, resume, retry, step_cache
from .execution.continuous import (
    ContinuousResult,
    ContinuousRunner,
    IterationResult,
    StreamRunError,
)
from .execution.executor import DAGExecutor, ExecutionMode, NodeExecutionResult, NodeState
from .execution.node_context import NodeContext, ScopedEngineContext
from .execution.retry import Jitter, RetryPolicy
from .orchestrator import OrchestrationResult, Orchestrator
from .planning import builder, mermaid
from .planning.builder import DAGBuilder, DAGNode
from .tracking import hooks, lineage, tracker
from .tracking.tracker import SchemaDiff, StepExecution, Tracker

#: old module path (under odibi_core.core) -> the module that now holds it
MOVED_MODULES = {
    "cache_manager": cache_manager,  # the parallel-execution lesson's import path
    "config_loader": loader,
    "config_validator": validator,
    "continuous": continuous,
    "dag_builder": builder,
    "dag_executor": executor,
    "events": events,
    "hooks": hooks,
    "lineage": lineage,
    "mermaid": mermaid,
    "node_context": node_context,
    "resume": resume,
    "retry": retry,
    "step": step,
    "step_cache": step_cache,
    "tracker": tracker,
    "wiring": wiring,
}
for _old, _module in MOVED_MODULES.items():
    sys.modules[f"{__name__}.{_old}"] = _module
    globals()[_old] = _module
del _old, _module

__all__ = [
    "CacheManager",
    "ConfigLoader",
    "ConfigValidator",
    "ContinuousResult",
    "ContinuousRunner",
    "DAGBuilder",
    "DAGExecutor",
    "DAGNode",
    "EventEmitter",
    "ExecutionMode",
    "IterationResult",
    "Jitter",
    "NodeContext",
    "NodeExecutionResult",
    "NodeState",
    "OrchestrationResult",
    "Orchestrator",
    "RetryPolicy",
    "SchemaDiff",
    "ScopedEngineContext",
    "Step",
    "StepExecution",
    "StreamRunError",
    "Tracker",
    "create_engine_context",
]
