"""Horizontal bar charts of scores (0..1) as self-contained inline SVG.

One implementation serves the HTML report and the learner's progress view. The
SVG has no scripts, ids or external references, so several charts can sit in
one HTML page and the page stays readable offline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "xml_text"]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
# Everything XML 1.0 forbids: C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_ROW = 24  # pixels per bar row
_BAR = 14  # bar thickness
_CHAR = 7  # approximate width of one 12px character
_PASS = "#2e7d32"
_FAIL = "#c62828"
_NEUTRAL = "#1565c0"
_TRACK = "#eceff1"


def xml_text(value: object) -> str:
    """``str(value)`` without ANSI escape sequences and characters XML 1.0 forbids.

    Tracebacks from Jupyter kernels carry ANSI colour codes; ``\\x1b`` alone makes
    an XML file unparseable, and the codes are noise in HTML and plain text.
    """
    return _XML_ILLEGAL.sub("", _ANSI.sub("", str(value)))


def _esc(value: object) -> str:
    return escape(xml_text(value), quote=True)


def _number(value: float | None) -> float | None:
    """``None`` for missing values, NaN included (pandas hands over NaN)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _thresholds(threshold: Sequence[float | None] | float | None, n: int) -> list[float | None]:
    if threshold is None or isinstance(threshold, int | float):
        return [_number(threshold)] * n
    values = [_number(t) for t in threshold]
    if len(values) != n:
        raise ValueError(f"bar_chart: expected {n} thresholds (one per label), got {len(values)}")
    return values


def _fit(label: str, max_chars: int) -> str:
    return label if len(label) <= max_chars else label[: max(max_chars - 1, 1)] + "…"


def _x(fraction: float, left: float, span: float) -> float:
    return round(left + span * min(max(fraction, 0.0), 1.0), 1)


def bar_chart(
    labels: list[str],
    values: list[float | None],
    *,
    threshold: list[float | None] | float | None = None,
    title: str = "",
    width: int = 560,
    height: int | None = None,
    standalone: bool = False,
) -> str:
    """An SVG of one horizontal bar per label for values in 0..1.

    Bars at or above their threshold are green, below it red, and blue when there
    is no threshold; ``None`` (or NaN) is drawn as an empty dashed "n/a" bar.

    Args:
        labels: one label per bar, drawn left of it (long labels are shortened;
            the full text is the bar's tooltip).
        values: fractions 0..1 (drawn clamped; the percentage label shows the value).
        threshold: pass score per bar, or one for every bar; drawn as a tick.
        title: caption above the bars.
        width: width in pixels.
        height: height in pixels; by default it fits the number of bars.
        standalone: add the SVG namespace, for writing a ``.svg`` file
            (inline SVG in HTML needs none, and it keeps URLs out of the page).
    """
    if len(labels) != len(values):
        raise ValueError(
            f"bar_chart: expected one value per label ({len(labels)}), got {len(values)}"
        )
    ticks = _thresholds(threshold, len(labels))
    top = 30 if title else 8
    height = height if height is not None else top + _ROW * max(len(labels), 1) + 8
    label_chars = max((len(xml_text(label)) for label in labels), default=0)
    label_w = min(label_chars * _CHAR + 12, width * 0.4)
    left, right = label_w, width - 48
    span = max(right - left, 10)
    row = (height - top - 8) / max(len(labels), 1)

    namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    parts = [
        f'<svg{namespace} width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{_esc(title or "bar chart")}"'
        ' font-family="sans-serif" font-size="12">'
    ]
    if title:
        parts.append(f'<text x="4" y="18" font-size="14" font-weight="bold">{_esc(title)}</text>')
    if not labels:
        parts.append(f'<text x="4" y="{top + 14}" fill="#607d8b">no data</text>')
    for i, (label, raw, tick) in enumerate(zip(labels, values, ticks, strict=True)):
        value = _number(raw)
        y = round(top + i * row + (row - _BAR) / 2, 1)
        mid = round(y + _BAR / 2 + 4, 1)
        text = xml_text(label)
        shown = _fit(text, max(int((label_w - 12) // _CHAR), 1))
        parts.append("<g>")
        parts.append(f"<title>{_esc(text)}: {_percent(value)}</title>")
        parts.append(
            f'<text x="{round(label_w - 6, 1)}" y="{mid}" text-anchor="end">{_esc(shown)}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y}" width="{round(span, 1)}" height="{_BAR}" fill="{_TRACK}"/>'
        )
        if value is None:
            parts.append(
                f'<rect x="{left}" y="{y}" width="{round(span, 1)}" height="{_BAR}" fill="none"'
                ' stroke="#90a4ae" stroke-dasharray="4 3"/>'
            )
        else:
            colour = _NEUTRAL if tick is None else (_PASS if value >= tick else _FAIL)
            bar_w = round(_x(value, left, span) - left, 1)
            parts.append(
                f'<rect x="{left}" y="{y}" width="{bar_w}" height="{_BAR}" fill="{colour}"/>'
            )
        if tick is not None:
            tx = _x(tick, left, span)
            parts.append(
                f'<line x1="{tx}" y1="{round(y - 3, 1)}" x2="{tx}" y2="{round(y + _BAR + 3, 1)}"'
                ' stroke="#212121" stroke-width="2"/>'
            )
        parts.append(f'<text x="{right + 6}" y="{mid}">{_percent(value)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"
