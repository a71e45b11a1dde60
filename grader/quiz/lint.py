"""Proving quiz keys right: run predict-output code and trace code-trace code.

Each piece of quiz code runs in its own isolated Python subprocess (``-I -B``) in a
temporary working directory with a timeout, so a broken or looping question can
neither hang the lint nor write into the repository.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import ENV_WORKDIR
from . import trace as trace_module
from .answers import matches_key, normalize_output, normalize_text
from .model import Question, QuestionType, Quiz

__all__ = ["RunResult", "lint_question", "lint_quiz", "run_python"]

log = logging.getLogger(__name__)

_TAIL_LINES = 5


@dataclass(frozen=True)
class RunResult:
    """What one subprocess did: exit code (None after a timeout), stdout and stderr."""

    returncode: int | None
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def stderr_tail(self) -> str:
        lines = self.stderr.strip().splitlines()[-_TAIL_LINES:]
        return " | ".join(line.strip() for line in lines) or "(no stderr)"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything it started (its own session on POSIX)."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            log.debug("process group %s already gone", proc.pid)
    else:
        proc.kill()


def run_python(args: list[str], *, stdin: str = "", timeout: float = 10.0) -> RunResult:
    """Run ``python -I -B -X utf8 *args`` in a fresh temporary directory with a timeout."""
    with tempfile.TemporaryDirectory(prefix="odibi-quiz-lint-") as tmp:
        env = {**os.environ, ENV_WORKDIR: tmp}
        cmd = [sys.executable, "-I", "-B", "-X", "utf8", *args]
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",
        )
        try:
            out, err = proc.communicate(stdin.encode("utf-8"), timeout=timeout)
            returncode: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            _kill(proc)
            out, err = proc.communicate()
            returncode = None
    return RunResult(returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def _where(quiz: Quiz, question: Question, field: str) -> str:
    return f"{quiz.path}:{question.line_of(field)}: {question.id}:"


def _code_line(quiz: Quiz, question: Question, line: int | None) -> str:
    """``file:line`` of line ``line`` of a question's code (best effort for block scalars)."""
    start = question.code_line or question.line_of("code")
    return f"{quiz.path}:{start + (line or 1) - 1}: {question.id}:"


def _check_options(quiz: Quiz, question: Question) -> list[str]:
    texts = [normalize_text(o.text) for o in question.options]
    listing = ", ".join(repr(o.text) for o in question.options)
    problems = []
    for name, value in [("answer", question.answer), *(("accept", a) for a in question.accept)]:
        if normalize_text(value) not in texts:
            problems.append(
                f"{_where(quiz, question, name)} {name} {value!r} is not one of the options: "
                f"{listing}"
            )
    return problems


def _compile_problem(quiz: Quiz, question: Question) -> str | None:
    try:
        compile(question.code or "", trace_module.QUIZ_FILENAME, "exec")
    except SyntaxError as exc:
        return (
            f"{_code_line(quiz, question, exc.lineno)} code does not compile: "
            f"line {exc.lineno} of the code: {exc.msg}"
        )
    return None


def _check_output(quiz: Quiz, question: Question, timeout: float) -> list[str]:
    run = run_python(["-c", question.code or ""], timeout=timeout)
    where = _where(quiz, question, "code")
    if run.timed_out:
        return [f"{where} the code timed out after {timeout:g}s"]
    if run.returncode != 0:
        return [f"{where} the code exited with status {run.returncode}: {run.stderr_tail()}"]
    if normalize_output(run.stdout) == normalize_output(question.answer):
        return []
    return [
        f"{_where(quiz, question, 'answer')} wrong predict-output key: "
        f"expected {normalize_output(question.answer)!r}, actual {normalize_output(run.stdout)!r}"
    ]


def _check_trace(quiz: Quiz, question: Question, timeout: float) -> list[str]:
    spec = question.trace
    if spec is None:
        return [f"{_where(quiz, question, 'type')} code-trace question without 'trace'"]
    request = {
        "code": question.code,
        "line": spec.line,
        "variable": spec.variable,
        "occurrence": spec.occurrence,
        "hits": spec.hits,
    }
    run = run_python([str(Path(trace_module.__file__))], stdin=json.dumps(request), timeout=timeout)
    where = _where(quiz, question, "trace")
    if run.timed_out:
        return [f"{where} tracing the code timed out after {timeout:g}s"]
    try:
        result = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return [f"{where} the tracer gave no result (status {run.returncode}): {run.stderr_tail()}"]
    if not result["ok"]:
        return [f"{where} cannot trace line {spec.line}: {result['error']}"]
    actual = str(result["hits"]) if spec.hits else str(result["value"])
    if matches_key(question, actual, question.answer, choice=False):
        return []
    what = (
        f"hits of line {spec.line}"
        if spec.hits
        else f"{spec.variable} after line {spec.line} ({spec.occurrence})"
    )
    return [
        f"{_where(quiz, question, 'answer')} wrong code-trace key for {what}: "
        f"expected {question.answer!r}, actual {actual!r}"
    ]


def lint_question(quiz: Quiz, question: Question, *, timeout: float = 10.0) -> list[str]:
    """Problems with one question's key (see :func:`lint_quiz`)."""
    problems = _check_options(quiz, question) if question.is_choice else []
    if question.type is QuestionType.MCQ:
        return problems
    compile_problem = _compile_problem(quiz, question)
    if compile_problem is not None:
        return [*problems, compile_problem]
    if question.type is QuestionType.PREDICT_OUTPUT:
        return [*problems, *_check_output(quiz, question, timeout)]
    return [*problems, *_check_trace(quiz, question, timeout)]


def lint_quiz(quiz: Quiz, *, timeout: float = 10.0) -> list[str]:
    """Every problem with the answer keys of ``quiz``, each as ``file:line: id: message``.

    mcq and choice answers must be one of the options; predict-output keys must equal
    what the code prints; code-trace keys must equal the traced value or hit count.
    ``timeout`` bounds each subprocess in seconds.
    """
    problems: list[str] = []
    for question in quiz.questions:
        found = lint_question(quiz, question, timeout=timeout)
        log.debug("linted %s %s: %d problem(s)", quiz.path, question.id, len(found))
        problems.extend(found)
    return problems
