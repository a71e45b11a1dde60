"""Quiz widgets answered in a real JupyterLab, driven by headless Chromium.

The mechanics test documents the DOM contract the quiz widgets follow, with a
stand-in widget built in the test notebook:

- ``.odibi-quiz``: the whole quiz (a VBox);
- ``.odibi-quiz-question.odibi-q-<id>``: one question (a VBox);
- ``.odibi-quiz-options``: its RadioButtons (no option selected at first);
- ``.odibi-quiz-check``: the "Check answer" button;
- ``.odibi-quiz-feedback``: an HTML widget, "Not quite ..." or "Correct! <explanation>".

The lesson test answers the first question of lesson 00's first checkpoint with
the real widget and checks both attempts reached the progress store.
"""

from __future__ import annotations

import re
import sqlite3
import textwrap
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

REPO_ROOT = Path(__file__).resolve().parents[2]
KERNEL_TIMEOUT = 60_000  # ms: kernel start, and running every cell of a lesson
UI_TIMEOUT = 20_000  # ms: a widget reacting to a click

MECHANICS_QUESTION = {
    "id": "fan_out",
    "prompt": "Which executor runs independent DAG nodes at the same time?",
    "options": ["Sequential", "Threaded", "Neither"],
    "answer": "Threaded",
    "wrong": "Sequential",
    "explanation": "Ready nodes are handed to a thread pool together.",
}


# -- driving JupyterLab ------------------------------------------------------------------


def open_notebook(page: Any, lab: Any, relpath: str) -> Any:
    """Open a notebook, accept a kernel-selection dialog if one appears, wait for an idle kernel.

    Returns the notebook panel's locator.
    """
    page.goto(lab.tree_url(relpath))
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    panel.first.wait_for(state="visible", timeout=KERNEL_TIMEOUT)
    wait_kernel_idle(page, panel.first)
    return panel.first


def wait_kernel_idle(page: Any, panel: Any) -> None:
    """Wait until the kernel is connected and idle, answering dialogs on the way.

    The status bar is the signal: the toolbar's execution indicator already says
    "idle" before any kernel is connected, so it cannot tell a ready kernel apart.
    """
    # "<kernel name> | Idle"; "No Kernel | ..." or "| Initializing" mean not ready.
    idle = page.locator(".jp-StatusBar-TextItem").filter(
        has_text=re.compile(r"^(?!No Kernel\b).+ \| Idle$")
    )
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + KERNEL_TIMEOUT / 1000
    while time.monotonic() < deadline:
        idle.or_(dialog).first.wait_for(state="visible", timeout=KERNEL_TIMEOUT)
        if dialog.count() and dialog.first.is_visible():
            # "Select Kernel" (or any other dialog): take the default choice.
            dialog.first.locator(".jp-mod-accept").click()
            dialog.first.wait_for(state="detached", timeout=UI_TIMEOUT)
            continue
        panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
            timeout=KERNEL_TIMEOUT
        )
        return
    raise AssertionError("the kernel did not become idle in time")


def run_all_cells(page: Any, panel: Any) -> None:
    """Run > Run All Cells, the way a learner does, and wait until every code cell has run.

    Fails with the notebook's error output when a cell raised (Run All then stops).
    """
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})  # make it the current widget
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("#jp-mainmenu-run").get_by_role(
        "menuitem", name="Run All Cells", exact=True
    ).click()
    # Prompts read "[ ]:" (not run), "[*]:" (queued or running) or "[7]:" (done).
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    started = False
    texts: list[str] = []
    deadline = time.monotonic() + KERNEL_TIMEOUT / 1000
    while time.monotonic() < deadline:
        texts = [text.strip().rstrip(":") for text in prompts.all_text_contents()]
        started = started or any(text != "[ ]" for text in texts)
        if started and "[*]" not in texts:
            break
        time.sleep(0.1)
    not_run = [n for n, text in enumerate(texts, start=1) if not text[1:-1].isdigit()]
    assert not not_run, (
        f"code cells {not_run} of {len(texts)} did not run (prompts {texts});"
        f" notebook errors:\n{cell_errors(panel)}"
    )
    wait_kernel_idle(page, panel)


def cell_errors(panel: Any) -> str:
    """The stderr and traceback outputs shown in the notebook, for failure messages."""
    outputs = panel.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).all_text_contents()
    return "\n".join(outputs)[-3000:] or "(none)"


def answer(question: Any, option: str) -> str:
    """Pick ``option`` in a quiz question, press "Check answer", return the new feedback text."""
    from playwright.sync_api import expect

    feedback = question.locator(".odibi-quiz-feedback")
    before = feedback.inner_text()
    question.locator(".odibi-quiz-options").get_by_role("radio", name=option, exact=True).check()
    question.locator(".odibi-quiz-check").click()
    expect(feedback).not_to_have_text(before, timeout=UI_TIMEOUT)
    expect(feedback).not_to_be_empty(timeout=UI_TIMEOUT)
    return feedback.inner_text()


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> Any:
    """Poll ``condition()`` until it returns something truthy (kernel writes are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"timed out waiting for {what}"
            return value
        time.sleep(0.1)


# -- the mechanics test: a stand-in widget with the same DOM contract --------------------


MECHANICS_CELL = textwrap.dedent("""
    import os
    import sqlite3
    from pathlib import Path

    import ipywidgets as widgets
    from IPython.display import display

    QUESTION = {question!r}
    DB = Path(os.environ["ODIBI_COURSE_HOME"]) / "mechanics.sqlite"


    def record(answer, correct):
        conn = sqlite3.connect(DB)
        try:
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS attempts (answer TEXT, correct INTEGER)")
                conn.execute("INSERT INTO attempts VALUES (?, ?)", (answer, int(correct)))
        finally:
            conn.close()


    def question_box(q):
        options = widgets.RadioButtons(options=q["options"], value=None)
        options.add_class("odibi-quiz-options")
        check = widgets.Button(description="Check answer")
        check.add_class("odibi-quiz-check")
        feedback = widgets.HTML("")
        feedback.add_class("odibi-quiz-feedback")

        def on_check(_button):
            if options.value is None:
                feedback.value = "Pick an answer first."
                return
            correct = options.value == q["answer"]
            record(options.value, correct)
            feedback.value = ("Correct! " + q["explanation"]) if correct else "Not quite, try again."

        check.on_click(on_check)
        box = widgets.VBox([widgets.HTML(q["prompt"]), options, check, feedback])
        box.add_class("odibi-quiz-question")
        box.add_class("odibi-q-" + q["id"])
        return box


    quiz_box = widgets.VBox([question_box(QUESTION)])
    quiz_box.add_class("odibi-quiz")
    display(quiz_box)
""")


def mechanics_notebook(folder: Path) -> Path:
    """Write the stand-in quiz notebook into ``folder``."""
    question = {
        key: MECHANICS_QUESTION[key] for key in ("id", "prompt", "options", "answer", "explanation")
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Quiz widget mechanics"),
        nbformat.v4.new_code_cell(MECHANICS_CELL.format(question=question).strip()),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mechanics.ipynb"
    nbformat.write(nb, path)
    return path


def test_quiz_widget_mechanics_in_jupyterlab(
    jupyter_lab: Any, browser_page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    home = tmp_path / "home"
    home.mkdir()
    notebook = mechanics_notebook(tmp_path / "notebooks")
    lab = jupyter_lab(
        notebook.parent, {"ODIBI_COURSE_ROOT": str(REPO_ROOT), "ODIBI_COURSE_HOME": str(home)}
    )
    page = browser_page

    panel = open_notebook(page, lab, f"notebooks/{notebook.name}")
    run_all_cells(page, panel)

    quiz = panel.locator(".odibi-quiz")
    expect(quiz).to_be_visible(timeout=UI_TIMEOUT)
    question = quiz.locator(f".odibi-quiz-question.odibi-q-{MECHANICS_QUESTION['id']}")
    expect(question).to_have_count(1)
    expect(question.locator(".odibi-quiz-options input[type=radio]:checked")).to_have_count(0)
    expect(question).not_to_contain_text(MECHANICS_QUESTION["explanation"])

    assert answer(question, MECHANICS_QUESTION["wrong"]).startswith("Not quite")
    feedback = answer(question, MECHANICS_QUESTION["answer"])
    assert feedback.startswith("Correct!"), feedback
    assert MECHANICS_QUESTION["explanation"] in feedback

    def attempts() -> list[tuple[str, int]]:
        db = home / "mechanics.sqlite"
        if not db.exists():
            return []
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT answer, correct FROM attempts ORDER BY rowid").fetchall()
        finally:
            conn.close()

    rows = wait_for(lambda: len(attempts()) >= 2 and attempts(), "2 recorded attempts")
    assert rows == [(MECHANICS_QUESTION["wrong"], 0), (MECHANICS_QUESTION["answer"], 1)]
    assert not (notebook.parent / ".ipynb_checkpoints").exists(), "JupyterLab wrote into the source"


# -- the acceptance test: lesson 00's real quiz ------------------------------------------


def _plain(text: str) -> str:
    """Quiz prose as the page shows it: `code` marks become <code> elements, spaces collapse."""
    return " ".join(text.replace("`", "").split())


def _first_question(quiz_file: Path, checkpoint: int) -> dict[str, Any]:
    """The first question of ``checkpoint`` in a quiz file, with a wrong option picked."""
    data = yaml.safe_load(quiz_file.read_text(encoding="utf-8"))
    question = next(q for q in data["questions"] if q["checkpoint"] == checkpoint)
    options = [o if isinstance(o, dict) else {"text": o} for o in question["options"]]
    wrong = next(o for o in options if str(o["text"]) != str(question["answer"]))
    return {
        "lesson": data["lesson"],
        "id": question["id"],
        "answer": str(question["answer"]),
        "explanation": question["explanation"],
        "wrong": str(wrong["text"]),
        "wrong_explanation": wrong.get("explanation"),
    }


def test_lesson00_quiz_in_jupyterlab(jupyter_lab: Any, browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from grader.progress import ProgressStore

    key = _first_question(REPO_ROOT / "quizzes" / "00_start_here.yaml", checkpoint=1)
    home = tmp_path / "home"
    lab = jupyter_lab(
        REPO_ROOT / "lessons", {"ODIBI_COURSE_ROOT": str(REPO_ROOT), "ODIBI_COURSE_HOME": str(home)}
    )
    page = browser_page

    panel = open_notebook(page, lab, "lessons/00_start_here.ipynb")
    run_all_cells(page, panel)

    # The lesson also renders a demo quiz; ours is the one holding this question.
    quiz = panel.locator(".odibi-quiz").filter(has=page.locator(f".odibi-q-{key['id']}"))
    expect(quiz).to_have_count(1, timeout=UI_TIMEOUT)
    question = quiz.locator(".odibi-quiz-question").first
    expect(question).to_have_class(re.compile(rf"(^|\s)odibi-q-{re.escape(key['id'])}(\s|$)"))
    expect(question.locator(".odibi-quiz-options input[type=radio]:checked")).to_have_count(0)
    expect(question).not_to_contain_text(_plain(key["explanation"]))

    wrong = _plain(answer(question, key["wrong"]))
    assert wrong.startswith("Not quite"), wrong
    if key["wrong_explanation"]:
        assert _plain(key["wrong_explanation"]) in wrong, wrong
    right = _plain(answer(question, key["answer"]))
    assert right.startswith("Correct"), right
    assert _plain(key["explanation"]) in right, right

    def recorded() -> list[Any]:
        if not (home / "progress.db").exists():
            return []
        with ProgressStore(home / "progress.db") as store:
            return store.attempts(key["lesson"])

    attempts = wait_for(lambda: len(recorded()) >= 2 and recorded(), "2 stored attempts")
    assert [(a.question_id, a.attempt_no, a.answer, a.correct) for a in attempts] == [
        (key["id"], 1, key["wrong"], False),
        (key["id"], 2, key["answer"], True),
    ]
    assert not (REPO_ROOT / "lessons" / ".ipynb_checkpoints").exists(), (
        "JupyterLab wrote into the repository's lessons/"
    )
