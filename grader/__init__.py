"""The odibi course toolkit: lesson specs, quizzes, progress store, grader and reports.

Lessons start with ``%load_ext grader`` (the ``%%check`` and ``%%spark`` cell magics of
:mod:`grader.magics`), use ``from grader.quiz import quiz`` to render a checkpoint,
:func:`show_source` to show the package's own code and :func:`workdir` for
the folder they may write to. The command line is ``python -m grader``.
"""

from __future__ import annotations

from .errors import GraderError, LessonSpecError, ProgressError, QuizError
from .lesson import Lesson, LessonSpec, load_lesson
from .magics import load_ipython_extension
from .paths import course_home, course_root, workdir
from .progress import ProgressStore
from .results import LessonResult, LessonStatus, StepResult, StepState
from .show import show_source

__all__ = [
    "GraderError",
    "Lesson",
    "LessonResult",
    "LessonSpec",
    "LessonSpecError",
    "LessonStatus",
    "ProgressError",
    "ProgressStore",
    "QuizError",
    "StepResult",
    "StepState",
    "__version__",
    "course_home",
    "course_root",
    "load_ipython_extension",
    "load_lesson",
    "show_source",
    "workdir",
]

__version__ = "0.1.0"
