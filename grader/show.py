"""Show the package's own source in a lesson, so a notebook never drifts from the code it teaches."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

__all__ = ["SourceView", "show_source"]


class SourceView:
    """The source of one object, displayed as a highlighted Python block in Jupyter."""

    def __init__(self, obj: Any) -> None:
        try:
            lines, start = inspect.getsourcelines(obj)
            file = inspect.getsourcefile(obj) or "<unknown>"
        except (OSError, TypeError) as exc:
            raise TypeError(f"cannot show the source of {obj!r}: {exc}") from exc
        self.obj = obj
        self.source = "".join(lines)
        self.start = start
        self.file = file
        self.name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
        self.module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")

    @property
    def location(self) -> str:
        """``module.path:line`` of the shown code (file path relative to its package)."""
        parts = Path(self.file).parts
        for anchor in ("odibi_core", "grader"):
            if anchor in parts:
                rel = "/".join(parts[parts.index(anchor):])
                return f"{rel}:{self.start}"
        return f"{self.file}:{self.start}"

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.source else "```"
        return f"**`{self.name}`** from `{self.location}`\n\n{fence}python\n{self.source}{fence}\n"

    def __str__(self) -> str:
        return f"# {self.name} from {self.location}\n{self.source}"

    def __repr__(self) -> str:
        return str(self)


def show_source(obj: Any) -> SourceView:
    """The real source of a function, class or module (via :func:`inspect.getsource`),
    rendered as Markdown when it is the last expression of a cell."""
    return SourceView(obj)
