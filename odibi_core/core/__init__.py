"""The framework's core: steps, config, planning, execution, tracking and events."""

from __future__ import annotations

from ..cache import CacheManager
from ..engine import create_engine_context
from .config_loader import ConfigLoader
from .config_validator import ConfigValidator
from .continuous import ContinuousResult, ContinuousRunner, IterationResult, StreamRunError
from .dag_builder import DAGBuilder, DAGNode
from .dag_executor import DAGExecutor, ExecutionMode, NodeExecutionResult, NodeState
from .events import EventEmitter
from .node_context import NodeContext, ScopedEngineContext
from .orchestrator import OrchestrationResult, Orchestrator
from .retry import Jitter, RetryPolicy
from .step import Step
from .tracker import SchemaDiff, StepExecution, Tracker

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
