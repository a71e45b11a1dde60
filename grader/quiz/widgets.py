"""Quiz questions rendered as ipywidgets, judged in the kernel and stored as attempts.

Answers and explanations stay in Python objects until the learner answers, so they
are never part of the widget state a browser (or a saved notebook) can read.
"""

from __future__ import annotations

import html
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..errors import ProgressError, QuizError
from ..progress import ProgressStore, default_store_path
from .answers import check_answer
from .locate import find_quiz
from .model import Question, QuestionType, Quiz
from .schema import load_quiz

__all__ = ["REVEAL_AFTER", "QuizWidget", "option_order", "quiz"]

log = logging.getLogger(__name__)

REVEAL_AFTER = 3
"""Wrong attempts after which the answer and explanation are shown."""

_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_COLOURS = {"correct": "#1a7f37", "wrong": "#9a4d00", "hint": "#555", "warning": "#b00020"}


def _markup(text: str) -> str:
    """Escaped text with `code` spans and paragraph breaks: enough for quiz prose."""
    escaped = _INLINE_CODE.sub(r"<code>\1</code>", html.escape(text.strip()))
    return "<br><br>".join(p.replace("\n", " ") for p in re.split(r"\n\s*\n", escaped))


def _code_block(question: Question) -> str:
    if not question.code:
        return ""
    lines = question.code.rstrip("\n").splitlines()
    if question.type is QuestionType.CODE_TRACE:
        width = len(str(len(lines)))
        lines = [f"{n:>{width}}  {line}" for n, line in enumerate(lines, start=1)]
    return f'<pre class="odibi-quiz-code">{html.escape(chr(10).join(lines))}</pre>'


def _note(kind: str, body: str) -> str:
    return f'<div class="odibi-quiz-{kind}" style="color: {_COLOURS[kind]}">{body}</div>'


@dataclass
class _QuestionView:
    """The widgets of one question and the learner's wrong attempts in this session."""

    question: Question
    box: widgets.VBox
    input: widgets.ValueWidget
    button: widgets.Button
    feedback: widgets.HTML
    wrong: int = 0


def option_order(question: Question, lesson_id: str, round_no: int) -> list[str]:
    """The option texts of ``question`` as round ``round_no`` shows them: the authored order in
    round 1, then a shuffle per round that differs from the round before."""
    texts = [o.text for o in question.options]
    if round_no <= 1 or len(texts) < 2:
        return texts
    previous = option_order(question, lesson_id, round_no - 1)
    for attempt in range(20):
        order = texts[:]
        random.Random(f"{lesson_id}:{question.id}:{round_no}:{attempt}").shuffle(order)
        if order != previous:
            return order
    return previous[1:] + previous[:1]  # a rotation always differs


def _build_view(question: Question, number: int, options: list[str]) -> _QuestionView:
    prompt = widgets.HTML(
        f"<p><b>Question {number}.</b> {_markup(question.prompt)}</p>{_code_block(question)}"
    )
    field: widgets.ValueWidget
    if question.is_choice:
        field = widgets.RadioButtons(options=options, value=None, layout={"width": "auto"})
        field.add_class("odibi-quiz-options")
    else:
        if question.type is QuestionType.PREDICT_OUTPUT:
            # Program output can span lines, which a one-line Text cannot hold.
            field = widgets.Textarea(placeholder="The exact output", rows=3)
        else:
            hint = "A number" if question.trace and question.trace.hits else "Your answer"
            field = widgets.Text(placeholder=hint)
        field.add_class("odibi-quiz-input")
    button = widgets.Button(description="Check answer")
    button.add_class("odibi-quiz-check")
    feedback = widgets.HTML("")
    feedback.add_class("odibi-quiz-feedback")
    box = widgets.VBox([prompt, field, button, feedback])
    box.add_class("odibi-quiz-question")
    box.add_class(f"odibi-q-{question.id}")
    return _QuestionView(question, box, field, button, feedback)


class QuizWidget:
    """The questions of one checkpoint (or a whole quiz) as an interactive widget.

    Each checkpoint is answered in rounds: the first answers of a round make its score and
    the best round counts. "Start a new round" (or ``python -m grader quiz retake``) begins
    another with the options shuffled; every attempt stays stored.

    Args:
        quiz: the loaded quiz.
        checkpoint: only this checkpoint's questions; None for all.
        store: where attempts go; default a :class:`ProgressStore` opened on the first
            answer, so rendering alone writes nothing.
    """

    def __init__(
        self, quiz: Quiz, checkpoint: int | None = None, *, store: ProgressStore | None = None
    ) -> None:
        self.quiz = quiz
        self.checkpoint = checkpoint
        self.questions = quiz.questions if checkpoint is None else quiz.for_checkpoint(checkpoint)
        self._store = store
        self._views: dict[str, _QuestionView] = {}
        self.rounds = {cp: self._stored_round(cp) for cp in self.checkpoints}
        self.retake_button = widgets.Button(description="Start a new round")
        self.retake_button.add_class("odibi-quiz-retake")
        self.retake_button.on_click(lambda _button: self.new_round())
        self.round_note = widgets.HTML("")
        self.round_note.add_class("odibi-quiz-round")
        self.widget = widgets.VBox([])
        self.widget.add_class("odibi-quiz")
        self._build()

    @property
    def checkpoints(self) -> list[int]:
        return list(dict.fromkeys(q.checkpoint for q in self.questions))

    def _stored_round(self, checkpoint: int) -> int:
        if self._store is None and not default_store_path(create_home=False).exists():
            return 1  # nothing stored yet, and rendering must not create the store
        try:
            return self.store.current_round(self.lesson_id, checkpoint)
        except ProgressError as exc:
            log.warning("quiz round of %s/%s unknown: %s", self.lesson_id, checkpoint, exc)
            return 1

    def _build(self) -> None:
        self._views = {}
        children: list[widgets.Widget] = []
        shown_checkpoint = None
        for number, question in enumerate(self.questions, start=1):
            if question.checkpoint != shown_checkpoint:
                shown_checkpoint = question.checkpoint
                title = html.escape(self.quiz.checkpoints[question.checkpoint])
                round_no = self.rounds[question.checkpoint]
                suffix = f" (round {round_no})" if round_no > 1 else ""
                heading = widgets.HTML(f"<h4>Checkpoint {question.checkpoint}: {title}{suffix}</h4>")
                heading.add_class("odibi-quiz-title")
                children.append(heading)
            order = option_order(question, self.lesson_id, self.rounds[question.checkpoint])
            view = _build_view(question, number, order)
            view.button.on_click(lambda _button, qid=question.id: self._on_click(qid))
            self._views[question.id] = view
            children.append(view.box)
        self.widget.children = [*children, self.retake_button, self.round_note]

    def new_round(self) -> dict[int, int]:
        """Start a new round of every checkpoint shown: options shuffled, answers cleared.
        Returns checkpoint -> its new round number."""
        try:
            self.rounds = {cp: self.store.start_round(self.lesson_id, cp) for cp in self.checkpoints}
        except ProgressError as exc:
            self.round_note.value = _note("warning", f"No new round: {html.escape(str(exc))}")
            return dict(self.rounds)
        self._build()
        numbers = ", ".join(str(n) for n in sorted(set(self.rounds.values())))
        self.round_note.value = _note(
            "hint", f"Round {numbers}: your first answer to each question in this round makes the"
                    f" round's score, and your best round counts.")
        return dict(self.rounds)

    @property
    def lesson_id(self) -> str:
        return self.quiz.lesson

    @property
    def store(self) -> ProgressStore:
        """The progress store, opened on first use (may raise :class:`ProgressError`)."""
        if self._store is None:
            self._store = ProgressStore()
        return self._store

    def _view(self, question_id: str) -> _QuestionView:
        try:
            return self._views[question_id]
        except KeyError:
            known = ", ".join(sorted(self._views))
            raise QuizError(
                self.quiz.path, f"no question {question_id!r} in this widget; questions: {known}"
            ) from None

    def _on_click(self, question_id: str) -> None:
        view = self._views[question_id]
        self.answer(question_id, view.input.value)

    def answer(self, question_id: str, value: Any) -> bool:
        """Judge ``value`` for a question, record the attempt and show feedback.

        This is what the "Check answer" button does. An empty answer only asks for one
        and is not recorded. Returns whether the answer is correct.
        """
        view = self._view(question_id)
        question = view.question
        given = "" if value is None else str(value)
        if not given.strip():
            ask = "Choose an option first." if question.is_choice else "Type an answer first."
            view.feedback.value = _note("hint", ask)
            return False
        self._sync_input(view, given)
        correct = check_answer(question, given)
        warning = ""
        try:
            self.store.record_attempt(
                self.lesson_id, question.id, question.checkpoint, given, correct,
                round_no=self.rounds[question.checkpoint],
            )
        except ProgressError as exc:
            log.warning("quiz attempt for %s/%s not saved: %s", self.lesson_id, question.id, exc)
            warning = _note("warning", f"Your answer could not be saved: {html.escape(str(exc))}")
        if not correct:
            view.wrong += 1
        view.feedback.value = self._feedback(view, given, correct) + warning
        return correct

    def _sync_input(self, view: _QuestionView, given: str) -> None:
        """Show an answer given through :meth:`answer` in the widget too."""
        options = getattr(view.input, "options", None)
        if options is None or given in options:
            view.input.value = given

    def _feedback(self, view: _QuestionView, given: str, correct: bool) -> str:
        question = view.question
        if correct:
            return _note("correct", f"<b>Correct.</b> {_markup(question.explanation)}")
        body = "<b>Not quite.</b>"
        chosen = question.option(given)
        if chosen is not None and chosen.explanation:
            body += f" {_markup(chosen.explanation)}"
        if view.wrong < REVEAL_AFTER:
            return _note("wrong", f"{body} Try again.")
        if "\n" in question.answer.strip():
            key = f"<pre>{html.escape(question.answer.strip(chr(10)))}</pre>"
        else:
            key = f"<code>{html.escape(question.answer.strip())}</code>"
        return _note("wrong", f"{body}<br>The answer is {key}. {_markup(question.explanation)}")

    def score(self) -> float:
        """Share of these questions answered right at the first attempt, best round each."""
        return self.store.quiz_score(self.lesson_id, {q.id: q.checkpoint for q in self.questions})

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def quiz(
    name: str,
    checkpoint: int | None = None,
    *,
    store: ProgressStore | None = None,
    root: str | Path | None = None,
) -> QuizWidget:
    """The quiz widget for ``name`` (a quiz file stem or lesson id, see :func:`find_quiz`).

    Args:
        name: quiz file stem or lesson id.
        checkpoint: render only this checkpoint's questions; unknown ones raise
            :class:`QuizError` listing the checkpoints that exist.
        store: progress store for attempts (default: the learner's, opened lazily).
        root: course checkout (default: :func:`grader.paths.course_root`).
    """
    return QuizWidget(load_quiz(find_quiz(name, root)), checkpoint, store=store)
