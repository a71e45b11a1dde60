"""Command line: ``python -m grader`` / ``odibi-grader``.

Subcommands: ``grade`` (the default), ``lint``, ``copy``, ``lab``, ``hint``, ``quiz`` and
``progress``. ``grade`` takes notebooks, folders or lesson names (a name grades your learner
copy in the workspace).
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
from .runner import check_timeout

__all__ = ["main"]

SUBCOMMANDS = ("grade", "lint", "copy", "lab", "hint", "quiz", "progress")


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
    grade.add_argument("--timeout", type=float, default=120.0,
                       help="seconds per cell (default 120; finite, at most a day; under 1 is rounded"
                            " up to 1)")
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

    lab = sub.add_parser("lab", help="make your missing learner copies and open JupyterLab on them")
    lab.add_argument("--workspace", type=Path, help="your workspace (default: <course home>/workspace)")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                     help="after --: arguments for jupyter lab (e.g. -- --no-browser --port 8899)")

    hint = sub.add_parser("hint", help="show the next hint of an exercise")
    hint.add_argument("lesson", help="lesson name or id (e.g. 03_orchestration)")
    hint.add_argument("step", type=int, help="the exercise's step number")
    hint.add_argument("--store", type=Path, help="progress database (default: in the course home)")

    quiz = sub.add_parser("quiz", help="quiz rounds: start a new round of a lesson's quiz")
    quiz_sub = quiz.add_subparsers(dest="quiz_command", required=True)
    retake = quiz_sub.add_parser("retake", help="start a new round (options shuffled; best round counts)")
    retake.add_argument("lesson", help="lesson name or id (e.g. 03_orchestration)")
    retake.add_argument("--checkpoint", type=int, help="only this checkpoint (default: all)")
    retake.add_argument("--store", type=Path, help="progress database (default: in the course home)")

    progress = sub.add_parser("progress", help="show your quiz and grading progress")
    progress.add_argument("--store", type=Path, help="progress database (default: in the course home)")
    return parser


def _workspace(args: argparse.Namespace) -> Path:
    return getattr(args, "workspace", None) or course_home() / "workspace"


def _learner_copy(name: str, root: Path, workspace: Path) -> Path:
    """The learner's copy of the lesson called ``name`` (file stem or id) in the workspace."""
    canonical = find_lesson(name, root)
    target = workspace / canonical.name
    if not target.is_file():
        raise GraderError(f"no learner copy of {canonical.stem} in {workspace}: make one with"
                          f" python -m grader copy {canonical.stem} (or open them all with"
                          f" python -m grader lab)")
    return target


def _notebooks(paths: Sequence[Path], root: Path, workspace: Path | None = None) -> list[Path]:
    if not paths:
        return find_lessons(root)
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.ipynb") if p.is_file()))
        elif path.is_file():
            found.append(path)
        elif workspace is not None and path.suffix != ".ipynb" and len(path.parts) == 1:
            found.append(_learner_copy(str(path), root, workspace))
        else:
            raise GraderError(f"{path}: no such notebook or folder")
    return found


def _cmd_grade(args: argparse.Namespace, root: Path) -> int:
    from tqdm import tqdm

    from .report import render_table, summary_line, write_reports

    if args.spark and (missing := spark_available()):
        print(f"error: --spark given but {missing}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"error: --jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return 2
    try:
        timeout = check_timeout(args.timeout, "--timeout")
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if timeout < 1:
        print(f"note: --timeout {args.timeout:g} rounded up to 1 s (the grader enforces whole"
              f" seconds, at least 1)", file=sys.stderr)
        timeout = 1.0
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file; give a folder for report.json, junit.xml and"
              f" report.html", file=sys.stderr)
        return 2
    notebooks = _notebooks(args.paths, root, course_home() / "workspace")
    if not notebooks:
        print(f"error: no lessons found under {root / 'lessons'}", file=sys.stderr)
        return 2
    options = GradeOptions(timeout=timeout, spark=args.spark, strict=args.strict,
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
                                                     "jobs": args.jobs, "timeout": timeout})
    print(summary_line(results))
    print("reports: " + ", ".join(str(p) for p in written.values()))
    return 0 if all(r.status is LessonStatus.PASSED for r in results) else 1


def _cmd_lint(args: argparse.Namespace, root: Path) -> int:
    from .quiz import lint_quiz, load_quiz

    try:
        check_timeout(args.timeout, "--timeout")
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    workspace = _workspace(args)
    target = make_learner_copy(lesson, workspace, force=args.force)
    print(f"learner copy written: {target}")
    print(f"open it with python -m grader lab, solve the exercises, then grade it:"
          f" python -m grader grade {lesson.path.stem}")
    return 0


def _cmd_lab(args: argparse.Namespace, root: Path) -> int:
    import subprocess

    workspace = _workspace(args)
    made = []
    for path in find_lessons(root):
        if not (workspace / path.name).exists():
            try:
                made.append(make_learner_copy(load_lesson(path), workspace))
            except GraderError as exc:  # one broken lesson must not keep the learner out of the rest
                print(f"warning: no learner copy of {path.name}: {exc}", file=sys.stderr)
    for path in made:
        print(f"learner copy written: {path}")
    print(f"workspace: {workspace} (your copies: exercise solutions stripped)")
    extra = [a for a in args.jupyter_args if a != "--"]
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace}", *extra]
    env = dict(os.environ, ODIBI_COURSE_ROOT=str(root))
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def _cmd_hint(args: argparse.Namespace, root: Path) -> int:
    from .hints import reveal_next_hint
    from .progress import ProgressStore

    lesson = load_lesson(find_lesson(args.lesson, root))
    with ProgressStore(args.store) as store:
        revealed = reveal_next_hint(lesson, args.step, store)
    print(f'{lesson.path.stem}, exercise step {revealed.step} "{revealed.title}":')
    for number, text in enumerate(revealed.shown, start=1):
        print(f"  hint {number} of {revealed.total}: {text}")
    if revealed.exhausted:
        print("  (that was the last hint)")
    return 0


def _cmd_quiz(args: argparse.Namespace, root: Path) -> int:
    from .progress import ProgressStore
    from .quiz import load_quiz

    lesson = load_lesson(find_lesson(args.lesson, root))
    quiz = load_quiz(root / lesson.spec.quiz)
    if args.checkpoint is not None:
        quiz.for_checkpoint(args.checkpoint)  # an unknown checkpoint lists the known ones
    checkpoints = [args.checkpoint] if args.checkpoint is not None else sorted(quiz.checkpoints)
    with ProgressStore(args.store) as store:
        started = {cp: store.start_round(lesson.spec.id, cp) for cp in checkpoints}
        score = store.quiz_score(lesson.spec.id, quiz.checkpoint_of)
    for checkpoint, number in started.items():
        print(f"{lesson.path.stem}: round {number} of checkpoint {checkpoint} started")
    print(f"Run the quiz cells again (options are shuffled): your first answer to each question in"
          f" the new round makes its score, and your best round counts (now {score:.0%}).")
    return 0


def _cmd_progress(args: argparse.Namespace, root: Path) -> int:
    from .progress import ProgressStore
    from .progress_view import progress_table

    with ProgressStore(args.store) as store:
        table = progress_table(store)
        damaged = store.damaged_runs()
    print("no progress yet" if table.empty else table.to_string(index=False))
    for row_id, problem in damaged:
        print(f"warning: grader run row {row_id} in {store.path} is damaged and was left out:"
              f" {problem}", file=sys.stderr)
    return 0


def _default_command(argv: list[str]) -> str | None:
    """Insert ``grade`` when the first word is a notebook, folder or lesson name (or absent);
    return an error message for an unknown command."""
    at = _first_positional(argv)
    if at >= len(argv):
        argv.insert(at, "grade")
        return None
    if argv[at] in SUBCOMMANDS or argv[at] in ("-h", "--help"):
        return None
    word = argv[at]
    if word.startswith("-") or Path(word).exists() or "/" in word or word.endswith(".ipynb"):
        argv.insert(at, "grade")
        return None
    with contextlib.suppress(GraderError):
        find_lesson(word, _root_of(argv))
        argv.insert(at, "grade")
        return None
    return (f"unknown command {word!r}; commands: {', '.join(SUBCOMMANDS)} (or give notebooks,"
            f" folders or lesson names to grade)")


def _root_of(argv: list[str]) -> Path:
    if "--root" in argv and argv.index("--root") + 1 < len(argv):
        return Path(argv[argv.index("--root") + 1]).resolve()
    return course_root()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        problem = _default_command(argv)
    except GraderError as exc:
        problem = str(exc)
    if problem:
        _parser().print_usage(sys.stderr)
        print(f"error: {problem}", file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed escaped
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # timeouts and dead kernels are already in the report, per step
        logging.getLogger("grader.runner.nbclient").setLevel(logging.CRITICAL)
    try:
        root = args.root.resolve() if args.root else course_root()
        handler = {"grade": _cmd_grade, "lint": _cmd_lint, "copy": _cmd_copy, "lab": _cmd_lab,
                   "hint": _cmd_hint, "quiz": _cmd_quiz, "progress": _cmd_progress}[args.command]
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
