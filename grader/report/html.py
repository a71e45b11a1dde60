"""The HTML report: one self-contained page (inline CSS and SVG, no JS, no URLs).

Every value that comes from a notebook or a result (ids, titles, errors,
tracebacks) passes through :func:`_e`, so a hostile step title renders as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from ..chart import bar_chart, xml_text
from ..results import LessonResult, StepResult
from .json_report import write_text_atomic
from .terminal import format_duration, format_percent, summary_line

__all__ = ["render_html", "write_html"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #212121; padding: 0 1rem; }
h1 { margin-bottom: .25rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; width: 100%; }
th, td { border-bottom: 1px solid #e0e0e0; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #fafafa; }
td.num { text-align: right; white-space: nowrap; }
.badge { border-radius: .6rem; color: #fff; display: inline-block; font-size: .8rem; padding: .05rem .5rem; white-space: nowrap; }
.passed { background: #2e7d32; } .failed { background: #c62828; } .error { background: #6a1b9a; }
.tampered { background: #000000; }
.timed-out { background: #ef6c00; } .not-run { background: #757575; } .skipped { background: #0277bd; }
.no-check { background: #bdbdbd; color: #212121; }
section { border-top: 2px solid #eeeeee; margin-top: 1.5rem; }
pre { background: #f5f5f5; overflow-x: auto; padding: .5rem; white-space: pre-wrap; }
.muted { color: #757575; }
ul.problems li { font-family: monospace; white-space: pre-wrap; }
"""


def _e(value: object) -> str:
    """Escape for HTML text and attributes, dropping ANSI codes and control characters."""
    return escape(xml_text(value), quote=True)


def _badge(state: str, label: str | None = None) -> str:
    return f'<span class="badge {_e(state)}">{_e(label or state)}</span>'


def _step_row(step: StepResult) -> str:
    state = _badge(step.state.value) if step.runnable else _badge("no-check", "no check cell")
    if step.error is not None:
        error = step.error
        detail = f"<code>{_e(error.message)}</code> (cell {error.cell_number})"
        if error.traceback:
            detail += (
                f"<details><summary>traceback</summary><pre>{_e(error.traceback)}</pre></details>"
            )
    else:
        detail = _e(step.reason)
    if step.hints_used:
        detail += f' <span class="muted">(hints used: {step.hints_used})</span>'
    kind = "exercise" if step.exercise else ""
    return (
        f"<tr><td>step-{step.number}</td><td>{_e(step.title)}</td><td>{kind}</td><td>{state}</td>"
        f'<td class="num">{format_duration(step.duration_s)}</td><td>{detail}</td></tr>'
    )


def _policy_text(result: LessonResult) -> str:
    policy = result.policy
    if not policy:
        return "-"
    exercises = ("every exercise must pass" if policy.get("exercises") == "required"
                 else "exercises count towards the step score")
    penalty = policy.get("hint_penalty") or 0
    hints = f", each hint used costs {penalty:.0%} of its step" if penalty else ", hints are free"
    return (f"{exercises}; steps and quiz must each reach {format_percent(policy.get('pass_score'))}"
            f"{hints}")


def _lesson_section(index: int, result: LessonResult) -> str:
    parts = [
        f'<section id="lesson-{index}">',
        f"<h2>{_e(result.lesson_id)} {_badge(result.status.value)}</h2>",
        f'<p>{_e(result.title)} <span class="muted">{_e(result.notebook)}</span></p>',
        f"<p>score {format_percent(result.score)} (pass {format_percent(result.pass_score)}),"
        f" quiz {format_percent(result.quiz_score)}, {result.passed_steps}/"
        f"{len(result.graded_steps)} steps passed in {format_duration(result.duration_s)}</p>",
        f"<p><strong>{_e(result.verdict)}</strong></p>",
        f'<p class="muted">policy: {_e(_policy_text(result))}</p>',
    ]
    problems = [
        *(f"<li>error: {_e(text)}</li>" for text in result.errors),
        *(f"<li>lint: {_e(text)}</li>" for text in result.lint),
    ]
    if result.kernel_died:
        problems.insert(0, "<li>the kernel died: later steps were not run</li>")
    if problems:
        parts.append(f'<ul class="problems">{"".join(problems)}</ul>')
    if result.steps:
        parts.append(
            "<table><thead><tr><th>step</th><th>title</th><th></th><th>state</th>"
            "<th>time</th><th>first error</th></tr></thead><tbody>"
        )
        parts.extend(_step_row(step) for step in result.steps)
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def _summary_table(results: Sequence[LessonResult]) -> str:
    rows = [
        f'<tr><td><a href="#lesson-{i}">{_e(r.lesson_id)}</a></td><td>{_badge(r.status.value)}</td>'
        f'<td class="num">{r.passed_steps}/{len(r.graded_steps)}</td>'
        f'<td class="num">{format_percent(r.score)}</td>'
        f'<td class="num">{format_percent(r.pass_score)}</td>'
        f'<td class="num">{format_percent(r.quiz_score)}</td>'
        f'<td class="num">{format_duration(r.duration_s)}</td></tr>'
        for i, r in enumerate(results)
    ]
    return (
        "<table><thead><tr><th>lesson</th><th>status</th><th>steps</th><th>score</th>"
        "<th>pass</th><th>quiz</th><th>time</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render_html(results: Sequence[LessonResult], *, title: str = "odibi course report") -> str:
    """The report page as a string."""
    chart = bar_chart(
        [r.lesson_id for r in results],
        [r.score for r in results],
        threshold=[r.pass_score for r in results],
        title="Step score by lesson (tick = pass score)",
    )
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">{_e(summary_line(results))}</p>',
        chart,
        _summary_table(results),
        *(_lesson_section(i, r) for i, r in enumerate(results)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write_html(
    results: Sequence[LessonResult], path: str | Path, *, title: str = "odibi course report"
) -> Path:
    """Write the self-contained HTML report atomically and return the path."""
    return write_text_atomic(path, render_html(results, title=title))
