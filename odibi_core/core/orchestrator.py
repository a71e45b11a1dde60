"""The Orchestrator: validate steps, plan the DAG, run it, and report the outcome.

Two construction styles work::

    Orchestrator(steps, context, tracker, events, parallel=False).run()
    Orchestrator(steps=steps, engine_type="pandas", enable_tracker=True, event_bus=bus).execute()

Both return an ``OrchestrationResult`` that also reads like a dict (``result['success']``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..cache import CacheManager
from ..checkpoint import CheckpointManager, CheckpointMode
from ..clock import utc_now
from ..engine import create_engine_context
from ..engine.base import EngineContext
from ..errors import PipelineError
from ..events import EventEmitter, HookFailure
from .config.step import Step
from .config.validator import ConfigValidator
from .execution.checkpointing import resume_hint
from .execution.executor import DAGExecutor, ExecutionMode, NodeExecutionResult
from .execution.retry import RetryPolicy
from .planning.builder import DAGBuilder
from .tracking.tracker import Tracker

__all__ = ["OrchestrationResult", "Orchestrator"]

log = logging.getLogger(__name__)


@dataclass
class OrchestrationResult:
    """The outcome of a pipeline run; ``result.success`` and ``result['success']`` both work."""

    success: bool
    data_map: Mapping[str, Any] = field(default_factory=dict)
    failed_nodes: list[str] = field(default_factory=list)
    successful_nodes: list[str] = field(default_factory=list)
    skipped_nodes: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    tracker: Tracker | None = None
    errors: dict[str, str] = field(default_factory=dict)
    node_results: dict[str, NodeExecutionResult] = field(default_factory=dict)
    hook_failures: list[HookFailure] = field(default_factory=list)
    #: nodes that ran a step this time (not served from the cache or a checkpoint)
    nodes_executed: int = 0
    #: nodes a resumed run did not run again, and those the checkpoint listed but that ran again
    resumed_nodes: list[str] = field(default_factory=list)
    rerun_nodes: list[str] = field(default_factory=list)
    #: the last checkpoint this run saved (None without checkpoints)
    checkpoint_id: str | None = None
    #: how to resume a failed run (empty when it succeeded)
    resume_hint: str = ""

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(f"{key!r}; an OrchestrationResult has {self.keys()}")
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default

    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]

    def raise_for_failure(self) -> None:
        """Raise PipelineError naming every failed node when the run failed."""
        if not self.success:
            raise PipelineError(self.failed_nodes, self.errors, hint=self.resume_hint)


class Orchestrator:
    """Runs a list of steps on one engine.

    Args:
        steps: the pipeline.
        context: an engine context; default one made from ``engine_type``.
        tracker: a Tracker; default a new one when ``enable_tracker``.
        events: an EventEmitter (``event_bus`` is the same thing by its Level 3 name).
        engine_type: "pandas" or "spark" when no context is given (default: the steps' engine).
        parallel: run independent steps at once on ``max_workers`` threads.
        fail_fast: stop at the first failure (True) or finish every independent branch.
        data_map: data provided from outside; its keys count as external inputs.
        engine_options: options for ``create_engine_context`` (e.g. ``master`` for Spark).
        pipeline_name: name in events and lineage (default: the tracker's, else "pipeline").
        use_cache: reuse unchanged ingest/transform outputs (``enable_cache`` is the Level 4
            name); entries live in ``cache_dir`` (default: the user's cache folder).
        max_retries: retries after the first attempt of a step that failed with a retryable
            error (total attempts = max_retries + 1); a step's ``params["max_retries"]`` wins.
        retry_delay: seconds before the first retry; a step's ``params["retry_delay"]`` wins.
        retry_backoff: multiplier of the delay per further retry (True means 2, False means 1:
            a constant delay).
        retry_policy: the full policy (cap, jitter, retryable errors) instead of the three above.
        cache_manager: a ready CacheManager (e.g. a CloudCacheManager) instead of ``cache_dir``.
        enable_checkpoints: save checkpoints under ``checkpoint_dir`` (one folder per pipeline
            name) when ``checkpoint_mode`` says: MANUAL, AUTO (after each node), INTERVAL (at most
            every ``checkpoint_interval`` seconds) or LAYER (after each DAG level).
        resume_from_checkpoint: start from the latest checkpoint of this pipeline: nodes
            complete there whose resume key is unchanged are not run again (their outputs are
            restored from the cache when a running node needs them; without the cache such
            nodes run again). Read when the run starts, so it can be set between runs.
        checkpoint_manager: a ready CheckpointManager (e.g. on a SqliteCheckpointStore) instead
            of ``checkpoint_dir``; checkpoints are kept under ``pipeline_name``.
        metrics: a :class:`odibi_core.metrics.PipelineMetrics` that counts every run of this
            pipeline (attached to the events for the run, detached after).
        progress: a :class:`odibi_core.progress.ProgressStreamer`; every node's start and end and
            the run's end are published to it as ProgressEvents of ``workflow_id`` (default: the
            pipeline name).

    Both modes (``parallel`` or not) run the same executor and return the same
    ``OrchestrationResult``; ``stats`` holds the executor's counts (cache hits, attempts,
    retries, durations, critical path) and ``mode``.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        context: EngineContext | None = None,
        tracker: Tracker | None = None,
        events: EventEmitter | None = None,
        *,
        engine_type: str | None = None,
        parallel: bool = False,
        max_workers: int = 4,
        fail_fast: bool = True,
        enable_tracker: bool = True,
        event_bus: EventEmitter | None = None,
        data_map: Mapping[str, Any] | None = None,
        external: Iterable[str] = (),
        engine_options: Mapping[str, Any] | None = None,
        pipeline_name: str | None = None,
        use_cache: bool = False,
        enable_cache: bool | None = None,
        cache_dir: str | None = None,
        max_retries: int = 2,
        retry_delay: float = 1.0,
        retry_backoff: float | bool = 2.0,
        retry_policy: RetryPolicy | None = None,
        cache_manager: CacheManager | None = None,
        enable_checkpoints: bool = False,
        checkpoint_mode: CheckpointMode | str = CheckpointMode.AUTO,
        checkpoint_dir: str = "artifacts/checkpoints",
        checkpoint_interval: float = 60.0,
        resume_from_checkpoint: bool = False,
        checkpoint_manager: CheckpointManager | None = None,
        metrics: Any = None,
        progress: Any = None,
        workflow_id: str | None = None,
    ) -> None:
        """Over 60 lines: the Level 3/4 keyword surface (engine, cache, checkpoint, retry and event options) is validated and wired in one place."""
        if events is not None and event_bus is not None and events is not event_bus:
            raise ValueError("pass either events or event_bus (they are the same thing), not both")
        if isinstance(retry_backoff, bool):
            retry_backoff = 2.0 if retry_backoff else 1.0
        if retry_policy is not None and (max_retries, retry_delay, retry_backoff) != (2, 1.0, 2.0):
            raise ValueError("pass either retry_policy or max_retries/retry_delay/retry_backoff, not both")
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries, retry_delay=retry_delay,
                                                        backoff=retry_backoff)
        self.max_retries = self.retry_policy.max_retries
        self.retry_delay = self.retry_policy.retry_delay
        self.steps = list(steps)
        self.engine_type = engine_type or (context.name if context else None) or self._steps_engine()
        self._context = context
        self.engine_options = dict(engine_options or {})
        self.tracker = tracker if tracker is not None else (Tracker() if enable_tracker else None)
        self.events = events if events is not None else (event_bus if event_bus is not None else EventEmitter())
        self.parallel = parallel
        self.max_workers = max_workers if parallel else 1
        self.fail_fast = fail_fast
        self.initial_data = dict(data_map or {})
        self.external = set(external) | set(self.initial_data)
        default_name = self.tracker.pipeline_name if self.tracker is not None else "pipeline"
        self.pipeline_name = pipeline_name or default_name
        self.use_cache = use_cache if enable_cache is None else enable_cache
        if cache_manager is not None:
            self.use_cache, self.cache = True, cache_manager
        else:
            self.cache = CacheManager(enabled=True, cache_dir=cache_dir) if self.use_cache else None
        self.enable_checkpoints = enable_checkpoints or resume_from_checkpoint
        self.checkpoint_mode = CheckpointMode(checkpoint_mode)
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_interval = checkpoint_interval
        self.resume_from_checkpoint = resume_from_checkpoint
        if checkpoint_manager is not None:
            self.enable_checkpoints, self.checkpoints = True, checkpoint_manager
        else:
            self.checkpoints = CheckpointManager(checkpoint_dir) if self.enable_checkpoints else None
        self._last_executor: DAGExecutor | None = None
        self.metrics = metrics
        self.progress = progress
        self.workflow_id = workflow_id

    def _steps_engine(self) -> str:
        engines = sorted({step.engine for step in self.steps})
        return engines[0] if len(engines) == 1 else "pandas"

    @property
    def context(self) -> EngineContext:
        """The engine context (created on first use from ``engine_type``)."""
        if self._context is None:
            self._context = create_engine_context(self.engine_type, **self.engine_options)
        return self._context

    def plan(self) -> DAGBuilder:
        """Validate the steps and build the DAG; raises ValidationError or CycleError."""
        ConfigValidator(external=self.external).validate(self.steps)
        builder = DAGBuilder(self.steps, external=self.external)
        builder.build()
        return builder

    def run(self) -> OrchestrationResult:
        """Run the pipeline. Invalid steps raise; a failing step is reported in the result."""
        builder = self.plan()
        attached = self._attach()
        try:
            return self._run(builder)
        finally:
            for handle in reversed(attached):  # after pipeline_complete / pipeline_error
                handle.detach()

    def _attach(self) -> list[Any]:
        """Hook the metrics and the progress streamer (if any) to this run's events."""
        attached = []
        if self.metrics is not None:
            attached.append(self.metrics.attach(self.events, self.pipeline_name))
        if self.progress is not None:
            from ..progress import PipelineProgress

            attached.append(PipelineProgress.attach(self.events, self.progress,
                                                    workflow_id=self.workflow_id or self.pipeline_name,
                                                    total_steps=len(self.steps)))
        return attached

    def _run(self, builder: DAGBuilder) -> OrchestrationResult:
        """Over 60 lines: one run's wiring (events, tracker, executor, checkpoint, result) reads best in order."""
        started = time.monotonic()
        mark = self.events.failure_count
        self.events.emit("pipeline_start", pipeline_name=self.pipeline_name,
                         start_time=utc_now().isoformat(), total_steps=len(self.steps))
        if self.tracker is not None:
            self.tracker.start_pipeline(self.pipeline_name)
            self.tracker.record_plan(self.steps)
        if self.resume_from_checkpoint and self.checkpoints is None:
            self.checkpoints = CheckpointManager(self.checkpoint_dir)
        executor = DAGExecutor(builder.dag, self.context, self.tracker, self.events,
                               max_workers=self.max_workers, retry_policy=self.retry_policy,
                               fail_fast=self.fail_fast, data_map=self.initial_data, cache=self.cache,
                               mode=ExecutionMode.RESUME if self.resume_from_checkpoint else ExecutionMode.BATCH,
                               checkpoint_manager=self.checkpoints, checkpoint_mode=self.checkpoint_mode,
                               checkpoint_interval=self.checkpoint_interval, dag_name=self.pipeline_name)
        self._last_executor = executor
        result: OrchestrationResult | None = None
        try:
            data_map = executor.execute(raise_on_failure=False)
            result = OrchestrationResult(
                success=not executor.failed_nodes,
                data_map=data_map,
                failed_nodes=executor.failed_nodes,
                successful_nodes=executor.successful_nodes,
                skipped_nodes=executor.skipped_nodes,
                duration_ms=(time.monotonic() - started) * 1000,
                stats={**executor.get_stats(), "mode": "parallel" if self.parallel else "sequential"},
                tracker=self.tracker,
                errors={n: executor.results[n].error or "" for n in executor.failed_nodes},
                node_results=dict(executor.results),
                nodes_executed=sum(1 for r in executor.results.values()
                                   if r.attempts and not r.cached and r.state.value != "RESUMED"),
                resumed_nodes=executor.resumed_nodes,
                rerun_nodes=executor.rerun_nodes,
                checkpoint_id=getattr(executor.last_checkpoint, "checkpoint_id", None),
            )
            if not result.success:
                result.resume_hint = self._resume_hint(result)
                log.warning("pipeline %s failed (%s). %s", self.pipeline_name,
                            ", ".join(result.failed_nodes), result.resume_hint)
        finally:
            success = result is not None and result.success
            if self.tracker is not None:
                self.tracker.record_lifecycle(executor.results)
                self.tracker.end_pipeline(success)
            totals = {
                "pipeline_name": self.pipeline_name,
                "duration_ms": (time.monotonic() - started) * 1000,
                "nodes_executed": len(self.steps),
                "success_count": len(executor.successful_nodes),
            }
            if success:
                self.events.emit("pipeline_complete", **totals)
            else:
                failed = executor.failed_nodes
                errors = {n: executor.results[n].error or "" for n in failed}
                self.events.emit("pipeline_error", **totals,
                                 error_message="; ".join(f"{n}: {errors[n]}" for n in failed)
                                 or (f"a strict hook raised {executor.abort_error!r}"
                                     if executor.abort_error is not None else "the run was interrupted"),
                                 failed_step=failed[0] if failed else None, failed_nodes=failed)
        result.hook_failures = self.events.failures_since(mark)
        if result.hook_failures:
            log.warning("%d hook call(s) raised during pipeline %s (isolated; the run went on): %s",
                        len(result.hook_failures), self.pipeline_name,
                        "; ".join(str(f) for f in result.hook_failures[:3]))
        return result

    def _checkpoint_place(self) -> str:
        store = self.checkpoints.store if self.checkpoints is not None else None
        for attribute, what in (("root", "folder"), ("database", "SQLite database")):
            if hasattr(store, attribute):
                return f"the {what} {str(getattr(store, attribute))!r}"
        return repr(store)

    def save_checkpoint(self) -> Any:
        """Save the last run's state now (what MANUAL mode relies on); returns the checkpoint."""
        if self._last_executor is None or self.checkpoints is None:
            raise ValueError("save_checkpoint needs enable_checkpoints=True (or a checkpoint_manager)"
                             " and a run to save: call execute() first")
        return self._last_executor.save_checkpoint()

    def _resume_hint(self, result: OrchestrationResult) -> str:
        if self.checkpoints is None:
            return ("Nothing was checkpointed: run with enable_checkpoints=True to be able to resume"
                    " a failed run where it stopped.")
        done = len(result.successful_nodes)
        return resume_hint("run again with resume_from_checkpoint=True", str(result.checkpoint_id), done,
                           len(self.steps), place=self._checkpoint_place(),
                           note="those unchanged are not run again")

    def execute(self) -> OrchestrationResult:
        """The Level 3/4 name for :meth:`run`."""
        return self.run()
