"""The options of a DAGExecutor, as one record.

``DAGExecutor(dag, context, settings=ExecutorSettings(...))`` and the keyword form
``DAGExecutor(dag, context, max_workers=8, ...)`` are the same: the keywords fill this record.
Each option is documented once, here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ...cache import CacheManager
from ...checkpoint import CheckpointMode
from .results import ExecutionMode
from .retry import RetryPolicy

__all__ = ["ExecutorSettings"]


def _member(enum: Any, value: Any, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{what} must be one of {[m.value for m in enum]}, got {value!r}") from None


@dataclass
class ExecutorSettings:
    """How a DAGExecutor runs.

    Args:
        max_workers: 1 runs inline in a stable order; more runs independent nodes at once.
        max_retries: retries after the first attempt (total attempts = max_retries + 1) for
            retryable errors; a step's ``params["max_retries"]`` overrides it for that step.
        retry_delay: nominal seconds before the first retry, doubling after, with equal
            jitter (the wait is drawn in ``[d/2, d]``); a step's ``params["retry_delay"]``
            overrides it.
        retry_policy: the full policy (backoff, cap, jitter, retryable errors); give it instead
            of ``max_retries`` / ``retry_delay``.
        fail_fast: stop starting nodes (and retries) after the first failure; otherwise finish
            every branch that does not depend on a failed node.
        data_map: data-map entries provided from outside (external inputs).
        use_cache: reuse outputs of ingest and transform steps whose inputs, config, source
            files and code are unchanged (content-addressed; store and publish steps always run).
        cache: the CacheManager to use (default: a new one when ``use_cache``).
        clock: monotonic clock in seconds, for durations and retry due times.
        sleep: waits for the next retry when nothing is running (injectable for tests).
        rng: draws retry jitter (a seeded ``random.Random`` makes delays reproducible).
        mode: BATCH, STREAM or RESUME (see :class:`ExecutionMode`).
        checkpoint_manager: where checkpoints go. With one, a BATCH or RESUME run saves
            checkpoints as ``checkpoint_mode`` says, RESUME starts from the latest one, and a
            STREAM run saves one per iteration.
        checkpoint_mode: when a BATCH or RESUME run saves: MANUAL (only when you call
            ``save_checkpoint``), AUTO (after every node that completes), INTERVAL (after a
            node completes, at most every ``checkpoint_interval`` seconds) or LAYER (when every
            node of a DAG level has finished). All but MANUAL also save when the run ends.
        checkpoint_interval: seconds between INTERVAL saves.
        dag_name: the name checkpoints are kept under.

    Bad values raise ValueError naming the option, what is allowed and what was given.
    """

    max_workers: int = 4
    max_retries: int = 2
    retry_delay: float = 1.0
    retry_policy: RetryPolicy | None = None
    fail_fast: bool = True
    data_map: Mapping[str, Any] | None = None
    use_cache: bool = False
    cache: CacheManager | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Any] = time.sleep
    rng: random.Random | None = field(default=None)
    mode: ExecutionMode | str = ExecutionMode.BATCH
    checkpoint_manager: Any = None
    checkpoint_mode: CheckpointMode | str = CheckpointMode.AUTO
    checkpoint_interval: float = 60.0
    dag_name: str = "pipeline"

    def __post_init__(self) -> None:
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {self.max_workers}")
        if self.retry_policy is not None and (self.max_retries, self.retry_delay) != (2, 1.0):
            raise ValueError("pass either retry_policy or max_retries/retry_delay, not both")
        self.mode = _member(ExecutionMode, self.mode, "mode")
        self.checkpoint_mode = _member(CheckpointMode, self.checkpoint_mode, "checkpoint_mode")
        if self.checkpoint_interval <= 0:
            raise ValueError(f"checkpoint_interval must be > 0 seconds, got {self.checkpoint_interval}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every option's name (the keywords DAGExecutor accepts)."""
        return tuple(f.name for f in fields(cls))

    def policy(self) -> RetryPolicy:
        """The run's retry policy: ``retry_policy``, or one built from the two numbers."""
        return self.retry_policy or RetryPolicy(max_retries=self.max_retries, retry_delay=self.retry_delay)
