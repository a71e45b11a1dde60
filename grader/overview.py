"""The course map and a lesson's overview, rendered from the lesson specs (never a copy of them).

``course_map()`` is the table the README and lesson 00 show: every lesson with its level, time,
prerequisites and objectives. ``lesson_overview(name)`` renders one lesson's objectives and
glossary, for its opening and closing cells.
"""

from __future__ import annotations

from pathlib import Path

from .errors import GraderError
from .lesson import LessonSpec, find_lesson, find_lessons, load_lesson
from .paths import course_root

__all__ = ["Markdown", "course_map", "lesson_overview"]


class Markdown(str):
    """Markdown text that Jupyter renders (and prints as itself elsewhere)."""

    def _repr_markdown_(self) -> str:
        return str(self)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def course_map(root: str | Path | None = None, *, objectives: int = 2) -> Markdown:
    """A Markdown table of the course's lessons, in order: file, title, level, time,
    prerequisites (by file name) and the first ``objectives`` learning objectives."""
    folder = Path(root) if root is not None else course_root()
    lessons = []
    for path in find_lessons(folder):
        try:
            lessons.append(load_lesson(path))
        except GraderError as exc:
            raise GraderError(f"course map: {exc}") from exc
    by_id = {lesson.spec.id: lesson.path.stem for lesson in lessons}
    rows = ["| lesson | title | level | time | needs | you will learn to |",
            "|---|---|---|---|---|---|"]
    for lesson in lessons:
        spec = lesson.spec
        needs = ", ".join(by_id.get(p, p) for p in spec.prerequisites) or "-"
        learn = "; ".join(spec.learning_objectives[:objectives])
        rows.append(f"| `{lesson.path.stem}` | {_cell(spec.title)} | {spec.level} |"
                    f" {spec.estimated_time} | {needs} | {_cell(learn)} |")
    return Markdown("\n".join(rows) + "\n")


def _glossary(spec: LessonSpec) -> str:
    if not spec.glossary:
        return ""
    rows = ["| term | meaning |", "|---|---|"]
    rows += [f"| **{_cell(term)}** | {_cell(text)} |" for term, text in sorted(spec.glossary.items())]
    return "\n".join(rows)


def lesson_overview(name: str, *, recap: bool = False, root: str | Path | None = None) -> Markdown:
    """A lesson's objectives (and, with ``recap``, its glossary) as Markdown: the opening cell
    says what you will learn, the closing one what you can now do."""
    folder = Path(root) if root is not None else course_root()
    spec = load_lesson(find_lesson(name, folder)).spec
    heading = "You can now:" if recap else (
        f"**{spec.level} · about {spec.estimated_time}.** In this lesson you will learn to:")
    lines = [heading, "", *(f"- {objective}" for objective in spec.learning_objectives)]
    if recap and spec.glossary:
        lines += ["", "**Glossary**", "", _glossary(spec)]
    return Markdown("\n".join(lines) + "\n")
