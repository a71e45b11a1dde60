"""Lesson specs: strict metadata schema, steps from tags, and the lint."""

from __future__ import annotations

import pytest
from coursekit import Course, code, md, notebook, spec

from grader.errors import LessonSpecError
from grader.lesson import lint_lesson, load_lesson, parse_spec, plan_steps


def test_valid_spec_loads() -> None:
    parsed = parse_spec(spec("demo", glossary={"DAG": "graph"}), "x.ipynb")
    assert parsed.id == "demo" and parsed.assessment.pass_score == 0.75
    assert parsed.glossary == {"DAG": "graph"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ...}, "field 'title': missing (expected a string)"),
        ({"title": 3}, "field 'title': expected a string, got int 3"),
        ({"runnable_steps": True}, "field 'runnable_steps': expected an integer, got bool"),
        ({"colour": "blue"}, "field 'colour': unknown field"),
        ({"engines": ["pandas", "polars"]}, "field 'engines'"),
        ({"id": "Bad Id"}, "field 'id'"),
        ({"assessment": {"types": ["mcq"], "checkpoints": 1, "questions": 1, "pass_score": 1.5}},
         "assessment.pass_score"),
        ({"assessment": {"types": ["essay"], "checkpoints": 1, "questions": 1, "pass_score": 0.5}},
         "unknown ['essay']"),
        ({"assessment": {"types": ["mcq"], "checkpoints": 1, "pass_score": 0.5}},
         "field 'assessment.questions': missing"),
    ],
)
def test_invalid_spec_names_notebook_and_field(change, message) -> None:
    data = spec("demo")
    data.update(change)
    data = {key: value for key, value in data.items() if value is not ...}  # ... deletes the field
    with pytest.raises(LessonSpecError) as info:
        parse_spec(data, "lessons/07_x.ipynb")
    assert "lessons/07_x.ipynb" in str(info.value)
    assert message in str(info.value)


def test_missing_spec() -> None:
    with pytest.raises(LessonSpecError, match="no 'odibi' mapping"):
        parse_spec(None, "a.ipynb")


def test_steps_group_cells_by_tag_and_role() -> None:
    nb = notebook([
        md("intro"),
        md("## Step 1: load", "step-1"),
        code("x = 1", "step-1"),
        code("assert x", "step-1", "check"),
        code("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION", "step-2", "exercise"),
        code("assert f() == 1", "step-2", "check"),
        code("import pyspark", "step-3", "engine-spark"),
    ], spec("demo"))
    steps = plan_steps(nb, "demo.ipynb")
    assert [s.number for s in steps] == [1, 2, 3]
    assert steps[0].title == "Step 1: load" and steps[0].cells == (1, 2, 3)
    assert steps[0].check_cells == (3,) and steps[0].runnable and not steps[0].exercise
    assert steps[1].exercise_cells == (4,) and steps[1].exercise
    assert steps[2].needs_spark and not steps[2].runnable


def test_cell_in_two_steps_is_an_error() -> None:
    nb = notebook([code("x = 1", "step-1", "step-2")], spec("demo"))
    with pytest.raises(LessonSpecError) as info:
        plan_steps(nb, "demo.ipynb")
    assert info.value.cell_index == 0 and info.value.field == "tags"
    assert "demo.ipynb, cell 1" in str(info.value)  # 1-based, as JupyterLab counts


def test_malformed_notebook_json(course: Course) -> None:
    path = course.root / "lessons" / "01_broken.ipynb"
    path.write_text("{ not json")
    with pytest.raises(LessonSpecError, match=r"01_broken\.ipynb.*not a valid notebook"):
        load_lesson(path)


def test_clean_lesson_lints_clean(course: Course) -> None:
    path = course.lesson("01_ok", [code("assert 1", "step-1", "check"),
                                   code("quiz('ok', checkpoint=1)")], spec("ok"))
    assert lint_lesson(load_lesson(path), root=course.root, known_ids=["ok"]) == []


def test_lint_reports_every_inconsistency(course: Course) -> None:
    cells = [
        code("a = 1", "step-1"),
        code("assert a", "step-1", "check"),
        code("b = 1", "step-3"),
        code("assert b", "step-3", "check", "chek"),
        code("c = 1", "step-1"),  # step 1 again, after step 3
        code("assert True", "check"),  # a check outside any step
        code("def g():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION", "step-3"),  # not tagged exercise
        code("quiz('lint', checkpoint=2)"),
    ]
    lesson_spec = spec("lint", prerequisites=["phase_0"], runnable_steps=5, total_steps=4,
                       assessment={"types": ["mcq", "code-trace"], "checkpoints": 2, "questions": 3,
                                   "pass_score": 0.75})
    path = course.lesson("01_lint", cells, lesson_spec)
    problems = "\n".join(lint_lesson(load_lesson(path), root=course.root, known_ids=["lint"]))
    expected = [
        "unknown tag 'chek'",
        "step-1 is repeated",
        "step numbers must run 1..2 without gaps; missing [2]",
        "runnable_steps is 5 but the notebook has 2",
        "total_steps is 4 but the notebook has 2",
        "must be inside a step",
        "must be tagged 'exercise'",
        "prerequisite 'phase_0' names no lesson",
        "assessment.questions is 3 but quizzes/lint.yaml has 1",
        "assessment.checkpoints is 2 but quizzes/lint.yaml declares 1",
        "assessment.types is ['code-trace', 'mcq']",
        "quiz checkpoint 1 is never rendered",
        "renders quiz checkpoint 2, which quizzes/lint.yaml does not declare",
    ]
    for text in expected:
        assert text in problems, f"missing lint finding {text!r} in:\n{problems}"


def test_lint_missing_quiz_file(course: Course) -> None:
    path = course.lesson("01_q", [code("assert 1", "step-1", "check")], spec("q"))
    (course.root / "quizzes" / "q.yaml").unlink()
    problems = lint_lesson(load_lesson(path), root=course.root)
    assert any("quiz file quizzes/q.yaml does not exist" in p for p in problems)
