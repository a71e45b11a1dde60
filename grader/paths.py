"""Where things live: the course checkout, the learner's course home, a lesson's working directory.

``ODIBI_COURSE_ROOT``, ``ODIBI_COURSE_HOME`` and ``ODIBI_WORKDIR`` override each
place; the grader sets all three for the kernels it starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import GraderError

__all__ = ["ENV_HOME", "ENV_ROOT", "ENV_WORKDIR", "course_home", "course_root", "workdir"]

ENV_ROOT = "ODIBI_COURSE_ROOT"
ENV_HOME = "ODIBI_COURSE_HOME"
ENV_WORKDIR = "ODIBI_WORKDIR"


def _is_course_root(path: Path) -> bool:
    return (path / "lessons").is_dir() and (path / "quizzes").is_dir()


def course_root(start: str | Path | None = None) -> Path:
    """The course checkout: ``$ODIBI_COURSE_ROOT``, else the nearest parent of ``start``
    (default: the current directory) holding ``lessons/`` and ``quizzes/``, else the
    checkout this package was installed from (editable install)."""
    env = os.environ.get(ENV_ROOT)
    if env:
        root = Path(env).expanduser().resolve()
        if not _is_course_root(root):
            raise GraderError(f"{ENV_ROOT}={env} has no lessons/ and quizzes/ folders")
        return root
    here = Path(start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_course_root(candidate):
            return candidate
    installed = Path(__file__).resolve().parent.parent
    if _is_course_root(installed):
        return installed
    raise GraderError(
        f"cannot find the course folder (lessons/ and quizzes/) above {here}; "
        f"set {ENV_ROOT} to your odibi-course checkout"
    )


def course_home(*, create: bool = True) -> Path:
    """The learner's course home (progress database, workspace): ``$ODIBI_COURSE_HOME``
    or ``~/.odibi_course``. Created if missing, unless ``create`` is false."""
    env = os.environ.get(ENV_HOME)
    home = Path(env).expanduser() if env else Path.home() / ".odibi_course"
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home


def workdir(name: str = "lesson") -> Path:
    """A directory a lesson may write to: ``$ODIBI_WORKDIR`` when the grader set it,
    otherwise a fresh temporary directory (so a lesson never writes into the checkout)."""
    env = os.environ.get(ENV_WORKDIR)
    if env:
        path = Path(env).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()
    return Path(tempfile.mkdtemp(prefix=f"odibi-{name}-")).resolve()
