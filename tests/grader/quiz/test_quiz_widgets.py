"""Quiz widgets: nothing secret in widget state, attempts stored, feedback as specified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest
from quiz_testdata import write_valid_quiz

from grader.errors import ProgressError, QuizError
from grader.progress import ProgressStore
from grader.quiz import QuizWidget, load_quiz

SECRETS = [
    "EXPLANATION_SENTINEL_Q1",
    "RATIONALE_SENTINEL_PYTEST",
    "ANSWER_SENTINEL_Q2",
    "EXPLANATION_SENTINEL_Q2",
    "zqzqzq",
    "EXPLANATION_SENTINEL_Q3",
]


def _walk(widget: widgets.Widget, seen: set[str] | None = None) -> Iterator[widgets.Widget]:
    """Every widget reachable from ``widget`` through its synced traits."""
    seen = set() if seen is None else seen
    if widget.model_id in seen:
        return
    seen.add(widget.model_id)
    yield widget
    for key in widget.keys:
        value = getattr(widget, key)
        for child in value if isinstance(value, list | tuple) else [value]:
            if isinstance(child, widgets.Widget):
                yield from _walk(child, seen)


def _state_text(widget: widgets.Widget) -> str:
    return json.dumps([w.get_state() for w in _walk(widget)], default=str)


def _by_class(widget: widgets.Widget, css_class: str) -> list[widgets.Widget]:
    return [w for w in _walk(widget) if css_class in getattr(w, "_dom_classes", ())]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProgressStore]:
    with ProgressStore(tmp_path / "progress.db") as progress:
        yield progress


@pytest.fixture
def quiz_widget(tmp_path: Path, store: ProgressStore) -> QuizWidget:
    return QuizWidget(load_quiz(write_valid_quiz(tmp_path)), store=store)


def test_rendered_state_holds_no_answer_or_explanation(quiz_widget: QuizWidget) -> None:
    state = _state_text(quiz_widget.widget)
    assert "Which command grades the course?" in state  # the walk does reach the prompts
    assert "python -m grader" in state  # option labels are visible, not which one is right
    for secret in SECRETS:
        assert secret not in state


def test_structure_and_css_classes(quiz_widget: QuizWidget) -> None:
    root = quiz_widget.widget
    assert "odibi-quiz" in root._dom_classes
    boxes = _by_class(root, "odibi-quiz-question")
    assert [b for b in boxes if "odibi-q-q1" in b._dom_classes]
    assert len(boxes) == 3
    [options] = _by_class(root, "odibi-quiz-options")
    assert isinstance(options, widgets.RadioButtons)
    assert options.value is None
    assert list(options.options) == ["pytest", "python -m grader", "make grade"]
    inputs = _by_class(root, "odibi-quiz-input")
    assert {type(w) for w in inputs} == {widgets.Textarea, widgets.Text}
    assert all(w.value == "" for w in inputs)
    buttons = _by_class(root, "odibi-quiz-check")
    assert [b.description for b in buttons] == ["Check answer"] * 3
    assert len(_by_class(root, "odibi-quiz-feedback")) == 3


def test_wrong_then_right_records_two_attempts(
    quiz_widget: QuizWidget, store: ProgressStore
) -> None:
    [feedback] = _by_class(_by_class(quiz_widget.widget, "odibi-q-q1")[0], "odibi-quiz-feedback")
    assert quiz_widget.answer("q1", "pytest") is False
    assert "Not quite" in feedback.value
    assert "RATIONALE_SENTINEL_PYTEST" in feedback.value
    assert "python -m grader" not in feedback.value
    assert "EXPLANATION_SENTINEL_Q1" not in feedback.value

    assert quiz_widget.answer("q1", "python -m grader") is True
    assert "Correct" in feedback.value
    assert "EXPLANATION_SENTINEL_Q1" in feedback.value

    attempts = store.attempts("start_here", "q1")
    assert [(a.attempt_no, a.correct, a.answer) for a in attempts] == [
        (1, False, "pytest"),
        (2, True, "python -m grader"),
    ]
    assert attempts[0].checkpoint == 1
    assert store.quiz_score("start_here", ["q1"]) == 0.0
    assert quiz_widget.score() == 0.0


def test_score_counts_first_attempts(quiz_widget: QuizWidget) -> None:
    assert quiz_widget.answer("q2", "ANSWER_SENTINEL_Q2\n") is True
    assert quiz_widget.answer("q3", "zqzqzq") is True  # bare text of a quoted repr key
    assert quiz_widget.answer("q1", "make grade") is False
    assert quiz_widget.answer("q1", "python -m grader") is True
    assert quiz_widget.score() == pytest.approx(2 / 3)


def test_answer_revealed_after_three_wrong_attempts(quiz_widget: QuizWidget) -> None:
    [feedback] = _by_class(_by_class(quiz_widget.widget, "odibi-q-q3")[0], "odibi-quiz-feedback")
    for _ in range(2):
        quiz_widget.answer("q3", "'zq'")
        assert "Not quite" in feedback.value
        assert "zqzqzq" not in feedback.value
    quiz_widget.answer("q3", "'zq'")
    assert "zqzqzq" in feedback.value
    assert "EXPLANATION_SENTINEL_Q3" in feedback.value


def test_button_takes_the_same_path(quiz_widget: QuizWidget, store: ProgressStore) -> None:
    box = _by_class(quiz_widget.widget, "odibi-q-q1")[0]
    [options] = _by_class(box, "odibi-quiz-options")
    [button] = _by_class(box, "odibi-quiz-check")
    [feedback] = _by_class(box, "odibi-quiz-feedback")
    button.click()
    assert "Choose an option first" in feedback.value
    assert store.attempts("start_here") == []
    options.value = "python -m grader"
    button.click()
    assert "Correct" in feedback.value
    assert [a.correct for a in store.attempts("start_here", "q1")] == [True]


def test_rendering_alone_creates_no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ODIBI_COURSE_HOME", str(home))
    widget = QuizWidget(load_quiz(write_valid_quiz(tmp_path)), 1)
    assert not home.exists()
    assert widget.answer("q1", "python -m grader") is True
    assert (home / "progress.db").is_file()


class _BrokenStore:
    def record_attempt(self, *args: object, **kwargs: object) -> None:
        raise ProgressError("disk full")

    def current_round(self, *args: object) -> int:
        raise ProgressError("disk full")


def test_store_failure_still_gives_feedback(tmp_path: Path) -> None:
    widget = QuizWidget(load_quiz(write_valid_quiz(tmp_path)), 1, store=_BrokenStore())  # type: ignore[arg-type]
    assert widget.answer("q1", "python -m grader") is True
    [feedback] = _by_class(widget.widget, "odibi-quiz-feedback")
    assert "Correct" in feedback.value
    assert "could not be saved" in feedback.value
    assert "disk full" in feedback.value


def test_checkpoint_selection_and_unknown_checkpoint(tmp_path: Path, store: ProgressStore) -> None:
    quiz = load_quiz(write_valid_quiz(tmp_path))
    widget = QuizWidget(quiz, 2, store=store)
    assert [q.id for q in widget.questions] == ["q2", "q3"]
    with pytest.raises(QuizError, match=r"checkpoints: 1, 2"):
        QuizWidget(quiz, 5, store=store)
    with pytest.raises(QuizError, match=r"questions: q2, q3"):
        widget.answer("q1", "pytest")


def test_displays_as_the_widget(quiz_widget: QuizWidget) -> None:
    bundle = quiz_widget._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == quiz_widget.widget.model_id
