"""Errors raised by the course toolkit.

Exception tree::

    GraderError
    ├── LessonSpecError   a notebook or its metadata.odibi is malformed (notebook, cell, field)
    ├── QuizError         a quiz YAML file is malformed (file, line, field)
    └── ProgressError     the progress store cannot be opened or written

Every error carries the place it is about, so a message always names the file
(and line or cell) and what was expected.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["GraderError", "LessonSpecError", "ProgressError", "QuizError"]


class GraderError(Exception):
    """Root of every error the grader package raises on purpose."""


class LessonSpecError(GraderError):
    """A lesson notebook, its tags or its ``metadata.odibi`` spec is invalid."""

    def __init__(
        self,
        notebook: str | Path,
        message: str,
        *,
        cell_index: int | None = None,
        field: str | None = None,
    ) -> None:
        self.notebook = str(notebook)
        self.cell_index = cell_index
        self.field = field
        self.message = message
        where = self.notebook
        if cell_index is not None:
            where += f", cell {cell_index + 1}"  # 1-based, as JupyterLab counts
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class QuizError(GraderError):
    """A quiz YAML file cannot be parsed or does not follow the quiz schema."""

    def __init__(
        self,
        file: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        where = self.file if line is None else f"{self.file}:{line}"
        if field is not None:
            where += f" ({field})"
        super().__init__(f"{where}: {message}")


class ProgressError(GraderError):
    """The progress store could not be opened, migrated or written."""
