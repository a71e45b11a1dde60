"""HTML tables of a story: facts, snapshots (schema, row count, sample rows), schema diffs
and lifecycle transitions. Every value is escaped with :func:`~odibi_core.story.markup.esc`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.tracking.tracker import SchemaDiff
from ..engine.base import Snapshot
from .markup import esc

__all__ = ["facts_table", "schema_diff_html", "snapshot_html", "transitions_table"]


def _cell(value: Any) -> str:
    return '<span class="null">null</span>' if value is None else esc(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], css: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def facts_table(facts: Mapping[str, Any]) -> str:
    """A two-column table of label -> value."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_cell(v)}</td></tr>" for k, v in facts.items())
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def snapshot_html(title: str, snapshot: Snapshot | None) -> str:
    """A snapshot: row count ("not counted" when the engine did not count), schema and sample."""
    if snapshot is None:
        return f'<div class="snapshot"><h4>{esc(title)}</h4><p class="muted">no snapshot</p></div>'
    count = "not counted" if snapshot.row_count is None else f"{snapshot.row_count:,} rows"
    schema = (_table(["column", "type"], snapshot.schema, "schema") if snapshot.schema
              else '<p class="muted">no columns</p>')
    columns = list(dict.fromkeys([*snapshot.columns, *(k for row in snapshot.sample for k in row)]))
    sample = (_table(columns, ([row.get(c) for c in columns] for row in snapshot.sample), "sample")
              if snapshot.sample else '<p class="muted">no sample rows</p>')
    return (f'<div class="snapshot"><h4>{esc(title)}</h4><p class="count">{esc(count)}</p>'
            f"{schema}<h5>sample</h5>{sample}</div>")


def schema_diff_html(diff: SchemaDiff | None) -> str:
    """Added, removed and type-changed columns, or a note that nothing changed."""
    if diff is None:
        return '<p class="muted">no schema diff (the step did not finish)</p>'
    if not diff.has_changes:
        return '<p class="muted">no schema changes</p>'
    items = [f'<li class="added">added: {esc(", ".join(diff.added))}</li>' if diff.added else "",
             f'<li class="removed">removed: {esc(", ".join(diff.removed))}</li>' if diff.removed else "",
             *(f'<li class="changed">changed: {esc(col)} {esc(old)} \u2192 {esc(new)}</li>'
               for col, old, new in diff.changed)]
    return '<ul class="diff">' + "".join(items) + "</ul>"


def transitions_table(record: Mapping[str, Any]) -> str:
    """A node's lifecycle: its state transitions with times from the start of the run."""
    rows = [(t["state"], f'{t["at_ms"]:.1f} ms') for t in record.get("transitions", ())]
    return _table(["state", "at"], rows, "transitions")
