"""Execute a lesson notebook with nbclient and turn what happened into step results.

Cells run one at a time in a fresh kernel whose working directory is the run's
own temporary folder. A failing cell fails its step and execution goes on; a
cell over the timeout is interrupted (step timed-out) and execution goes on if
the kernel still answers; a dead kernel leaves the remaining steps not-run.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from .check import elide
from .errors import GraderError
from .lesson import CHECK_MAGIC, Lesson, uses_lesson_magics
from .processes import KernelProcesses
from .results import CellError, StepResult, StepState

__all__ = ["MAX_TIMEOUT", "RunOptions", "RunOutcome", "check_timeout", "enforced_seconds", "run_notebook"]

log = logging.getLogger(__name__)
# nbclient logs every timeout and dead kernel itself; the grader reports those per step instead
NBCLIENT_LOG = logging.getLogger(f"{__name__}.nbclient")

TIMEOUT_ENAME = "CellTimeout"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PROBE_TEXT = "odibi-kernel-alive"
# evaluated as IPython user expressions: plain eval, no transformers, no run_cell hooks
_INTEGRITY = "__import__('grader.integrity', fromlist=['restore']).{}()"
ERROR_TEXT_LIMIT = 4000  # characters kept of an error's value and of its traceback (cut in the middle)


MAX_TIMEOUT = 86_400.0  # a day: longer is a typo, and huge values overflow the event loop's timers


def check_timeout(value: object, name: str = "timeout") -> float:
    """``value`` as seconds when it is a finite number in (0, MAX_TIMEOUT], else a GraderError
    saying what was expected. Values under a second are allowed; they are enforced as 1 s
    (see :func:`enforced_seconds`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GraderError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT:
        raise GraderError(f"{name} must be a finite number of seconds, more than 0 and at most"
                          f" {MAX_TIMEOUT:g}; got {value!r}")
    return seconds


def enforced_seconds(seconds: float) -> int:
    """The whole seconds nbclient is given: rounded up and never 0 (0 switches its timeout off)."""
    return max(1, math.ceil(seconds))


@dataclass(frozen=True)
class RunOptions:
    """How to run a notebook.

    Args:
        timeout: seconds one cell may run before it is interrupted (timed-out).
        spark: run ``engine-spark`` cells; without it their steps are skipped.
        kernel_name: the Jupyter kernel to start.
        startup_timeout: seconds to wait for the kernel to start.
        probe_timeout: seconds a kernel has to answer after an interrupted cell.
    """

    timeout: float = 120.0
    spark: bool = False
    kernel_name: str = "python3"
    startup_timeout: float = 60.0
    probe_timeout: float = 15.0

    def __post_init__(self) -> None:
        for name in ("timeout", "startup_timeout", "probe_timeout"):
            check_timeout(getattr(self, name), name)


@dataclass
class RunOutcome:
    """Step results plus the problems that belong to no step."""

    steps: list[StepResult]
    errors: list[str] = field(default_factory=list)
    kernel_died: bool = False
    stopped_processes: list[str] = field(default_factory=list)  # "pid (name)" stopped after the run
    tampered: list[str] = field(default_factory=list)  # what learner code changed to pass checks


@dataclass
class _StepLog:
    state: StepState | None = None
    error: CellError | None = None
    reason: str = ""
    duration: float = 0.0
    ran: bool = False


def _clean(text: str) -> str:
    return _ANSI.sub("", text)


_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
# IPython names the temporary file it compiled a cell to: "invalid syntax (2871360415.py, line 4)"
_TEMP_FILE_LINE = re.compile(r"\s*\((?:[^()]*[\\/])?[^()\\/]*\.py, line (\d+)\)$")


def _cell_error(exc: CellExecutionError, index: int) -> CellError:
    evalue = _clean(str(exc.evalue))
    if exc.ename in _SYNTAX_ERRORS:
        evalue = _TEMP_FILE_LINE.sub(lambda m: f" (line {m.group(1)} of cell {index + 1})", evalue)
    # a learner's exception message can be megabytes: keep both ends, say how much was cut
    return CellError(ename=exc.ename, evalue=elide(evalue, ERROR_TEXT_LIMIT), cell_index=index,
                     traceback=elide(_clean(str(exc.traceback)), ERROR_TEXT_LIMIT))


class _Execution:
    """One pass over a notebook's code cells in one kernel."""

    def __init__(
        self, nb: NotebookNode, lesson: Lesson, workdir: Path, options: RunOptions, kernel_log: Path
    ) -> None:
        self.nb = nb
        self.lesson = lesson
        self.options = options
        self.step_of = lesson.step_of_cell()
        self.logs = {step.number: _StepLog() for step in lesson.steps}
        self.errors: list[str] = []
        self.stopped: str | None = None  # why the rest is not run
        self.kernel_died = False
        self.replies: dict[int, str] = {}
        self.kernel_log = kernel_log
        self.processes: KernelProcesses | None = None
        self.stopped_processes: list[str] = []
        self.tampered: list[str] = []
        self.guarded = False  # an integrity baseline was recorded right after the kernel started
        self.check_cells = {index for step in lesson.steps for index in step.check_cells}
        self.client = NotebookClient(
            nb,
            timeout=enforced_seconds(options.timeout),
            startup_timeout=enforced_seconds(options.startup_timeout),
            kernel_name=options.kernel_name,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_ENAME,
                "evalue": f"cell exceeded the {enforced_seconds(options.timeout)}s timeout and was"
                          f" interrupted",
                "traceback": [],
            },
            allow_errors=False,
            record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
            on_cell_executed=self._on_executed,
            log=NBCLIENT_LOG,
        )
        for step in lesson.steps:
            if step.needs_spark and not options.spark:
                log_ = self.logs[step.number]
                log_.state = StepState.SKIPPED
                log_.reason = "needs Spark: grade with --spark (pyspark and Java 17 required)"

    def kernel_log_tail(self) -> str:
        try:
            return _clean(self.kernel_log.read_text(encoding="utf-8", errors="replace"))[-2000:]
        except OSError:
            return ""

    def _on_executed(self, cell: NotebookNode, cell_index: int, execute_reply: Mapping[str, Any]) -> None:
        self.replies[cell_index] = execute_reply.get("content", {}).get("status", "")

    # -- recording --------------------------------------------------------------
    def _fail(self, index: int, error: CellError, state: StepState) -> None:
        number = self.step_of.get(index)
        if number is None:
            self.errors.append(f"cell {index + 1} (outside any step) raised {error.ename}: {error.evalue}")
            return
        entry = self.logs[number]
        if entry.error is None:
            entry.state, entry.error = state, error

    def _kernel_answers(self) -> bool:
        """After an interrupted cell: does the kernel run a trivial cell again?"""
        probe = new_code_cell(f"print({_PROBE_TEXT!r})")
        saved = self.client.timeout
        self.client.timeout = enforced_seconds(self.options.probe_timeout)
        try:
            for _ in range(2):  # the first probe may be aborted with the interrupted request
                self.client.nb.cells.append(probe)
                index = len(self.client.nb.cells) - 1
                try:
                    self.client.execute_cell(probe, index, store_history=False)
                except CellExecutionError as exc:
                    if exc.ename == TIMEOUT_ENAME:
                        return False
                finally:
                    self.client.nb.cells.pop()
                if any(_PROBE_TEXT in out.get("text", "") for out in probe.outputs):
                    return True
                probe.outputs = []
            return False
        finally:
            self.client.timeout = saved

    # -- integrity ----------------------------------------------------------------
    def _kernel_eval(self, expression: str) -> tuple[Any, str]:
        """Evaluate ``expression`` in the kernel as a user expression of an empty request (input
        and AST transformers and a patched run_cell never see it): ``(value, problem)``."""
        try:
            reply = run_sync(self.client.kc.execute_interactive)(
                "", silent=True, store_history=False, user_expressions={"value": expression},
                allow_stdin=False, timeout=enforced_seconds(self.options.probe_timeout),
                output_hook=lambda msg: None)
        except (TimeoutError, RuntimeError) as exc:
            return None, f"the kernel did not answer ({exc or type(exc).__name__})"
        content = reply.get("content", {})
        if content.get("status") != "ok":
            return None, (f"the kernel could not run an empty request ({content.get('status')}:"
                          f" {content.get('ename')}: {content.get('evalue')})")
        answer = content.get("user_expressions", {}).get("value", {})
        if answer.get("status") != "ok":
            return None, f"{answer.get('ename')}: {answer.get('evalue')}"
        text = answer.get("data", {}).get("text/plain", "")
        try:
            return ast.literal_eval(text), ""
        except (ValueError, SyntaxError):
            return None, f"unexpected answer {text[:200]!r}"

    def _tamper(self, reason: str) -> None:
        if reason not in self.tampered:
            self.tampered.append(reason)

    def _record_baseline(self) -> None:
        value, problem = self._kernel_eval(_INTEGRITY.format("baseline"))
        self.guarded = value == "ok"
        if not self.guarded:
            self.errors.append(f"could not record the kernel's state before the lesson ran ({problem});"
                               f" checks run unguarded, the canary check still runs")

    def _restore(self, before: str) -> None:
        """Undo learner changes to the shell before a check runs; each change is tampering."""
        if not self.guarded:
            return
        found, problem = self._kernel_eval(_INTEGRITY.format("restore"))
        if problem:
            self._tamper(f"the grader's state check could not run before {before}: {problem}")
        elif isinstance(found, list):
            for line in found:
                self._tamper(f"{line} (found before {before}, reset)")

    def _canary(self) -> None:
        """A hidden check that must fail: when it does not, checks can be made to pass unsolved."""
        token = f"odibi-canary-{secrets.token_hex(6)}"
        body = f"assert 1 == 2, {token!r}"
        source = f"{CHECK_MAGIC}\n{body}" if uses_lesson_magics(self.lesson.nb) else body
        self._restore("the grader's canary check")
        cell = new_code_cell(source)
        self.client.nb.cells.append(cell)
        try:
            self.client.execute_cell(cell, len(self.client.nb.cells) - 1, store_history=False)
        except CellExecutionError as exc:
            if token in str(exc.evalue) or token in str(exc.traceback):
                return
            self._tamper(f"the grader's canary check (an assert that must fail) raised"
                         f" {exc.ename} instead of failing")
            return
        except DeadKernelError:
            self._tamper("the kernel died running the grader's canary check")
            return
        finally:
            self.client.nb.cells.pop()
        self._tamper("the grader's canary check (an assert that must fail) passed: learner code"
                     " makes failing checks pass")

    # -- running ----------------------------------------------------------------
    def _run_cell(self, index: int, cell: NotebookNode) -> None:
        try:
            self.client.execute_cell(cell, index)
        except CellExecutionError as exc:
            error = _cell_error(exc, index)
            if exc.ename == TIMEOUT_ENAME:
                self._fail(index, error, StepState.TIMED_OUT)
                if not self._kernel_answers():
                    self.stopped = f"kernel did not answer after cell {index + 1} was interrupted"
            else:
                self._fail(index, error, StepState.FAILED)
            return
        except DeadKernelError as exc:
            self.kernel_died = True
            self.stopped = f"the kernel died in cell {index + 1}"
            self._fail(index, CellError("DeadKernelError", f"kernel died while running cell {index + 1}"
                                        f" ({exc})", index, self.kernel_log_tail()), StepState.FAILED)
            return
        if self.replies.get(index) == "aborted":
            self._fail(index, CellError("Aborted", "the kernel aborted this cell", index),
                       StepState.FAILED)

    def _watch_kernel(self) -> None:
        provisioner = getattr(self.client.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if isinstance(pid, int):
            self.processes = KernelProcesses(pid)
        else:
            log.warning("cannot find the kernel's process id: processes it starts are not tracked")

    def _stop_processes(self) -> None:
        """Whatever the kernel started dies with the lesson (see grader.processes)."""
        if self.processes is not None:
            stopped = self.processes.stop()
            self.stopped_processes = [f"{info.pid} ({info.name})" for info in stopped]

    def run(self, env: Mapping[str, str], kernel_log: Path) -> None:
        try:
            self._run(env, kernel_log)
        finally:
            self._stop_processes()

    def _run(self, env: Mapping[str, str], kernel_log: Path) -> None:
        try:
            with kernel_log.open("wb") as stderr, self.client.setup_kernel(env=dict(env), stderr=stderr):
                self._watch_kernel()
                self._record_baseline()
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    number = self.step_of.get(index)
                    entry = self.logs.get(number) if number is not None else None
                    if entry is not None and entry.state is StepState.SKIPPED:
                        continue
                    if self.stopped:
                        break
                    if index in self.check_cells:
                        self._restore(f"check cell {index + 1}")
                    started = time.perf_counter()
                    self._run_cell(index, cell)
                    if self.processes is not None:
                        self.processes.snapshot()
                    if entry is not None:
                        entry.ran = True
                        entry.duration += time.perf_counter() - started
                if not self.stopped:
                    self._canary()
        except DeadKernelError as exc:  # raised on cleanup or start by some kernels
            self.kernel_died = True
            self.stopped = self.stopped or f"the kernel died ({exc})"
        except (RuntimeError, TimeoutError, OSError) as exc:
            self.stopped = self.stopped or f"the kernel could not start or stop: {exc}"
            self.errors.append(self.stopped)

    def results(self) -> list[StepResult]:
        out = []
        for step in self.lesson.steps:
            entry = self.logs[step.number]
            state = entry.state
            reason = entry.reason
            if state is None:
                if entry.ran:
                    state = StepState.PASSED
                elif self.stopped:
                    state, reason = StepState.NOT_RUN, f"not run: {self.stopped}"
                else:
                    state = StepState.PASSED  # a step with no code cells
            out.append(
                StepResult(
                    number=step.number,
                    title=step.title,
                    runnable=step.runnable,
                    exercise=step.exercise,
                    state=state,
                    duration_s=round(entry.duration, 3),
                    error=entry.error,
                    reason=reason,
                )
            )
        return out


def run_notebook(
    nb: NotebookNode,
    lesson: Lesson,
    *,
    workdir: str | Path,
    env: Mapping[str, str],
    options: RunOptions | None = None,
    kernel_log: str | Path | None = None,
) -> RunOutcome:
    """Run ``nb`` (cell-for-cell the same layout as ``lesson.nb``) and score it with
    ``lesson``'s step plan. ``env`` is the kernel's whole environment; the kernel's own
    stderr goes to ``kernel_log`` (default ``workdir/kernel.log``)."""
    workdir = Path(workdir)
    log_path = Path(kernel_log) if kernel_log is not None else workdir / "kernel.log"
    execution = _Execution(nb, lesson, workdir, options or RunOptions(), log_path)
    execution.run(env, execution.kernel_log)
    return RunOutcome(steps=execution.results(), errors=execution.errors,
                      kernel_died=execution.kernel_died,
                      stopped_processes=execution.stopped_processes,
                      tampered=execution.tampered)
