"""Learner copies: lessons with the exercise solutions stripped, and grading them fairly.

A learner copy replaces every ``# BEGIN SOLUTION`` .. ``# END SOLUTION`` region
with ``raise NotImplementedError``. When a copy is graded, only the learner's
exercise cells are taken from it (matched by cell id); everything else (check
cells, tags, the spec) comes from the canonical lesson, so editing a copy's
metadata, tags or checks can never raise its score.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .atomic import write_text_atomic
from .errors import GraderError
from .lesson import BEGIN_SOLUTION, END_SOLUTION, Lesson

__all__ = ["STUB", "make_learner_copy", "merge_learner_work", "strip_solutions", "stripped_notebook"]

STUB = 'raise NotImplementedError("Exercise: replace this line with your solution")'


def strip_solutions(source: str, *, where: str = "cell") -> str:
    """Replace each solution region (markers included) with a ``raise NotImplementedError``
    line at the indentation of its ``# BEGIN SOLUTION`` marker."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker.startswith(BEGIN_SOLUTION):
            if inside:
                raise GraderError(f"{where}, line {number}: nested '{BEGIN_SOLUTION}'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{STUB}\n")
        elif marker.startswith(END_SOLUTION):
            if not inside:
                raise GraderError(f"{where}, line {number}: '{END_SOLUTION}' without a begin marker")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise GraderError(f"{where}: '{BEGIN_SOLUTION}' is never closed by '{END_SOLUTION}'")
    return "".join(out)


def _clear_outputs(nb: NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)


def stripped_notebook(lesson: Lesson) -> NotebookNode:
    """The lesson with every exercise solution replaced by the stub and outputs cleared."""
    nb = copy.deepcopy(lesson.nb)
    for index in lesson.exercise_cells:
        cell = nb.cells[index]
        cell.source = strip_solutions(cell.source, where=f"{lesson.path.name}, cell {index}")
    _clear_outputs(nb)
    return nb


def make_learner_copy(lesson: Lesson, workspace: str | Path, *, force: bool = False) -> Path:
    """Write the learner copy of ``lesson`` to ``workspace/<lesson file name>``.

    An existing copy holds the learner's work, so it is never overwritten unless
    ``force`` is given.
    """
    target = Path(workspace) / lesson.path.name
    if target.exists() and not force:
        raise GraderError(f"{target} already exists and may hold your work; grade it as it is,"
                          f" or pass --force to replace it with a fresh copy")
    nb = stripped_notebook(lesson)
    nb.metadata["odibi_learner_copy"] = {"lesson_id": lesson.spec.id, "source": lesson.path.name}
    write_text_atomic(target, nbformat.writes(nb))
    return target


def merge_learner_work(lesson: Lesson, copy_nb: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The notebook to grade for a learner copy: the stripped canonical lesson with the
    learner's exercise cells (matched by cell id) put back in. Returns it with notes on
    exercise cells that could not be found in the copy (they stay stripped)."""
    graded = stripped_notebook(lesson)
    by_id = {cell.get("id"): cell for cell in copy_nb.cells if cell.get("id")}
    notes = []
    for index in lesson.exercise_cells:
        cell_id = lesson.nb.cells[index].get("id")
        mine = by_id.get(cell_id)
        if mine is None or mine.cell_type != "code":
            notes.append(f"exercise cell {index} (id {cell_id}) is missing from the copy;"
                         f" graded as not attempted")
            continue
        graded.cells[index].source = mine.source
    return graded, notes
