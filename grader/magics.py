"""The lesson cell magics: ``%%check`` for check cells and ``%%spark`` for Spark cells.

Loaded by each lesson's set-up cell with ``%load_ext grader``.

- ``%%check`` runs the cell; when a check fails (or the learner's code raises) it
  shows what is wrong as a note under the cell. In JupyterLab the notebook then
  goes on, so Run All reaches the end of a lesson with exercises unsolved; under
  the grader (``ODIBI_GRADING=1``) the same message is raised as
  :class:`~grader.check.CheckFailed`, so the step fails with that message.
  ``%%check --spark`` is a check that needs Spark.
- ``%%spark`` runs the cell only where Spark can run; elsewhere it says why it was
  skipped and the lesson goes on.
"""

from __future__ import annotations

import ast
import html
import importlib.util
import itertools
import linecache
import os
import shutil
import traceback
from dataclasses import dataclass
from typing import Any

from .check import MESSAGE_WIDTH, CheckFailed, elide

__all__ = ["CheckOutcome", "explain_failure", "load_ipython_extension", "spark_missing"]

ENV_GRADING = "ODIBI_GRADING"
ENV_SPARK = "ODIBI_SPARK"
SPARK_MISSING = "skipped: Spark is not installed (pip install -e '.[spark]' and Java 17)"
_STUB_TEXT = "Exercise: replace this line with your solution"
_counter = itertools.count(1)
REGISTERED: dict[str, Any] = {}  # the cell magics this module registered (grader.integrity restores them)


def spark_missing() -> str | None:
    """Why Spark cells cannot run in this kernel, or ``None`` when they can."""
    if os.environ.get(ENV_SPARK) == "0":
        return "skipped: Spark is switched off here (ODIBI_SPARK=0; grade with --spark to run it)"
    if importlib.util.find_spec("pyspark") is None:
        return SPARK_MISSING
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        return "skipped: Spark needs Java 17, which is not installed (or set JAVA_HOME)"
    return None


def _grading() -> bool:
    return os.environ.get(ENV_GRADING) == "1"


@dataclass(frozen=True)
class CheckOutcome:
    """What a check cell found: passed, or the message saying what is wrong."""

    passed: bool
    message: str = ""
    skipped: bool = False


def _user_frames(exc: BaseException, check_file: str) -> list[traceback.FrameSummary]:
    """Frames of notebook cells (other than the check cell itself) in ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if f.filename != check_file and _is_cell_file(f.filename)]


def _is_cell_file(filename: str) -> bool:
    # ipykernel compiles cells to files like /tmp/ipykernel_123/456789.py
    return "ipykernel_" in filename or filename.startswith("<ipython-input-")


def _line_of(exc: BaseException, check_file: str) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == check_file:
            return frame.lineno
    return None


def explain_failure(exc: BaseException, check_file: str = "<check>") -> str:
    """The learner-facing message for an exception raised while a check cell ran."""
    if isinstance(exc, NotImplementedError) and _STUB_TEXT in str(exc):
        frames = _user_frames(exc, check_file)
        name = frames[-1].name if frames else "the exercise"
        where = f"`{name}`" if name != "<module>" else "the exercise cell"
        return (f"not solved yet: {where} still raises NotImplementedError. Replace the"
                f" `raise NotImplementedError(...)` line in the exercise cell with your solution,"
                f" run that cell, then run this check again")
    if isinstance(exc, AssertionError):
        message = str(exc).strip()
        if not message:
            line = _line_of(exc, check_file)
            source = linecache.getline(check_file, line).strip() if line else ""
            message = f"check failed at line {line} of the check cell: {source}" if line else (
                "a check failed")
        return elide(message, MESSAGE_WIDTH)
    frames = _user_frames(exc, check_file)
    detail = f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
    if frames:
        frame = frames[-1]
        where = f"in `{frame.name}`" if frame.name != "<module>" else "in a notebook cell"
        return elide(f"your code raised {detail} ({where}, line {frame.lineno} of its cell)",
                     MESSAGE_WIDTH)
    line = _line_of(exc, check_file)
    at = f" at line {line} of the check cell" if line else ""
    return elide(f"the check raised {detail}{at}", MESSAGE_WIDTH)


def _split_last_expression(source: str, filename: str) -> tuple[Any, Any]:
    """Code objects for the cell minus a final expression, and that expression (or None)."""
    tree = ast.parse(source, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


def _run(shell: Any, cell: str, filename: str) -> Any:
    """Run ``cell`` (magics and all, as IPython would) in the user namespace; returns the
    value of a final expression so Jupyter displays it."""
    source = shell.transform_cell(cell)
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    body, last = _split_last_expression(source, filename)
    exec(body, shell.user_ns)
    return eval(last, shell.user_ns) if last is not None else None


def _display(kind: str, text: str) -> None:
    from IPython.display import display

    colours = {"passed": "#1a7f37", "failed": "#b35900", "skipped": "#555"}
    marks = {"passed": "check passed", "failed": "not yet", "skipped": "skipped"}
    body = html.escape(text).replace("\n", "<br>") if text else ""
    rendered = (f'<div class="odibi-check odibi-check-{kind}" style="border-left: 4px solid'
                f' {colours[kind]}; padding: 2px 8px; font-family: monospace; white-space:'
                f' pre-wrap"><b style="color: {colours[kind]}">{marks[kind]}</b>'
                f'{": " + body if body else ""}</div>')
    plain = f"{marks[kind]}: {text}" if text else marks[kind]
    display({"text/plain": plain, "text/html": rendered}, raw=True)


def _check_magic(shell: Any, line: str, cell: str) -> Any:
    needs_spark = "--spark" in line.split()
    if needs_spark and (why := spark_missing()):
        _display("skipped", why.removeprefix("skipped: "))
        return None
    filename = f"<check cell {next(_counter)}>"
    try:
        value = _run(shell, cell, filename)
    except Exception as exc:
        message = explain_failure(exc, filename)
        _display("failed", message)
        if _grading():
            raise CheckFailed(message) from None
        return None
    _display("passed", "")
    return value


def _spark_magic(shell: Any, line: str, cell: str) -> Any:
    why = spark_missing()
    if why:
        print(why)
        return None
    return _run(shell, cell, f"<spark cell {next(_counter)}>")


def load_ipython_extension(shell: Any) -> None:
    """Register ``%%check`` and ``%%spark`` (``%load_ext grader``)."""
    REGISTERED["check"] = lambda line, cell: _check_magic(shell, line, cell)
    REGISTERED["spark"] = lambda line, cell: _spark_magic(shell, line, cell)
    for name, function in REGISTERED.items():
        shell.register_magic_function(function, magic_kind="cell", magic_name=name)
