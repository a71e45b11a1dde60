"""Finding a lesson's quiz file in the course's ``quizzes/`` folder."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import QuizError
from ..paths import course_root
from .yamlload import LineDict, load_yaml

__all__ = ["find_quiz"]

log = logging.getLogger(__name__)


def _lesson_of(path: Path) -> str | None:
    """The ``lesson:`` of a quiz file, read without validating the rest of it."""
    data = load_yaml(path)
    lesson = data.get("lesson") if isinstance(data, LineDict) else None
    return lesson if isinstance(lesson, str) else None


def find_quiz(name: str, root: str | Path | None = None) -> Path:
    """The quiz file for ``name``: a file stem (``00_start_here`` ->
    ``quizzes/00_start_here.yaml``) or a lesson id (the file whose ``lesson:`` is ``name``).

    Args:
        name: quiz file stem or lesson id.
        root: course checkout; default :func:`grader.paths.course_root`.
    """
    folder = Path(root if root is not None else course_root()) / "quizzes"
    by_stem = folder / f"{name}.yaml"
    if by_stem.is_file():
        return by_stem
    available: list[str] = []
    broken: list[str] = []
    matches: list[Path] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            lesson = _lesson_of(path)
        except QuizError as exc:
            log.warning("skipping unreadable quiz file: %s", exc)
            broken.append(path.name)
            continue
        available.append(f"{path.stem} (lesson {lesson})")
        if lesson == name:
            matches.append(path)
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(p.name for p in matches)
        raise QuizError(folder, f"several quiz files are for lesson {name!r}: {names}")
    message = f"no quiz named {name!r} (a file stem or a lesson id); "
    message += f"available: {', '.join(available)}" if available else "the folder has no quizzes"
    if broken:
        message += f"; unreadable: {', '.join(broken)}"
    raise QuizError(folder, message)
