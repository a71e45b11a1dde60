"""StoryGenerator: one self-contained HTML page telling what a pipeline run did.

The page has a header (pipeline, run id, status, times, steps by state), the DAG and a
timeline as inline SVG, and a section per step execution (facts, inputs and outputs,
schema diff, before and after snapshots, error, lifecycle). It holds no JavaScript and
loads nothing: styles are inline and a Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..core.tracking.tracker import StepExecution, Tracker
from .markup import esc, fmt_ms
from .model import RunView, run_view
from .svg import colours, dag_svg, timeline_svg
from .tables import facts_table, schema_diff_html, snapshot_html, transitions_table

__all__ = ["StoryGenerator"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#222;font-size:14px}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h4{margin:.6rem 0 .2rem}h5{margin:.4rem 0 .2rem;color:#555}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;
vertical-align:top;font-size:13px}th{background:#f6f8fa}table.facts th{width:11rem}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid;font-size:12px;margin-right:4px}
.muted{color:#777;font-style:italic}.null{color:#999;font-style:italic}
details.step{border:1px solid #ddd;border-radius:6px;padding:.4rem .8rem;margin:.6rem 0}
details.step>summary{cursor:pointer;font-weight:600}
.snapshots{display:flex;flex-wrap:wrap;gap:1.5rem}.figure{overflow-x:auto}
pre.error{background:#fdf0f0;border:1px solid #e6b8b8;padding:.5rem;white-space:pre-wrap}
ul.diff{margin:.2rem 0}.added{color:#1b5e20}.removed{color:#b71c1c}.changed{color:#8a6d00}
"""


def _badge(state: str, count: int | None = None) -> str:
    fill, stroke = colours(state)
    text = esc(state) if count is None else f"{esc(state)} {count}"
    return f'<span class="badge" style="background:{fill};border-color:{stroke}">{text}</span>'


class StoryGenerator:
    """Renders the story of one run.

    Args:
        source: an ``OrchestrationResult`` (its tracker, executor results and stats are
            used) or a ``Tracker`` alone.
        title: the page title (default: ``"<pipeline>: run story"``).
    """

    def __init__(self, source: Any, *, title: str | None = None) -> None:
        if isinstance(source, Tracker):
            self.view = run_view(source)
        elif hasattr(source, "tracker") and hasattr(source, "node_results"):
            if source.tracker is None:
                raise ValueError("the run has no tracker, so there is nothing to tell; run it with"
                                 " enable_tracker=True or pass a Tracker")
            self.view = run_view(source.tracker, source.node_results, getattr(source, "stats", None))
        else:
            raise TypeError(f"StoryGenerator takes an OrchestrationResult or a Tracker, got"
                            f" {type(source).__name__}")
        self.title = title if title is not None else f"{self.view.pipeline}: run story"

    # -- output --------------------------------------------------------------------------
    def to_html(self) -> str:
        """The complete HTML5 document."""
        view = self.view
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>"
            f"{self._header(view)}"
            f'<section class="dag"><h2>DAG</h2><div class="figure">{dag_svg(view.nodes, view.edges)}</div></section>'
            f'<section class="timeline"><h2>Timeline</h2><div class="figure">'
            f"{timeline_svg(view.bars, view.total_duration_ms)}</div></section>"
            f'<section class="steps"><h2>Steps</h2>{self._steps(view)}</section>'
            "</body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` atomically (temp file, fsync, rename); returns the path."""
        data = self.to_html().encode("utf-8")
        return atomic_write(path, lambda handle: handle.write(data))

    def _repr_html_(self) -> str:
        """The page in a sandboxed iframe, so its styles stay out of the notebook's."""
        return (f'<iframe title="{esc(self.title)}" srcdoc="{esc(self.to_html())}" sandbox="" '
                'style="width:100%;height:760px;border:1px solid #ccc;border-radius:4px"></iframe>')

    # -- parts -------------------------------------------------------------------------
    @staticmethod
    def _header(view: RunView) -> str:
        facts = {
            "pipeline": view.pipeline,
            "run id": view.run_id,
            "status": view.status,
            "started": view.start_time,
            "ended": view.end_time,
            "total duration": fmt_ms(view.total_duration_ms),
            "step executions": len(view.executions),
        }
        counts = "".join(_badge(state, n) for state, n in view.state_counts.items())
        stats = {k: round(v, 3) if isinstance(v, float) else v for k, v in view.stats.items()}
        more = (f"<details><summary>run statistics</summary>{facts_table(stats)}</details>"
                if stats else "")
        return (f"<header><h1>{esc(view.pipeline)}</h1>{facts_table(facts)}"
                f'<p class="counts">steps by state: {counts or "none"}</p>{more}</header>')

    def _steps(self, view: RunView) -> str:
        last = {e.step_name: i for i, e in enumerate(view.executions)}
        parts = [self._execution(e, view.lifecycle.get(e.step_name) if last[e.step_name] == i else None)
                 for i, e in enumerate(view.executions)]
        parts += [self._not_run(node.name, view.lifecycle.get(node.name, {}))
                  for node in view.nodes if not node.ran]
        return "".join(parts) or '<p class="muted">no step was recorded</p>'

    @staticmethod
    def _execution(e: StepExecution, lifecycle: dict[str, Any] | None) -> str:
        facts = {
            "state": str(e.status), "layer": e.layer, "engine": e.engine,
            "started": e.start_time, "ended": e.end_time, "duration": fmt_ms(e.duration_ms),
            "attempt": e.attempt, "row delta": e.row_delta,
            "reads": None if e.source is None else f"{e.source.namespace} {e.source.name}",
            "writes": None if e.target is None else f"{e.target.namespace} {e.target.name}",
        }
        if e.iteration is not None:
            facts["iteration"] = e.iteration
        if e.checkpoint_id is not None:
            facts["checkpoint"] = e.checkpoint_id
        wiring = facts_table({**{f"input {k}": v for k, v in e.inputs.items()},
                              **{f"output {k}": v for k, v in e.outputs.items()}})
        error = f'<h4>error</h4><pre class="error">{esc(e.error)}</pre>' if e.error else ""
        after = snapshot_html("after", e.after_snapshot)
        life = ""
        if lifecycle:
            life = (f"<h4>lifecycle</h4><p>final state {esc(lifecycle.get('state'))}, "
                    f"{esc(lifecycle.get('attempts'))} attempt(s)</p>{transitions_table(lifecycle)}")
        return (f'<details class="step" open data-step="{esc(e.step_name)}"><summary>{esc(e.step_name)} '
                f"{_badge(str(e.status))} attempt {esc(e.attempt)}</summary>"
                f"{facts_table(facts)}<h4>inputs and outputs</h4>{wiring}"
                f"<h4>schema diff</h4>{schema_diff_html(e.schema_diff)}{error}"
                f'<div class="snapshots">{snapshot_html("before", e.before_snapshot)}{after}</div>'
                f"{life}</details>")

    @staticmethod
    def _not_run(name: str, record: dict[str, Any]) -> str:
        state = str(record.get("state", ""))
        facts = {"state": state, "reason": record.get("reason") or None, "attempts": record.get("attempts")}
        error = (f'<h4>error</h4><pre class="error">{esc(record["error"])}</pre>'
                 if record.get("error") else "")
        note = "not run" if state == "SKIPPED" else "no step record"
        return (f'<details class="step" open data-step="{esc(name)}"><summary>{esc(name)} {_badge(state)}'
                f" {note}</summary>{facts_table(facts)}{error}<h4>lifecycle</h4>"
                f"{transitions_table(record)}</details>")
