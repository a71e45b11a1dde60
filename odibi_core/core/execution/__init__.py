"""Execution: the scheduling loop, its policies (cache, checkpoints, resume), retries and
continuous (micro-batch) runs."""

from __future__ import annotations

from .continuous import ContinuousResult, ContinuousRunner, IterationResult, StreamRunError
from .executor import DAGExecutor, ExecutionMode, NodeExecutionResult, NodeState
from .node_context import NodeContext, ScopedEngineContext
from .retry import Jitter, RetryPolicy

__all__ = ["ContinuousResult", "ContinuousRunner", "DAGExecutor", "ExecutionMode", "IterationResult",
           "Jitter", "NodeContext", "NodeExecutionResult", "NodeState", "RetryPolicy",
           "ScopedEngineContext", "StreamRunError"]
