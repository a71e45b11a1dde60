"""Command line: ``python -m grader`` / ``odibi-grader``.

Subcommands: ``grade`` (the default), ``lint``, ``copy`` and ``progress``.
Exit codes: 0 when everything passed, 1 when a lesson failed or could not be
graded, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import GraderError
from .grade import GradeOptions, grade_many, spark_available
from .learner import make_learner_copy
from .lesson import find_lesson, find_lessons, lint_lesson, load_lesson
from .paths import course_home, course_root
from .results import LessonResult, LessonStatus

__all__ = ["main"]

SUBCOMMANDS = ("grade", "lint", "copy", "progress")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader",
        description="Grade odibi course lessons, lint them, make learner copies, show progress.",
    )
    parser.add_argument("--root", type=Path, help="course checkout (default: found from the current folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the grader does")
    sub = parser.add_subparsers(dest="command")

    grade = sub.add_parser("grade", help="execute lessons and score their steps (default)")
    grade.add_argument("paths", nargs="*", type=Path,
                       help="notebooks or folders (default: every lesson of the course)")
    grade.add_argument("--jobs", "-j", type=int, default=1, help="lessons graded in parallel")
    grade.add_argument("--timeout", type=float, default=120.0, help="seconds per cell (default 120)")
    grade.add_argument("--strict", action="store_true",
                       help="instructor mode: every step passes, metadata matches, quiz keys verified,"
                            " exercise checks fail on the stripped copy")
    grade.add_argument("--spark", action="store_true", help="run engine-spark steps (needs Java 17)")
    grade.add_argument("--out", type=Path, default=Path("grader-report"),
                       help="folder for report.json, junit.xml and report.html (default ./grader-report)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--no-record", action="store_true", help="do not store learner results")
    grade.add_argument("--keep-workdirs", action="store_true", help="keep each lesson's temp folder")
    grade.add_argument("--store", type=Path, help="progress database (default: in the course home)")

    lint = sub.add_parser("lint", help="check lesson specs and quiz keys without running lessons")
    lint.add_argument("paths", nargs="*", type=Path)
    lint.add_argument("--timeout", type=float, default=10.0, help="seconds per quiz key check")

    make = sub.add_parser("copy", help="make a learner copy of a lesson (solutions stripped)")
    make.add_argument("lesson", help="lesson id, file name or path (e.g. 00_start_here)")
    make.add_argument("--workspace", type=Path, help="where to put it (default: <course home>/workspace)")
    make.add_argument("--force", action="store_true", help="replace an existing copy (loses your work)")

    progress = sub.add_parser("progress", help="show your quiz and grading progress")
    progress.add_argument("--store", type=Path, help="progress database (default: in the course home)")
    return parser


def _notebooks(paths: Sequence[Path], root: Path) -> list[Path]:
    if not paths:
        return find_lessons(root)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.ipynb") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise GraderError(f"{path}: no such notebook or folder")
    return found


def _cmd_grade(args: argparse.Namespace, root: Path) -> int:
    from tqdm import tqdm

    from .report import render_table, summary_line, write_reports

    if args.spark and (missing := spark_available()):
        print(f"error: --spark given but {missing}", file=sys.stderr)
        return 2
    if args.jobs < 1 or args.timeout <= 0:
        print("error: --jobs must be >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    notebooks = _notebooks(args.paths, root)
    if not notebooks:
        print(f"error: no lessons found under {root / 'lessons'}", file=sys.stderr)
        return 2
    options = GradeOptions(timeout=args.timeout, spark=args.spark, strict=args.strict,
                           record=not args.no_record, keep_workdirs=args.keep_workdirs,
                           store_path=str(args.store) if args.store else None)
    bar = tqdm(total=len(notebooks), unit="lesson", desc="grading", file=sys.stderr,
               disable=args.no_progress or not sys.stderr.isatty())

    def on_result(result: LessonResult) -> None:
        bar.set_postfix_str(f"{result.lesson_id}: {result.status.value}")
        bar.update()

    try:
        results = grade_many(notebooks, root, options, jobs=args.jobs, on_result=on_result)
    finally:
        bar.close()
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    print(render_table(results, color=color))
    written = write_reports(results, args.out, meta={"strict": args.strict, "spark": args.spark,
                                                     "jobs": args.jobs, "timeout": args.timeout})
    print(summary_line(results))
    print("reports: " + ", ".join(str(p) for p in written.values()))
    return 0 if all(r.status is LessonStatus.PASSED for r in results) else 1


def _cmd_lint(args: argparse.Namespace, root: Path) -> int:
    from .quiz import lint_quiz, load_quiz

    notebooks = _notebooks(args.paths, root)
    known = set()
    for path in find_lessons(root):  # prerequisites may name any lesson of the course
        with contextlib.suppress(GraderError):
            known.add(load_lesson(path).spec.id)
    lessons = []
    problems: list[str] = []
    for path in notebooks:
        try:
            lesson = load_lesson(path)
        except GraderError as exc:
            problems.append(str(exc))
            continue
        lessons.append(lesson)
        known.add(lesson.spec.id)
    for lesson in lessons:
        problems.extend(lint_lesson(lesson, root=root, known_ids=known))
        quiz_path = root / lesson.spec.quiz
        if quiz_path.is_file():
            try:
                problems.extend(lint_quiz(load_quiz(quiz_path), timeout=args.timeout))
            except GraderError as exc:
                problems.append(str(exc))
    for line in problems:
        print(line)
    print(f"{len(notebooks)} lessons checked, {len(problems)} problems")
    return 1 if problems else 0


def _cmd_copy(args: argparse.Namespace, root: Path) -> int:
    lesson = load_lesson(find_lesson(args.lesson, root))
    workspace = args.workspace or course_home() / "workspace"
    target = make_learner_copy(lesson, workspace, force=args.force)
    print(f"learner copy written: {target}")
    print(f"open it in JupyterLab, solve the exercises, then grade it: python -m grader grade {target}")
    return 0


def _cmd_progress(args: argparse.Namespace, root: Path) -> int:
    from .progress import ProgressStore
    from .progress_view import progress_table

    with ProgressStore(args.store) as store:
        table = progress_table(store)
    print("no progress yet" if table.empty else table.to_string(index=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in SUBCOMMANDS or a in ("-h", "--help") for a in argv):
        argv.insert(_first_positional(argv), "grade")
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # timeouts and dead kernels are already in the report, per step
        logging.getLogger("grader.runner.nbclient").setLevel(logging.CRITICAL)
    try:
        root = args.root.resolve() if args.root else course_root()
        handler = {"grade": _cmd_grade, "lint": _cmd_lint, "copy": _cmd_copy,
                   "progress": _cmd_progress}[args.command]
        return handler(args, root)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _first_positional(argv: list[str]) -> int:
    """Where to insert the default subcommand: after the global options."""
    i = 0
    while i < len(argv) and argv[i] in ("--root", "-v", "--verbose"):
        i += 2 if argv[i] == "--root" else 1
    return i
