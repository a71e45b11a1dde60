"""The JUnit XML report: a test suite per lesson and a test case per step, for CI.

Every step appears (a step without a check cell as skipped) so CI shows the
shape of each lesson; lesson-level problems get one extra case named
``lesson``. All text goes through :func:`grader.chart.xml_text`, so ANSI codes
in kernel tracebacks cannot make the file unparseable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from ..chart import xml_text
from ..results import LessonResult, LessonStatus, StepResult, StepState
from .json_report import write_text_atomic
from .terminal import format_percent

__all__ = ["junit_tree", "write_junit"]


def _child(parent: ET.Element, tag: str, text: str = "", **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if text:
        element.text = xml_text(text)
    return element


def _step_case(suite: ET.Element, lesson_id: str, step: StepResult) -> None:
    case = _child(
        suite,
        "testcase",
        classname=lesson_id,
        name=f"step-{step.number}: {step.title}",
        time=f"{step.duration_s:.3f}",
    )
    error = step.error
    traceback = error.traceback if error else ""
    if not step.runnable:
        _child(case, "skipped", message="no check cell")
    elif step.state is StepState.FAILED:
        _child(
            case,
            "failure",
            traceback,
            type=error.ename if error else "StepFailed",
            message=error.evalue if error else step.reason or "step failed",
        )
    elif step.state is StepState.TIMED_OUT:
        message = (error.evalue if error else "") or step.reason or "cell timed out"
        _child(case, "failure", traceback, type="CellTimeout", message=message)
    elif step.state is StepState.NOT_RUN:
        _child(case, "error", traceback, type="NotRun", message=step.reason or "not run")
    elif step.state is StepState.SKIPPED:
        _child(case, "skipped", message=step.reason or "skipped")


def _lesson_case(suite: ET.Element, result: LessonResult, step_problems: bool) -> None:
    """The extra ``lesson`` case: errors, lint, or a failed verdict no step explains."""
    details = [*(f"error: {e}" for e in result.errors), *(f"lint: {e}" for e in result.lint)]
    if result.status is LessonStatus.TAMPERED:
        details = [*(f"tampered: {t}" for t in result.tampered), *details]
        outcome, kind, message = "failure", "Tampered", result.verdict
    elif result.status is LessonStatus.ERROR or result.errors:
        first = result.errors[0] if result.errors else "lesson could not be graded"
        outcome, kind, message = "error", "LessonError", first
    elif result.lint:
        outcome, kind, message = "failure", "Lint", result.lint[0]
    elif result.status is LessonStatus.FAILED and not step_problems:
        outcome, kind = "failure", "LessonFailed"
        message = (
            f"lesson {result.verdict}: score {format_percent(result.score)},"
            f" pass score {format_percent(result.pass_score)},"
            f" quiz {format_percent(result.quiz_score)}"
        )
    else:
        return
    case = _child(suite, "testcase", classname=result.lesson_id, name="lesson", time="0.000")
    _child(case, outcome, "\n".join(details), type=kind, message=message)


def _suite(parent: ET.Element, result: LessonResult) -> dict[str, int]:
    suite = _child(parent, "testsuite", name=result.lesson_id)
    properties = _child(suite, "properties")
    for name, value in (
        ("notebook", result.notebook),
        ("title", result.title),
        ("status", result.status.value),
        ("score", format_percent(result.score)),
        ("pass_score", format_percent(result.pass_score)),
        ("quiz_score", format_percent(result.quiz_score)),
        ("verdict", result.verdict),
        ("exercises", str(result.policy.get("exercises", ""))),
        ("hints_used", str(result.hints_used)),
    ):
        _child(properties, "property", name=name, value=value)
    for step in result.steps:
        _step_case(suite, result.lesson_id, step)
    step_problems = suite.find(".//failure") is not None or suite.find(".//error") is not None
    _lesson_case(suite, result, step_problems)
    counts = {
        "tests": len(suite.findall("testcase")),
        "failures": len(suite.findall("testcase/failure")),
        "errors": len(suite.findall("testcase/error")),
        "skipped": len(suite.findall("testcase/skipped")),
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{result.duration_s:.3f}")
    return counts


def junit_tree(results: Sequence[LessonResult]) -> ET.ElementTree:
    """The ``<testsuites>`` document for a grading run."""
    root = ET.Element("testsuites", {"name": "odibi-course"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        for key, value in _suite(root, result).items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(r.duration_s for r in results):.3f}")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(results: Sequence[LessonResult], path: str | Path) -> Path:
    """Write the JUnit XML report (UTF-8) atomically and return the path."""
    body = ET.tostring(junit_tree(results).getroot(), encoding="unicode")
    return write_text_atomic(path, f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n')
