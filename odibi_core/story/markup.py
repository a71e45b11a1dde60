"""The two helpers every story module uses: escaping and number formatting.

Every value that comes from data, step config, names or errors reaches the page through
:func:`esc` (``html.escape`` with ``quote=True``), in HTML text, attributes and SVG alike.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["esc", "fmt_ms"]


def esc(value: Any) -> str:
    """``str(value)`` escaped for HTML and SVG text and attribute values."""
    return html.escape(str(value), quote=True)


def fmt_ms(ms: float | None) -> str:
    """A duration for people: ``"12.3 ms"``, ``"4.50 s"``, or ``"-"`` when unknown."""
    if ms is None:
        return "-"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"
