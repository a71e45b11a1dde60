"""The course map and lesson overviews come from the specs, so they cannot drift from the lessons."""

from __future__ import annotations

from coursekit import Course, code, spec

from grader.overview import course_map, lesson_overview


def test_course_map_has_a_row_per_lesson_with_prerequisites_by_name(course: Course) -> None:
    course.lesson("01_first", [code("x = 1")], spec("first", runnable_steps=0, total_steps=0))
    course.lesson("02_second", [code("x = 1")], spec(
        "second", runnable_steps=0, total_steps=0, prerequisites=["first"], level="Advanced",
        estimated_time="2 hours", learning_objectives=["one | two", "three", "four"]))
    rows = course_map(course.root).splitlines()
    assert rows[0] == "| lesson | title | level | time | needs | you will learn to |"
    assert rows[2].startswith("| `01_first` | Lesson first | Beginner | 1 minute | - |")
    assert rows[3] == "| `02_second` | Lesson second | Advanced | 2 hours | 01_first | one \\| two; three |"
    assert course_map(course.root)._repr_markdown_() == str(course_map(course.root))


def test_lesson_overview_opens_with_objectives_and_recaps_with_the_glossary(course: Course) -> None:
    course.lesson("01_first", [code("x = 1")], spec(
        "first", runnable_steps=0, total_steps=0, glossary={"DAG": "a graph without cycles"}))
    opening = lesson_overview("01_first", root=course.root)
    assert opening.startswith("**Beginner · about 1 minute.** In this lesson you will learn to:")
    assert "- test the grader" in opening and "Glossary" not in opening
    recap = lesson_overview("first", recap=True, root=course.root)
    assert recap.startswith("You can now:") and "| **DAG** | a graph without cycles |" in recap
