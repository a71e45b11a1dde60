"""Errors raised by odibi_core.

Exception tree (every error class of the package; the ones outside this module live beside
the code that raises them, in the module named)::

    OdibiError
    ├── ConfigError          a config file or row is malformed (file, row/step, expected, got)
    │   └── UnknownScheduleError  no schedule by that name (scheduler.model; also a KeyError)
    ├── ValidationError      steps are inconsistent (duplicate name/output, dangling input, unknown
    │   │                    layer/type/engine); carries every problem found; also a ValueError
    │   └── CycleError       the steps' dependencies form a cycle; carries it in order
    ├── EngineError          an engine cannot run an operation (read, write, SQL) for a step
    ├── StepError            a step failed while running (step name, cause)
    ├── RetryableError       a transient failure user code raises so the step is retried
    ├── PipelineError        a run failed; names every failed step and says how to resume
    ├── Uncacheable          a value cannot go into a cache key (cache.keys)
    ├── CacheKeyError        a malformed cache key (cache.keys; also a ValueError)
    ├── CacheDecodeError     a cache entry cannot be decoded (cache.manager; also a ValueError)
    ├── CheckpointCorruptError  a checkpoint fails its checksum or format (checkpoint.model)
    ├── StreamError          a stream source cannot be read or committed (streaming.errors)
    ├── BatchLogError        the offsets / commits log is inconsistent (streaming.batch_log)
    ├── StreamRunError       a continuous run gave up on a batch (core.execution.continuous)
    └── JobError             a background job problem (jobs.errors)
        ├── JobNotFoundError           no job with that id (also a LookupError)
        ├── JobFailedError             the job raised; carries its error
        ├── JobCancelledError          the job was cancelled before it ran
        ├── JobResultUnavailableError  the result did not survive the process
        └── JobTimeoutError            waiting timed out (also a TimeoutError)

Bad arguments to a function (a wrong type or value passed by the caller, not read from a config)
raise ``ValueError`` / ``TypeError`` naming the argument, what is allowed and what was given;
errors in what a config or a pipeline says raise the classes above.

Third-party errors are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "CycleError",
    "EngineError",
    "OdibiError",
    "PipelineError",
    "RetryableError",
    "StepError",
    "ValidationError",
]


class OdibiError(Exception):
    """Root of every error odibi_core raises on purpose."""


class ConfigError(OdibiError):
    """A configuration source cannot be read or a record in it is malformed.

    Args:
        source: the file (or table) the problem is in.
        message: what is wrong and what was expected.
        row: 1-based record number (list index for JSON/YAML, row for SQLite), if any.
        step: the step name the record defines, if known.
        line: 1-based line in the file, if known.
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        row: int | None = None,
        step: str | None = None,
        line: int | None = None,
    ) -> None:
        self.source = str(source)
        self.row = row
        self.step = step
        self.line = line
        self.message = message
        where = self.source if line is None else f"{self.source}:{line}"
        if row is not None:
            where += f", row {row}"
        if step is not None:
            where += f" (step '{step}')"
        super().__init__(f"{where}: {message}")


class ValidationError(OdibiError, ValueError):
    """Steps that cannot form a pipeline; ``problems`` lists every one, sorted."""

    def __init__(self, problems: Iterable[str], *, source: str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{head}{count} {noun} in the pipeline config:\n  " + "\n  ".join(self.problems))


class CycleError(ValidationError):
    """Circular dependencies; ``cycle`` lists the steps in order, the first repeated at the end."""

    def __init__(self, cycle: Sequence[str], *, source: str | None = None) -> None:
        self.cycle = tuple(cycle)
        path = " -> ".join(self.cycle)
        super().__init__([f"Circular dependencies: {path}"], source=source)
        self.args = (f"{source + ': ' if source else ''}Circular dependencies: {path}",)


class EngineError(OdibiError):
    """An engine operation failed; names the step (when known), the operation and the cause."""

    def __init__(self, message: str, *, step: str | None = None, engine: str | None = None) -> None:
        self.step = step
        self.engine = engine
        self.message = message
        prefix = f"step '{step}': " if step else ""
        suffix = f" [{engine} engine]" if engine else ""
        super().__init__(f"{prefix}{message}{suffix}")


class StepError(OdibiError):
    """A step failed while running."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        self.message = message
        super().__init__(f"step '{step}' failed: {message}")


class RetryableError(OdibiError):
    """A transient failure (a flaky service, a lock held for a moment): raise it, or raise any
    error ``from`` it, in a node or function to have the step retried per the retry policy."""


class PipelineError(OdibiError):
    """A pipeline run failed. Lists every failed step and the way to resume."""

    def __init__(self, failed: Sequence[str], errors: dict[str, str], *, hint: str = "") -> None:
        self.failed = tuple(failed)
        self.errors = dict(errors)
        lines = [f"{name}: {errors.get(name, 'failed')}" for name in self.failed]
        message = f"{len(self.failed)} step(s) failed:\n  " + "\n  ".join(lines)
        if hint:
            message += f"\n{hint}"
        super().__init__(message)
