"""Inline SVG pictures of a run: the DAG (columns by dependency depth) and the timeline.

Colours come from the one state palette (``odibi_core.core.mermaid.STATE_COLOURS``).
Every name and label is escaped; long names are shortened on the picture and given in
full in a ``<title>`` (the browser's tooltip).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.planning.mermaid import DEFAULT_COLOURS, STATE_COLOURS
from .markup import esc, fmt_ms
from .model import Bar, Edge, NodeView

__all__ = ["SVG_NS", "colours", "dag_svg", "legend_svg", "timeline_svg"]

#: the SVG namespace (an identifier, never fetched)
SVG_NS = "http://www.w3.org/2000/svg"

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 190, 50, 70, 18, 16
LABEL_W, PLOT_W, ROW_H = 240, 620, 24
_MAX_CHARS = 24


def colours(state: str) -> tuple[str, str]:
    """(fill, stroke) of a state."""
    return STATE_COLOURS.get(state.upper(), DEFAULT_COLOURS)


def _short(text: str, limit: int = _MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="{SVG_NS}" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}">'
            + "".join(body) + "</svg>")


def legend_svg(states: Sequence[str], y: float) -> tuple[list[str], float]:
    """Swatches for ``states`` in one row starting at ``y``; returns (elements, width)."""
    parts, x = [], PAD
    for state in states:
        fill, stroke = colours(state)
        parts.append(f'<g class="legend-item" data-state="{esc(state)}">'
                     f'<rect x="{x}" y="{y}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{x + 20}" y="{y + 11}" font-size="12">{esc(state)}</text></g>')
        x += 34 + 8 * len(state)
    return parts, x


def dag_svg(nodes: Sequence[NodeView], edges: Sequence[Edge]) -> str:
    """The DAG left to right: one box per step, coloured by its final state, with a legend."""
    columns: dict[int, list[NodeView]] = {}
    for node in nodes:
        columns.setdefault(node.level, []).append(node)
    where: dict[str, tuple[float, float]] = {}
    for col, level in enumerate(sorted(columns)):
        for row, node in enumerate(columns[level]):
            where[node.name] = (PAD + col * (NODE_W + COL_GAP), PAD + row * (NODE_H + ROW_GAP))
    rows = max((len(c) for c in columns.values()), default=0)
    height = PAD * 2 + max(rows, 1) * (NODE_H + ROW_GAP)
    body = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="#555"/></marker></defs>']
    for edge in edges:
        (x1, y1), (x2, y2) = where[edge.parent], where[edge.child]
        sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        mid = (sx + ex) / 2
        body.append(f'<path class="edge" d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex} {ey}" fill="none" '
                    f'stroke="#555" stroke-width="1.5" marker-end="url(#arrow)">'
                    f'<title>{esc(edge.parent)} \u2192 {esc(edge.child)}: {esc(", ".join(edge.keys))}'
                    f'</title></path>')
    for node in nodes:
        x, y = where[node.name]
        fill, stroke = colours(node.state)
        dash = "" if node.ran else ' stroke-dasharray="5 3"'
        body.append(f'<g class="node" data-step="{esc(node.name)}" data-state="{esc(node.state)}">'
                    f'<title>{esc(node.name)}: {esc(node.state)}</title>'
                    f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
                    f'stroke="{stroke}" stroke-width="2"{dash}/>'
                    f'<text x="{x + 10}" y="{y + 20}" font-size="13" font-weight="600">'
                    f'{esc(_short(node.name))}</text>'
                    f'<text x="{x + 10}" y="{y + 38}" font-size="11" fill="#444">'
                    f'{esc(_short(f"{node.state} · {node.detail}", 30))}</text></g>')
    legend, legend_w = legend_svg(list(STATE_COLOURS), height)
    width = max(PAD * 2 + len(columns) * (NODE_W + COL_GAP) - COL_GAP, legend_w + PAD)
    return _svg(width, height + 14 + PAD, body + legend, "pipeline DAG")


def timeline_svg(bars: Sequence[Bar], total_ms: float | None) -> str:
    """One row per step execution: a bar from its start offset for its duration."""
    span = max([total_ms or 0.0] + [b.offset_ms + b.duration_ms for b in bars]) or 1.0
    scale = PLOT_W / span
    body = []
    for i, bar in enumerate(bars):
        y = PAD + i * ROW_H
        fill, stroke = colours(bar.state)
        x = LABEL_W + bar.offset_ms * scale
        w = max(bar.duration_ms * scale, 2.0)
        body.append(f'<g class="bar" data-state="{esc(bar.state)}">'
                    f'<title>{esc(bar.label)}: {esc(bar.state)}, starts at {esc(fmt_ms(bar.offset_ms))},'
                    f' takes {esc(fmt_ms(bar.duration_ms))}</title>'
                    f'<text x="{LABEL_W - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
                    f'{esc(_short(bar.label, 32))}</text>'
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 8}" rx="3" '
                    f'fill="{fill}" stroke="{stroke}"/>'
                    f'<text x="{min(x + w + 4, LABEL_W + PLOT_W - 60):.1f}" y="{y + 15}" font-size="11" '
                    f'fill="#444">{esc(fmt_ms(bar.duration_ms))}</text></g>')
    axis_y = PAD + len(bars) * ROW_H + 4
    body.append(f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + PLOT_W}" y2="{axis_y}" stroke="#888"/>'
                f'<text x="{LABEL_W}" y="{axis_y + 14}" font-size="11">0</text>'
                f'<text x="{LABEL_W + PLOT_W}" y="{axis_y + 14}" font-size="11" text-anchor="end">'
                f'{esc(fmt_ms(span))}</text>')
    return _svg(LABEL_W + PLOT_W + PAD + 40, axis_y + 20 + PAD, body, "step timeline")
