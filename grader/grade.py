"""Grade lessons: canonical lessons for instructors, learner copies for learners.

The spec and step plan always come from the canonical lesson (found by id), the
notebook runs in a fresh kernel inside a per-run temporary folder, and the
verdict compares the score with the lesson's pass score (plus, for a learner
copy, the first-attempt quiz score from the progress store). ``strict`` adds
the instructor's checks: every step passes, the metadata matches the notebook
and quiz, every quiz key is verified, and the stripped copy fails exactly its
exercise steps.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import copy
import hashlib
import importlib.util
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nbformat import NotebookNode

from .errors import GraderError
from .learner import merge_learner_work, stripped_notebook
from .lesson import Lesson, find_lessons, lint_lesson, load_lesson, read_notebook
from .paths import ENV_HOME, ENV_ROOT, ENV_WORKDIR
from .policy import describe_policy, judge
from .progress import ProgressStore
from .results import LessonResult, LessonStatus, StepState
from .runner import RunOptions, check_timeout, run_notebook

__all__ = ["GradeOptions", "find_canonical", "grade_many", "grade_notebook", "spark_available"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradeOptions:
    """Options of one grading run.

    Args:
        timeout: seconds per cell before it is interrupted: finite, more than 0 and at most a
            day; under a second is enforced as 1 s (nbclient counts whole seconds).
        spark: run ``engine-spark`` steps (needs pyspark and Java).
        strict: instructor mode (see the module docstring).
        record: store each learner copy's result in the progress store.
        keep_workdirs: keep each lesson's temporary working folder for inspection.
        store_path: progress database to read quiz scores from / record into.
    """

    timeout: float = 120.0
    spark: bool = False
    strict: bool = False
    record: bool = True
    keep_workdirs: bool = False
    store_path: str | None = None
    kernel_name: str = "python3"

    def __post_init__(self) -> None:
        check_timeout(self.timeout, "timeout")

    def run_options(self) -> RunOptions:
        return RunOptions(timeout=self.timeout, spark=self.spark, kernel_name=self.kernel_name)


def spark_available() -> str | None:
    """``None`` when Spark can run here, else what is missing."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        return "no Java found (install Java 17 or set JAVA_HOME)"
    return None


def _in_lessons_folder(path: Path, root: Path) -> bool:
    return path.resolve().parent == (root / "lessons").resolve()


def find_canonical(nb: NotebookNode, path: Path, root: Path) -> Lesson:
    """The canonical lesson a notebook copies: by the id the copy records, else by file name."""
    marker = nb.metadata.get("odibi_learner_copy", {})
    spec = nb.metadata.get("odibi", {})
    wanted = [marker.get("lesson_id") if isinstance(marker, dict) else None,
              spec.get("id") if isinstance(spec, dict) else None]
    candidates = find_lessons(root)
    lessons = []
    for candidate in candidates:
        try:
            lessons.append(load_lesson(candidate))
        except GraderError as exc:
            log.warning("skipping unreadable canonical lesson %s: %s", candidate, exc)
    for lesson_id in wanted:
        for lesson in lessons:
            if lesson_id and lesson.spec.id == lesson_id:
                return lesson
    for lesson in lessons:
        if lesson.path.name == path.name:
            return lesson
    known = ", ".join(sorted(lesson.spec.id for lesson in lessons)) or "none"
    raise GraderError(f"{path}: no canonical lesson matches this notebook (id {wanted[0] or wanted[1]!r},"
                      f" file name {path.name}); known lesson ids: {known}")


def _kernel_env(root: Path, workdir: Path, options: GradeOptions) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        ENV_ROOT: str(root),
        ENV_WORKDIR: str(workdir),
        # the lesson's own kernel never writes into the learner's real progress store
        ENV_HOME: str(workdir.parent / "course_home"),
        # nor into the framework's default job store and cache folder (the variables are
        # odibi_core's; the grader never imports it)
        "ODIBI_HOME": str(workdir.parent / "odibi_home"),
        "ODIBI_CACHE_DIR": str(workdir.parent / "odibi_cache"),
        "ODIBI_SPARK": "1" if options.spark else "0",
        "ODIBI_GRADING": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    return env


CANONICAL_FOLDERS = ("lessons", "quizzes")


def _fingerprint(root: Path) -> dict[str, str]:
    """sha256 of every file under the real ``lessons/`` and ``quizzes/`` (hidden names, such as
    JupyterLab's .ipynb_checkpoints, left out), by path relative to ``root``."""
    digests: dict[str, str] = {}
    for folder in CANONICAL_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            try:
                with path.open("rb") as handle:
                    digests[relative.as_posix()] = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError as exc:
                digests[relative.as_posix()] = f"unreadable: {exc.strerror or exc}"
    return digests


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            lines.append(f"canonical file {name} was deleted while the lesson ran")
        elif name not in before:
            lines.append(f"file {name} was created in the course's canonical folders while the"
                         f" lesson ran")
        elif before[name] != after[name]:
            lines.append(f"canonical file {name} was changed while the lesson ran")
    return lines


def _read_only_course(root: Path, target: Path) -> Path:
    """A course root for the kernel: copies of ``lessons/`` and ``quizzes/`` made read-only, and
    links to the rest of the checkout (tests/, odibi_core/, ... that lessons read or run).
    Root ignores the permissions, so the canonical files are also hashed before and after."""
    target.mkdir()
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name in CANONICAL_FOLDERS:
            shutil.copytree(entry, target / entry.name, symlinks=False,
                            ignore=shutil.ignore_patterns(".*"))
        else:
            (target / entry.name).symlink_to(entry.resolve())
    for folder in CANONICAL_FOLDERS:
        for path in sorted((target / folder).rglob("*"), reverse=True):
            path.chmod(0o555 if path.is_dir() else 0o444)
        (target / folder).chmod(0o555)
    target.chmod(0o555)
    return target


def _make_writable(run_dir: Path) -> None:
    """Folders of the read-only course copy writable again, so the run folder can be deleted."""
    copy = run_dir / "course"
    for path in [copy, *copy.rglob("*")] if copy.is_dir() else []:
        if path.is_dir() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.chmod(0o755)


def _remove_run_dir(run_dir: Path) -> None:
    _make_writable(run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)


def _execute(nb: NotebookNode, lesson: Lesson, root: Path, options: GradeOptions, result: LessonResult) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix=f"odibi-grade-{lesson.spec.id}-"))
    workdir = run_dir / "work"
    workdir.mkdir()
    before = _fingerprint(root)
    try:
        try:
            kernel_root = _read_only_course(root, run_dir / "course")
        except OSError as exc:
            raise GraderError(f"cannot copy the course into the run folder {run_dir}: {exc}") from exc
        outcome = run_notebook(nb, lesson, workdir=workdir, env=_kernel_env(kernel_root, workdir, options),
                               options=options.run_options(), kernel_log=run_dir / "kernel.log")
    finally:
        changed = _changed(before, _fingerprint(root))
        if options.keep_workdirs:
            _make_writable(run_dir)  # the lesson is over: let the user delete it
            log.info("kept working folder %s", run_dir)
        else:
            _remove_run_dir(run_dir)
    result.steps = outcome.steps
    result.errors.extend(outcome.errors)
    result.errors.extend(changed)
    result.tampered.extend(outcome.tampered + changed)
    result.kernel_died = outcome.kernel_died


def _strict_checks(lesson: Lesson, root: Path, options: GradeOptions, result: LessonResult) -> None:
    from .quiz import lint_quiz, load_quiz

    known = []
    for path in find_lessons(root):
        try:
            known.append(load_lesson(path).spec.id)
        except GraderError:
            continue
    result.lint.extend(lint_lesson(lesson, root=root, known_ids=known))
    quiz_path = root / lesson.spec.quiz
    if quiz_path.is_file():
        with contextlib.suppress(GraderError):  # lint_lesson already reported a broken quiz file
            result.lint.extend(lint_quiz(load_quiz(quiz_path)))
    for step in result.graded_steps:
        if step.state is not StepState.PASSED:
            result.lint.append(f"step {step.number} ({step.title}) is {step.state.value}; strict mode"
                               f" needs every runnable step to pass")
    if result.errors:
        result.lint.append("cells outside any step raised errors (see errors)")
    exercise_steps = [s.number for s in lesson.steps if s.exercise]
    if exercise_steps:
        probe = LessonResult(lesson_id=lesson.spec.id, notebook=str(lesson.path))
        _execute(stripped_notebook(lesson), lesson, root, replace(options, keep_workdirs=False), probe)
        for step in probe.steps:
            if step.number in exercise_steps and step.state is StepState.PASSED:
                result.lint.append(f"exercise step {step.number} ({step.title}) still passes with its"
                                   f" solution stripped: its check cannot fail")
            elif (step.number not in exercise_steps and step.runnable
                  and step.state not in (StepState.PASSED, StepState.SKIPPED)):
                result.lint.append(f"step {step.number} ({step.title}) is {step.state.value} in the"
                                   f" stripped copy: only exercise steps may fail there (it must not"
                                   f" depend on an exercise's solution)")


def _verdict(result: LessonResult, lesson: Lesson, options: GradeOptions) -> LessonStatus:
    status, reasons = judge(result, lesson.spec, lesson_name=lesson.path.stem,
                            strict=options.strict)
    result.reasons = reasons
    return status


def _hints_used(result: LessonResult, lesson_id: str, store: ProgressStore) -> None:
    used = store.hints_used(lesson_id)
    for step in result.steps:
        step.hints_used = used.get(step.number, 0)


def grade_notebook(path: str | Path, root: str | Path, options: GradeOptions | None = None) -> LessonResult:
    """Grade one notebook: a canonical lesson (in ``root/lessons``) or a learner's copy."""
    options = options or GradeOptions()
    path, root = Path(path), Path(root)
    started = time.perf_counter()
    result = LessonResult(lesson_id=path.stem, notebook=str(path))
    try:
        nb = read_notebook(path)
        canonical = _in_lessons_folder(path, root)
        lesson = load_lesson(path) if canonical else find_canonical(nb, path, root)
        result.lesson_id = lesson.spec.id
        result.title = lesson.spec.title
        result.pass_score = lesson.spec.assessment.pass_score
        result.learner_copy = not canonical
        result.lesson_name = lesson.path.stem
        result.policy = describe_policy(lesson.spec)
        from .quiz import load_quiz

        questions = load_quiz(root / lesson.spec.quiz).checkpoint_of  # a broken quiz is an error
        if canonical:
            to_run = copy.deepcopy(lesson.nb)
        else:
            to_run, notes = merge_learner_work(lesson, nb)
            result.errors.extend(notes)
        _execute(to_run, lesson, root, options, result)
        if result.learner_copy:
            with ProgressStore(options.store_path) as store:
                result.quiz_score = store.quiz_score(lesson.spec.id, questions)
                _hints_used(result, lesson.spec.id, store)
        if options.strict and canonical:
            _strict_checks(lesson, root, options, result)
        result.status = _verdict(result, lesson, options)
    except GraderError as exc:
        result.status = LessonStatus.ERROR
        result.errors.append(str(exc))
    result.duration_s = time.perf_counter() - started
    if result.learner_copy and options.record and result.status is not LessonStatus.ERROR:
        try:
            with ProgressStore(options.store_path) as store:
                store.record_run(result)
        except GraderError as exc:
            result.errors.append(f"could not record the run in the progress store: {exc}")
    return result


def _grade_job(args: tuple[str, str, GradeOptions]) -> LessonResult:
    path, root, options = args
    return grade_notebook(path, root, options)


def grade_many(
    paths: Sequence[str | Path],
    root: str | Path,
    options: GradeOptions | None = None,
    *,
    jobs: int = 1,
    on_result: Callable[[LessonResult], None] | None = None,
) -> list[LessonResult]:
    """Grade several notebooks, ``jobs`` at a time in worker processes; results in input order.
    A lesson that cannot be graded is an error result for that lesson only."""
    options = options or GradeOptions()
    work = [(str(p), str(root), options) for p in paths]
    results: list[LessonResult | None] = [None] * len(work)
    if jobs <= 1 or len(work) <= 1:
        for i, item in enumerate(work):
            results[i] = _grade_job(item)
            if on_result:
                on_result(results[i])  # type: ignore[arg-type]
    else:
        context = multiprocessing.get_context("spawn")
        with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending = {pool.submit(_grade_job, item): i for i, item in enumerate(work)}
            for future in futures.as_completed(pending):
                i = pending[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # a crashed worker is an error for that lesson only
                    results[i] = LessonResult(lesson_id=Path(work[i][0]).stem, notebook=work[i][0],
                                              errors=[f"grader worker crashed: {exc!r}"])
                if on_result:
                    on_result(results[i])  # type: ignore[arg-type]
    return [r for r in results if r is not None]
