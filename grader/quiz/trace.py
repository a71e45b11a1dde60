"""Tracing quiz code to verify code-trace keys; run in a subprocess by :mod:`grader.quiz.lint`.

Protocol: a JSON request on stdin (``code``, ``line``, ``variable``, ``occurrence``,
``hits``), one JSON result line on stdout. The module only imports the standard
library so it also runs as a plain script under ``python -I``.

A variable's value "after line N" is read at the next ``line`` or ``return`` event of
the same frame, which is the first moment the line has fully executed.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback
from types import FrameType
from typing import Any

__all__ = ["QUIZ_FILENAME", "TraceResult", "main", "trace_code"]

QUIZ_FILENAME = "<quiz>"
_UNBOUND = "<unbound>"

TraceResult = dict[str, Any]


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a learner-facing value whose __repr__ is broken
        return f"<repr failed: {type(exc).__name__}: {exc}>"


class _Tracer:
    """Counts executions of ``line`` in quiz frames and snapshots ``variable`` after each."""

    def __init__(self, line: int, variable: str | None) -> None:
        self.line = line
        self.variable = variable
        self.hits = 0
        self.values: list[str] = []
        self._pending: set[int] = set()

    def _snapshot(self, frame: FrameType) -> None:
        if self.variable is None:
            return
        if self.variable in frame.f_locals:
            self.values.append(_safe_repr(frame.f_locals[self.variable]))
        elif self.variable in frame.f_globals:
            self.values.append(_safe_repr(frame.f_globals[self.variable]))
        else:
            self.values.append(_UNBOUND)

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event in ("line", "return") and id(frame) in self._pending:
            self._pending.discard(id(frame))
            self._snapshot(frame)
        if event == "line" and frame.f_lineno == self.line:
            self.hits += 1
            if self.variable is not None:
                self._pending.add(id(frame))
        return self.local

    def global_(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == QUIZ_FILENAME:
            return self.local
        return None


def _pick(values: list[str], occurrence: str | int) -> tuple[str | None, str | None]:
    """The value at ``occurrence`` and an error message when there is none."""
    if not values:
        return None, "the line never executed"
    if occurrence == "first":
        return values[0], None
    if occurrence == "last":
        return values[-1], None
    index = int(occurrence)
    if index > len(values):
        return None, f"the line executed only {len(values)} time(s), occurrence {index} asked"
    return values[index - 1], None


def trace_code(
    code: str,
    line: int,
    *,
    variable: str | None = None,
    occurrence: str | int = "last",
    hits: bool = False,
) -> TraceResult:
    """Run ``code`` under a tracer and report the hit count of ``line`` and, unless ``hits``,
    the repr of ``variable`` right after the ``occurrence``-th execution of that line.

    Returns a dict with ``ok``, ``hits`` and ``value`` or ``error`` (and ``error_line`` for
    syntax errors). The code's own output is captured and discarded.
    """
    try:
        compiled = compile(code, QUIZ_FILENAME, "exec")
    except SyntaxError as exc:
        return {"ok": False, "error": f"SyntaxError: {exc.msg}", "error_line": exc.lineno}
    tracer = _Tracer(line, None if hits else variable)
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    out = io.StringIO()
    error = None
    sys.settrace(tracer.global_)
    try:
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = f"SystemExit: {exc.code}"
    except BaseException as exc:  # the quiz code's failure is the result being reported
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    finally:
        sys.settrace(None)
    result: TraceResult = {"ok": error is None, "hits": tracer.hits}
    if error is not None:
        result["error"] = f"the code raised {error}"
        return result
    if not hits:
        value, problem = _pick(tracer.values, occurrence)
        if value == _UNBOUND:
            value, problem = None, f"variable {variable!r} is not defined right after the line"
        if problem is not None:
            result.update(ok=False, error=problem)
        result["value"] = value
    return result


def main() -> int:
    """Read one JSON request from stdin, write one JSON result line to stdout."""
    request = json.loads(sys.stdin.read())
    result = trace_code(
        request["code"],
        int(request["line"]),
        variable=request.get("variable"),
        occurrence=request.get("occurrence", "last"),
        hits=bool(request.get("hits", False)),
    )
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
