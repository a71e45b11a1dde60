"""Hostile learner code cannot raise the score: IPython transformers, run hooks and patched run
methods are reset before each check and make the lesson ``tampered``; a hidden canary check
that must fail catches what the reset does not; the canonical files are out of the kernel's
reach and hashed before and after."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import nbformat
import pytest
from coursekit import Course, code, md, spec

from grader.grade import (
    GradeOptions,
    _make_writable,
    _read_only_course,
    _remove_run_dir,
    grade_notebook,
)
from grader.learner import make_learner_copy
from grader.lesson import load_lesson, parse_spec
from grader.policy import judge
from grader.progress import ProgressStore
from grader.report import render_table, write_reports
from grader.results import LessonResult, LessonStatus, StepResult, StepState

pytestmark = pytest.mark.slow

DOUBLE = "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"
TRIPLE = "def triple(x):\n    # BEGIN SOLUTION\n    return 3 * x\n    # END SOLUTION"

CHEATS = {
    "ast-transformer-drops-assert": (
        "import ast\n"
        "class DropAsserts(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n"
        "        return None\n"
        "get_ipython().ast_transformers.append(DropAsserts())\n"),
    "input-transformer-blanks-cells": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"),
    "patched-run-cell": (
        "ip = get_ipython()\n"
        "_real_run_cell = ip.run_cell\n"
        "def run_cell(raw_cell, *args, **kwargs):\n"
        "    return _real_run_cell('pass', *args, **kwargs)\n"
        "ip.run_cell = run_cell\n"),
    "replaced-check-magic": (
        "get_ipython().register_magic_function(lambda line, cell: None, 'cell', 'check')\n"),
    "grading-switched-off": "import os\nos.environ['ODIBI_GRADING'] = '0'\n",
}
UNSOLVED = "def double(x):\n    return 0\n"


def _lesson(course: Course, magics: bool) -> Path:
    check = "%%check\n" if magics else ""
    cells = [
        code("%load_ext grader" if magics else "pass"),
        md("## Step 1: double", "step-1"),
        code(DOUBLE, "step-1", "exercise"),
        code(check + "assert double(2) == 4, f'expected 4, got {double(2)}'", "step-1", "check"),
        md("## Step 2: triple", "step-2"),
        code(TRIPLE, "step-2", "exercise"),
        code(check + "assert triple(2) == 6, f'expected 6, got {triple(2)}'", "step-2", "check"),
        code("quiz('cheat', checkpoint=1) if False else None"),
    ]
    hints = {"1": ["twice", "x + x"], "2": ["three times", "x * 3"]}
    return course.lesson("01_cheat", cells, spec("cheat", runnable_steps=2, total_steps=2,
                                                   quiz="quizzes/cheat.yaml", hints=hints))


def _copy(path: Path, workspace: Path, first_exercise: str, second_exercise: str | None = None) -> Path:
    target = make_learner_copy(load_lesson(path), workspace)
    nb = nbformat.read(target, as_version=4)
    next(c for c in nb.cells if "def double" in c.source).source = first_exercise
    if second_exercise is not None:
        next(c for c in nb.cells if "def triple" in c.source).source = second_exercise
    nbformat.write(nb, target)
    return target


def _grade(copy: Path, course: Course, store: Path) -> LessonResult:
    return grade_notebook(copy, course.root, GradeOptions(timeout=30, record=False,
                                                          store_path=str(store)))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A progress store where the learner answered the quiz right: only the steps decide."""
    path = tmp_path / "progress.db"
    with ProgressStore(path) as s:
        s.record_attempt("cheat", "q1", 1, "b", True)
    return path


@pytest.mark.parametrize(("cheat", "magics"), [
    (cheat, magics) for cheat in sorted(CHEATS) for magics in (True, False)
    if magics or cheat != "replaced-check-magic"  # only %%check lessons have the magic to replace
])
def test_a_cheating_unsolved_copy_is_tampered_never_passed(course: Course, tmp_path: Path, store: Path,
                                                           cheat: str, magics: bool) -> None:
    lesson = _lesson(course, magics)
    honest = _grade(_copy(lesson, tmp_path / "honest", UNSOLVED), course, store)
    assert honest.status is LessonStatus.FAILED and honest.passed_steps == 0

    result = _grade(_copy(lesson, tmp_path / "cheat", CHEATS[cheat] + UNSOLVED), course, store)
    assert result.status is LessonStatus.TAMPERED, (result.status, result.steps, result.tampered)
    assert result.tampered and result.reasons[0].startswith("tampered: ")
    assert result.passed_steps <= honest.passed_steps, "the checks were restored, so they still fail"
    assert result.verdict.startswith("tampered: ")


def test_a_solved_copy_and_the_canonical_lesson_are_not_tampered(course: Course, tmp_path: Path,
                                                                 store: Path) -> None:
    lesson = _lesson(course, magics=True)
    solved = _grade(_copy(lesson, tmp_path / "ws", "def double(x):\n    return x + x\n",
                          "def triple(x):\n    return x * 3\n"), course, store)
    assert solved.tampered == [] and solved.status is LessonStatus.PASSED, solved.reasons
    canonical = grade_notebook(lesson, course.root, GradeOptions(timeout=30, strict=True))
    assert canonical.tampered == [] and canonical.status is LessonStatus.PASSED, canonical.lint


def test_the_canary_catches_a_copy_that_switches_the_guard_off(course: Course, tmp_path: Path,
                                                               store: Path) -> None:
    guard_off = ("import grader.integrity as gi\n"
                 "gi.restore = lambda: []\n"
                 "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n")
    lesson = _lesson(course, magics=True)
    result = _grade(_copy(lesson, tmp_path / "ws", guard_off + UNSOLVED), course, store)
    assert result.status is LessonStatus.TAMPERED, (result.steps, result.tampered)
    assert any("canary" in line for line in result.tampered), result.tampered


def test_the_kernel_gets_a_read_only_copy_of_the_course(course: Course) -> None:
    real = course.root.resolve()
    (course.root / "lessons" / "data").mkdir()
    (course.root / "lessons" / "data" / "orders.csv").write_text("id\n1\n")
    probe = (
        "import os, stat\nfrom pathlib import Path\nfrom grader import course_root\n"
        "ROOT = course_root()\n"
        f"assert ROOT != Path({str(real)!r}), ROOT\n"
        "assert (ROOT / 'lessons' / 'data' / 'orders.csv').read_text() == 'id\\n1\\n'\n"
        "assert (ROOT / 'quizzes' / 'ro.yaml').is_file()\n"
        "for path in [ROOT / 'lessons', *(ROOT / 'lessons').rglob('*'), *(ROOT / 'quizzes').rglob('*')]:\n"
        "    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, f'{path} is writable'\n"
    )
    path = course.lesson("01_ro", [code(probe, "step-1", "check")], spec("ro"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30))
    assert result.steps[0].state is StepState.PASSED, result.steps[0].error
    assert result.tampered == []


def test_a_kernel_that_rewrites_a_canonical_file_is_tampered_naming_it(course: Course) -> None:
    other = course.lesson("02_other", [code("assert True", "step-1", "check")], spec("other"))
    write = (f"from pathlib import Path\n"
             f"Path({str(other.resolve())!r}).write_text('{{}}')\n"  # the real checkout, by its path
             f"assert True")
    path = course.lesson("01_writer", [code(write, "step-1", "check")], spec("writer"))
    result = grade_notebook(path, course.root, GradeOptions(timeout=30))
    assert result.status is LessonStatus.TAMPERED
    assert any("lessons/02_other.ipynb" in line and "changed" in line for line in result.errors)
    assert any("lessons/02_other.ipynb" in line for line in result.tampered)


def test_the_run_copy_is_removed_even_though_it_is_read_only(course: Course, tmp_path: Path) -> None:
    course.lesson("01_x", [code("assert True", "step-1", "check")], spec("x"))
    run = tmp_path / "run"
    run.mkdir()
    copy = _read_only_course(course.root, run / "course")
    assert (copy / "lessons" / "01_x.ipynb").is_file()
    assert stat.S_IMODE((copy / "lessons").stat().st_mode) == 0o555
    _make_writable(run)  # what --keep-workdirs leaves: deletable by a user who is not root
    assert stat.S_IMODE((copy / "lessons").stat().st_mode) == 0o755
    _remove_run_dir(run)
    assert not run.exists()


def test_policy_and_reports_never_pass_a_tampered_lesson(tmp_path: Path) -> None:
    course_spec = parse_spec(spec("cheat"), "01_cheat.ipynb")
    result = LessonResult(lesson_id="cheat", notebook="c.ipynb", pass_score=0.5, learner_copy=True,
                          quiz_score=1.0, tampered=["AST transformers changed"],
                          steps=[StepResult(1, "s", True, True, StepState.PASSED)])
    status, reasons = judge(result, course_spec, lesson_name="01_cheat")
    assert status is LessonStatus.TAMPERED and reasons == ["tampered: AST transformers changed"]
    result.status, result.reasons = status, reasons
    written = write_reports([result], tmp_path / "out")
    report = json.loads(written["json"].read_text())
    assert report["summary"]["tampered"] == 1 and report["lessons"][0]["tampered"]
    assert 'type="Tampered"' in written["junit"].read_text()
    assert 'class="badge tampered"' in written["html"].read_text()
    assert "\x1b[1;31mtampered" in render_table([result], color=True)

