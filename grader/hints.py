"""Progressive hints for exercises: revealed one at a time, each reveal recorded.

A lesson declares 2-3 hints per exercise step in ``metadata.odibi.hints``. The
"Hint" button under an exercise (``hints("03_orchestration", step=12)``) and
``python -m grader hint 03_orchestration 12`` show the next hint and record it in
the progress store; ``grader progress`` and the reports show how many were used.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import GraderError, ProgressError
from .lesson import Lesson, find_lesson, load_lesson
from .paths import course_root
from .progress import ProgressStore, default_store_path

__all__ = ["HintWidget", "exercise_hints", "hints", "reveal_next_hint"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revealed:
    """Hints shown so far for one exercise step, and how many it has."""

    step: int
    title: str
    shown: tuple[str, ...]
    total: int

    @property
    def exhausted(self) -> bool:
        return len(self.shown) >= self.total


def exercise_hints(lesson: Lesson, step: int) -> tuple[str, tuple[str, ...]]:
    """The title and hints of exercise step ``step``; errors name the exercise steps."""
    exercises = {s.number: s.title for s in lesson.steps if s.exercise}
    if step not in exercises:
        raise GraderError(f"{lesson.path.name}: step {step} is not an exercise step; exercise"
                          f" steps: {sorted(exercises) or 'none'}")
    found = lesson.spec.hints.get(step, ())
    if not found:
        raise GraderError(f"{lesson.path.name}: exercise step {step} declares no hints")
    return exercises[step], tuple(found)


def _shown(store: ProgressStore | None, lesson_id: str, step: int) -> int:
    return store.hints_used(lesson_id).get(step, 0) if store is not None else 0


def reveal_next_hint(lesson: Lesson, step: int, store: ProgressStore) -> Revealed:
    """Reveal (and record) the next hint of an exercise step; all of them once exhausted."""
    title, found = exercise_hints(lesson, step)
    count = _shown(store, lesson.spec.id, step)
    if count < len(found):
        count += 1
        store.record_hint(lesson.spec.id, step, count)
    return Revealed(step, title, found[:count], len(found))


class HintWidget:
    """A "Hint" button under an exercise that reveals its hints one at a time.

    Args:
        lesson: the loaded canonical lesson.
        step: the exercise's step number.
        store: progress store (default: the learner's, opened on the first click).
    """

    def __init__(self, lesson: Lesson, step: int, *, store: ProgressStore | None = None) -> None:
        import ipywidgets as widgets

        self.lesson = lesson
        self.step = step
        self.title, self.all_hints = exercise_hints(lesson, step)
        self._store = store
        self.button = widgets.Button(description="Hint", icon="lightbulb-o")
        self.button.add_class("odibi-hint-button")
        self.button.on_click(lambda _button: self.reveal())
        self.text = widgets.HTML("")
        self.text.add_class("odibi-hint-text")
        self.widget = widgets.VBox([self.button, self.text])
        self.widget.add_class("odibi-hints")
        existing = self._existing_store()
        self._render(self.all_hints[: _shown(existing, lesson.spec.id, step)])

    def _existing_store(self) -> ProgressStore | None:
        if self._store is not None:
            return self._store
        if not default_store_path(create_home=False).exists():
            return None  # rendering must not create the store
        return self.store

    @property
    def store(self) -> ProgressStore:
        if self._store is None:
            self._store = ProgressStore()
        return self._store

    def _render(self, shown: tuple[str, ...], warning: str = "") -> None:
        total = len(self.all_hints)
        items = "".join(f"<li>{html.escape(text)}</li>" for text in shown)
        body = f"<ol>{items}</ol>" if shown else ""
        self.button.description = (f"Hint ({len(shown) + 1} of {total})" if len(shown) < total
                                   else "No more hints")
        self.button.disabled = len(shown) >= total
        self.text.value = body + warning

    def reveal(self) -> tuple[str, ...]:
        """Show the next hint (recorded in the progress store); returns the hints shown."""
        try:
            revealed = reveal_next_hint(self.lesson, self.step, self.store)
        except ProgressError as exc:
            log.warning("hint for %s step %s not recorded: %s", self.lesson.spec.id, self.step, exc)
            count = len(self.text.value.split("<li>")) - 1
            shown = self.all_hints[: count + 1]
            self._render(shown, f"<p>(not recorded: {html.escape(str(exc))})</p>")
            return shown
        self._render(revealed.shown)
        return revealed.shown

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def hints(name: str, step: int, *, store: ProgressStore | None = None,
          root: str | Path | None = None) -> HintWidget:
    """The hint button for exercise ``step`` of lesson ``name`` (file stem or lesson id)."""
    folder = Path(root) if root is not None else course_root()
    return HintWidget(load_lesson(find_lesson(name, folder)), step, store=store)
