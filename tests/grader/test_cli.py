"""The command line: subcommands, exit codes, reports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from coursekit import Course, code, spec

from grader import cli


@pytest.fixture
def two_lessons(course: Course) -> Course:
    course.lesson("01_pass", [code("assert 1 + 1 == 2", "step-1", "check"),
                              code("quiz('pass', checkpoint=1)")], spec("pass"))
    course.lesson("02_fail", [code("assert 1 + 1 == 3, 'expected 3, got 2 <b>&</b>'", "step-1", "check"),
                              code("quiz('fail', checkpoint=1)")], spec("fail", order=2))
    return course


@pytest.mark.slow
def test_grade_writes_reports_and_exits_nonzero_on_failure(two_lessons: Course, tmp_path) -> None:
    out = tmp_path / "reports"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "--root", str(two_lessons.root), "--jobs", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pass" in proc.stdout and "fail" in proc.stdout and "AssertionError" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert {r["lesson_id"]: r["status"] for r in report["lessons"]} == {"pass": "passed", "fail": "failed"}
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("name") for s in suites) == ["fail", "pass"]
    html = (out / "report.html").read_text()
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html


@pytest.mark.slow
def test_grade_one_passing_lesson_exits_zero(two_lessons: Course, tmp_path) -> None:
    code_ = cli.main(["--root", str(two_lessons.root), "grade", str(two_lessons.root / "lessons" / "01_pass.ipynb"),
                      "--out", str(tmp_path / "r"), "--no-progress"])
    assert code_ == 0


def test_lint_subcommand(two_lessons: Course, capsys) -> None:
    assert cli.main(["--root", str(two_lessons.root), "lint"]) == 0
    assert "2 lessons checked, 0 problems" in capsys.readouterr().out
    quiz = two_lessons.root / "quizzes" / "fail.yaml"
    quiz.write_text(quiz.read_text().replace('answer: "b"', 'answer: "z"'))
    assert cli.main(["--root", str(two_lessons.root), "lint"]) == 1
    out = capsys.readouterr().out
    assert "fail.yaml" in out and "'z'" in out


def test_copy_subcommand(two_lessons: Course, tmp_path, capsys) -> None:
    ws = tmp_path / "ws"
    args = ["--root", str(two_lessons.root), "copy", "pass", "--workspace", str(ws)]
    assert cli.main(args) == 0
    assert (ws / "01_pass.ipynb").is_file()
    assert cli.main(args) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["--root", str(two_lessons.root), "copy", "nope"]) == 2
    assert "no lesson named 'nope'" in capsys.readouterr().err


def test_usage_errors(two_lessons: Course, tmp_path, capsys, monkeypatch) -> None:
    root = ["--root", str(two_lessons.root)]
    assert cli.main([*root, "grade", str(tmp_path / "missing.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    monkeypatch.setattr(cli, "spark_available", lambda: "pyspark is not installed")
    assert cli.main([*root, "grade", "--spark"]) == 2
    assert "--spark given but pyspark is not installed" in capsys.readouterr().err


def test_progress_subcommand(tmp_path, capsys) -> None:
    from grader.progress import ProgressStore

    store = tmp_path / "p.db"
    assert cli.main(["progress", "--store", str(store)]) == 0
    assert "no progress yet" in capsys.readouterr().out
    with ProgressStore(store) as s:
        s.record_attempt("pass", "q1", 1, "b", True)
    assert cli.main(["progress", "--store", str(store)]) == 0
    assert "pass" in capsys.readouterr().out


def test_lint_one_lesson_knows_the_courses_other_lessons(two_lessons: Course, capsys) -> None:
    import nbformat

    path = two_lessons.root / "lessons" / "02_fail.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.metadata["odibi"]["prerequisites"] = ["pass"]
    nbformat.write(nb, path)
    assert cli.main(["--root", str(two_lessons.root), "lint", str(path)]) == 0, capsys.readouterr().out
    nb.metadata["odibi"]["prerequisites"] = ["nope"]
    nbformat.write(nb, path)
    assert cli.main(["--root", str(two_lessons.root), "lint", str(path)]) == 1
    assert "prerequisite 'nope' names no lesson" in capsys.readouterr().out
