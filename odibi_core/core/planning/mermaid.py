"""Mermaid flowcharts of a DAG, and a display object JupyterLab renders as a diagram.

JupyterLab 4.1 and later render the ``text/vnd.mermaid`` MIME type natively; older
front ends fall back to the ``text/markdown`` fenced block (rendered where Markdown
Mermaid is supported) or to the plain text. Node ids are generated (``n0``, ``n1``, ...),
so step names never need to be Mermaid identifiers; labels go through :func:`mermaid_text`.

``STATE_COLOURS`` is the one palette for node states, shared with the HTML run story.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_COLOURS", "STATE_COLOURS", "MermaidDiagram", "flowchart", "mermaid_text",
           "state_of"]

#: (fill, stroke) per node or step state
STATE_COLOURS: dict[str, tuple[str, str]] = {
    "PENDING": ("#ffffff", "#607d8b"),
    "READY": ("#eef3f6", "#607d8b"),
    "RUNNING": ("#fff3cd", "#b7950b"),
    "SUCCESS": ("#d4edda", "#2e7d32"),
    "CACHED": ("#d6eaf8", "#1f618d"),
    "FAILED": ("#f8d7da", "#c0392b"),
    "SKIPPED": ("#eeeeee", "#9e9e9e"),
    "RESUMED": ("#e8e0f5", "#6c3483"),
}
#: (fill, stroke) of a state the palette does not know
DEFAULT_COLOURS = ("#ffffff", "#455a64")

# characters a label keeps as they are; everything else becomes a Mermaid entity code
_PLAIN = frozenset(" _.-/,")
_PLAIN_KEY = re.compile(r"^[\w.-]+$")


def mermaid_text(text: str) -> str:
    """``text`` safe inside a Mermaid label: letters, digits and `` _.-/,`` stay, every other
    character becomes a numeric entity code (``"`` -> ``#34;``), which Mermaid shows as the
    character itself, never as markup or syntax."""
    return "".join(ch if ch.isalnum() or ch in _PLAIN else f"#{ord(ch)};" for ch in text)


def state_of(value: Any) -> str:
    """A state name from a state (str or StrEnum) or from a result with a ``state``."""
    return str(getattr(value, "state", value))


def _class_name(state: str) -> str:
    return "state_" + re.sub(r"\W", "_", state.lower())


def flowchart(
    nodes: Sequence[tuple[str, str]],
    edges: Sequence[tuple[str, str, Sequence[str]]],
    states: Mapping[str, Any] | None = None,
) -> str:
    """A left-to-right Mermaid flowchart.

    Args:
        nodes: (name, detail) in display order; the label is the name over the detail.
        edges: (parent name, child name, data-map keys carried) per edge.
        states: name -> state (or an executor result with ``.state``); coloured with
            ``STATE_COLOURS`` through ``classDef``/``class`` lines. Names not among the
            nodes raise ValueError.
    """
    ids = {name: f"n{i}" for i, (name, _detail) in enumerate(nodes)}
    lines = ["flowchart LR"]
    for name, detail in nodes:
        label = mermaid_text(name) + (f"<br/><small>{mermaid_text(detail)}</small>" if detail else "")
        lines.append(f'    {ids[name]}["{label}"]')
    for parent, child, keys in edges:
        text = ", ".join(keys)
        if not text:
            label = ""
        elif all(_PLAIN_KEY.match(k) for k in keys):
            label = f"|{text}|"
        else:
            label = f'|"{mermaid_text(text)}"|'
        lines.append(f"    {ids[parent]} -->{label} {ids[child]}")
    if states:
        unknown = sorted(set(states) - set(ids))
        if unknown:
            raise ValueError(f"states name steps not in the DAG: {unknown}; known: {sorted(ids)}")
        by_state: dict[str, list[str]] = {}
        for name in ids:
            if name in states:
                by_state.setdefault(state_of(states[name]), []).append(ids[name])
        for state in sorted(by_state):
            fill, stroke = STATE_COLOURS.get(state.upper(), DEFAULT_COLOURS)
            lines.append(f"    classDef {_class_name(state)} fill:{fill},stroke:{stroke},color:#000")
            lines.append(f"    class {','.join(by_state[state])} {_class_name(state)}")
    return "\n".join(lines)


@dataclass(frozen=True)
class MermaidDiagram:
    """Mermaid text that a notebook displays as a diagram (``display(diagram)`` or last line)."""

    text: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/vnd.mermaid": self.text,
            "text/markdown": f"```mermaid\n{self.text}\n```",
            "text/plain": self.text,
        }

    def __str__(self) -> str:
        return self.text
