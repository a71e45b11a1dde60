"""The learner's loop in a real JupyterLab started by ``python -m grader lab``, in headless Chromium:
Run All reaches the last cell of fresh learner copies with every exercise unsolved (lesson 02 with
Spark switched off, lesson 03), a Hint button reveals hint 1 then hint 2 and the store records
both, and a new quiz round re-shuffles the options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from test_browser_quiz import UI_TIMEOUT, open_notebook, run_all_cells, wait_for

from grader.lesson import BEGIN_SOLUTION, find_lessons, load_lesson

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[2]


def _save(page: Any, panel: Any) -> None:
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)


def _outputs(path: Path) -> list[tuple[int, list[str], list[Any]]]:
    nb = nbformat.read(path, as_version=4)
    return [(i + 1, c.metadata.get("tags", []), c.outputs) for i, c in enumerate(nb.cells)
            if c.cell_type == "code"]


def _texts(outputs: list[Any]) -> str:
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs)


@pytest.fixture
def learner_lab(jupyter_lab: Any, tmp_path: Path) -> tuple[Any, Path]:
    home = tmp_path / "home"
    lab = jupyter_lab(None, {"ODIBI_COURSE_HOME": str(home), "ODIBI_SPARK": "0"},
                      grader_lab=REPO_ROOT)
    return lab, home


@pytest.mark.parametrize("name", ["03_orchestration.ipynb", "02_engines.ipynb"])
def test_grader_lab_run_all_reaches_the_end_with_exercises_unsolved(learner_lab, browser_page,
                                                                     name) -> None:
    lab, _home = learner_lab
    names = sorted(p.name for p in lab.root.glob("*.ipynb"))
    assert names == [p.name for p in find_lessons(REPO_ROOT)], "grader lab makes every learner copy"
    assert not any(BEGIN_SOLUTION in p.read_text(encoding="utf-8") for p in lab.root.glob("*.ipynb"))
    page = browser_page
    if True:
        lesson = load_lesson(REPO_ROOT / "lessons" / name)
        panel = open_notebook(page, lab, name)
        run_all_cells(page, panel)  # fails when any cell did not run (Run All stopped)
        _save(page, panel)
        cells = _outputs(lab.root / name)
        errors = [(n, o.ename) for n, _tags, outs in cells for o in outs if o.output_type == "error"]
        assert not errors, f"{name}: cells raised {errors}"
        for step in lesson.steps:
            if step.exercise:
                check = step.check_cells[0]
                text = _texts(cells[[n for n, *_ in cells].index(check + 1)][2])
                assert text.startswith("not yet: not solved yet:"), (name, step.number, text)
        if name == "02_engines.ipynb":
            spark = [outs for _n, tags, outs in cells if "engine-spark" in tags]
            assert spark and all("skipped: Spark is switched off" in _texts(outs) for outs in spark)


def test_hint_button_reveals_hints_one_at_a_time_and_records_them(learner_lab, browser_page) -> None:
    from playwright.sync_api import expect

    from grader.progress import ProgressStore

    lab, home = learner_lab
    lesson = load_lesson(REPO_ROOT / "lessons" / "03_orchestration.ipynb")
    step = next(s.number for s in lesson.steps if s.exercise)
    hints = lesson.spec.hints[step]
    page = browser_page
    panel = open_notebook(page, lab, "03_orchestration.ipynb")
    run_all_cells(page, panel)
    box = panel.locator(".odibi-hints").first
    expect(box).to_be_visible(timeout=UI_TIMEOUT)
    expect(box).not_to_contain_text(hints[0])
    button = box.locator(".odibi-hint-button")
    button.click()
    expect(box.locator(".odibi-hint-text")).to_contain_text(hints[0], timeout=UI_TIMEOUT)
    expect(box).not_to_contain_text(hints[1])
    button.click()
    expect(box.locator(".odibi-hint-text")).to_contain_text(hints[1], timeout=UI_TIMEOUT)

    def used() -> dict[int, int]:
        if not (home / "progress.db").exists():
            return {}
        with ProgressStore(home / "progress.db") as store:
            return store.hints_used(lesson.spec.id)

    assert wait_for(lambda: used().get(step) == 2 and used(), "2 recorded hints") == {step: 2}


def test_a_new_quiz_round_reshuffles_the_options(learner_lab, browser_page) -> None:
    from playwright.sync_api import expect

    from grader.progress import ProgressStore

    lab, home = learner_lab
    page = browser_page
    panel = open_notebook(page, lab, "00_start_here.ipynb")
    run_all_cells(page, panel)
    quiz = panel.locator(".odibi-quiz").filter(has=page.locator(".odibi-quiz-retake")).last
    options = quiz.locator(".odibi-quiz-options").first
    before = [t.strip() for t in options.locator("label").all_text_contents() if t.strip()]
    quiz.locator(".odibi-quiz-retake").click()
    expect(quiz.locator(".odibi-quiz-round")).to_contain_text("Round 2", timeout=UI_TIMEOUT)
    after = [t.strip() for t in quiz.locator(".odibi-quiz-options").first.locator("label").all_text_contents()
             if t.strip()]
    assert len(before) >= 2 and sorted(after) == sorted(before) and after != before, (before, after)
    lesson_id = load_lesson(REPO_ROOT / "lessons" / "00_start_here.ipynb").spec.id

    def round_no() -> int:
        with ProgressStore(home / "progress.db") as store:
            return store.current_round(lesson_id, 1)

    assert wait_for(lambda: (home / "progress.db").exists() and round_no() == 2, "round 2 stored")
    assert json.loads((lab.root / "00_start_here.ipynb").read_text())["metadata"]["odibi_learner_copy"]
