"""Lesson specs: a notebook's ``metadata.odibi`` plus the steps its cell tags define.

A step is the run of cells tagged ``step-N``; it is runnable when one of its code
cells is tagged ``check``. ``exercise`` cells hold a reference solution between
``# BEGIN SOLUTION`` and ``# END SOLUTION``; ``engine-spark`` cells need Spark.
Loading raises :class:`LessonSpecError` for anything that makes grading
impossible; :func:`lint_lesson` reports what is merely inconsistent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .errors import GraderError, LessonSpecError

__all__ = [
    "EXERCISE_POLICIES",
    "KNOWN_TAGS",
    "QUESTION_TYPES",
    "Assessment",
    "Lesson",
    "LessonSpec",
    "StepPlan",
    "find_lesson",
    "find_lessons",
    "lint_lesson",
    "load_lesson",
    "parse_spec",
    "plan_steps",
    "read_notebook",
]

QUESTION_TYPES = ("mcq", "predict-output", "code-trace")
ENGINES = ("pandas", "spark")
STEP_TAG = re.compile(r"^step-(\d+)$")
KNOWN_TAGS = frozenset(
    {
        "check",
        "exercise",
        "engine-spark",
        "raises-exception",  # nbclient/nbval: the cell is expected to raise
        "nbval-ignore-output",
        "nbval-skip",
        "hide-input",
        "hide-output",
    }
)
CHECK_MAGIC = "%%check"
SPARK_MAGIC = "%%spark"
LOAD_EXTENSION = "%load_ext grader"
BEGIN_SOLUTION = "# BEGIN SOLUTION"
END_SOLUTION = "# END SOLUTION"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_QUIZ_CALL = re.compile(r"""quiz\(\s*["']([^"']+)["']\s*,\s*checkpoint\s*=\s*(\d+)""")


EXERCISE_POLICIES = ("required", "counted")
"""``required``: every exercise step must pass for the lesson to pass (the default);
``counted``: exercise steps only count towards the step score."""


@dataclass(frozen=True)
class Assessment:
    """How a lesson is assessed: question types, counts, the score needed to pass, whether
    exercises are required, and the step-score penalty per hint used (default none)."""

    types: tuple[str, ...]
    checkpoints: int
    questions: int
    pass_score: float
    exercises: str = "required"
    hint_penalty: float = 0.0


@dataclass(frozen=True)
class LessonSpec:
    """The validated ``metadata.odibi`` of a lesson notebook."""

    id: str
    title: str
    order: int
    level: str
    prerequisites: tuple[str, ...]
    learning_objectives: tuple[str, ...]
    engines: tuple[str, ...]
    estimated_time: str
    runnable_steps: int
    total_steps: int
    assessment: Assessment
    quiz: str
    glossary: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # exercise step -> hints
    extra: Mapping[str, Any] = field(default_factory=dict)  # optional descriptive fields


@dataclass(frozen=True)
class StepPlan:
    """The cells of one step, by role (indices into the notebook's cell list)."""

    number: int
    title: str
    cells: tuple[int, ...]
    check_cells: tuple[int, ...]
    exercise_cells: tuple[int, ...]
    spark_cells: tuple[int, ...]

    @property
    def runnable(self) -> bool:
        return bool(self.check_cells)

    @property
    def exercise(self) -> bool:
        return bool(self.exercise_cells)

    @property
    def needs_spark(self) -> bool:
        return bool(self.spark_cells)


@dataclass
class Lesson:
    """A loaded lesson: where it is, its notebook, its spec and its steps."""

    path: Path
    nb: NotebookNode
    spec: LessonSpec
    steps: list[StepPlan]

    def step_of_cell(self) -> dict[int, int]:
        """cell index -> step number, for cells inside a step."""
        return {index: step.number for step in self.steps for index in step.cells}

    @property
    def exercise_cells(self) -> list[int]:
        return [index for step in self.steps for index in step.exercise_cells]


# -- reading --------------------------------------------------------------------------
def read_notebook(path: str | Path) -> NotebookNode:
    """Read and validate an nbformat-4 notebook, translating every failure to LessonSpecError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LessonSpecError(path, f"cannot read notebook: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1]
        raise LessonSpecError(path, f"not a UTF-8 text file (byte 0x{bad.hex()} at offset {exc.start};"
                              f" a notebook is UTF-8 JSON): save it again from JupyterLab") from exc
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises bare JSON/validation errors of several kinds
        raise LessonSpecError(path, f"not a valid notebook (nbformat 4 JSON expected): {exc}") from exc
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise LessonSpecError(path, f"notebook does not follow nbformat 4: {exc.message}") from exc
    return nb


def load_lesson(path: str | Path) -> Lesson:
    """Load a lesson notebook: its validated spec and its step plan."""
    path = Path(path)
    nb = read_notebook(path)
    spec = parse_spec(nb.metadata.get("odibi"), path)
    return Lesson(path=path, nb=nb, spec=spec, steps=plan_steps(nb, path))


def find_lessons(root: str | Path) -> list[Path]:
    """The course's lesson notebooks (``lessons/NN_*.ipynb``) in order."""
    folder = Path(root) / "lessons"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def find_lesson(name: str | Path, root: str | Path) -> Path:
    """A canonical lesson by file stem (``03_orchestration``), file name or lesson id, or a
    notebook path; the error lists the course's lessons."""
    as_path = Path(name)
    if as_path.suffix == ".ipynb" and as_path.is_file():
        return as_path
    lessons = find_lessons(root)
    for path in lessons:
        if str(name) in (path.stem, path.name):
            return path
    for path in lessons:
        try:
            if load_lesson(path).spec.id == str(name):
                return path
        except GraderError:
            continue
    names = ", ".join(p.stem for p in lessons) or "none"
    raise GraderError(f"no lesson named {str(name)!r}; lessons: {names}")


# -- the spec -----------------------------------------------------------------------------
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "title": str,
    "order": int,
    "level": str,
    "prerequisites": list,
    "learning_objectives": list,
    "engines": list,
    "estimated_time": str,
    "runnable_steps": int,
    "total_steps": int,
    "assessment": dict,
    "quiz": str,
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "glossary": dict,
    "hints": dict,
    "subtitle": str,
    "version": str,
    "tags": list,
    "outcomes": list,
    "related_lessons": list,
}
_ASSESSMENT: dict[str, type | tuple[type, ...]] = {
    "types": list,
    "checkpoints": int,
    "questions": int,
    "pass_score": (int, float),
}
_ASSESSMENT_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "exercises": str,
    "hint_penalty": (int, float),
}
HINTS_PER_EXERCISE = (2, 3)


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "an integer", "list": "a list", "dict": "a mapping",
             "float": "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def _check_fields(
    data: Mapping[str, Any],
    required: Mapping[str, type | tuple[type, ...]],
    optional: Mapping[str, type | tuple[type, ...]],
    path: Path,
    prefix: str,
) -> list[str]:
    problems = []
    for key in sorted(set(required) - set(data)):
        problems.append(f"field '{prefix}{key}': missing (expected {_type_name(required[key])})")
    for key in sorted(set(data) - set(required) - set(optional), key=str):
        allowed = ", ".join(sorted({*required, *optional}))
        problems.append(f"field '{prefix}{key}': unknown field (allowed: {allowed})")
    for key, kind in {**required, **optional}.items():
        if key in data:
            value = data[key]
            wrong = isinstance(value, bool) or not isinstance(value, kind)
            if wrong:
                problems.append(
                    f"field '{prefix}{key}': expected {_type_name(kind)}, got {type(value).__name__}"
                    f" {value!r}"
                )
    return problems


def _str_list(data: Mapping[str, Any], key: str, prefix: str = "") -> list[str]:
    value = data.get(key, [])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return []
    return [f"field '{prefix}{key}': expected a list of strings, got {value!r}"]


def parse_spec(raw: Any, path: str | Path) -> LessonSpec:
    """Validate ``metadata.odibi`` strictly; every problem is listed in one LessonSpecError."""
    path = Path(path)
    if not isinstance(raw, Mapping):
        raise LessonSpecError(
            path, "notebook metadata has no 'odibi' mapping (the lesson spec)", field="odibi"
        )
    problems = _check_fields(raw, _REQUIRED, _OPTIONAL, path, "")
    if not problems:
        problems += _check_fields(raw["assessment"], _ASSESSMENT, _ASSESSMENT_OPTIONAL, path,
                                  "assessment.")
        for key in ("prerequisites", "learning_objectives", "engines"):
            problems += _str_list(raw, key)
        if not _ID.match(raw["id"]):
            problems.append(f"field 'id': expected lowercase letters, digits and _, got {raw['id']!r}")
        if not raw["learning_objectives"]:
            problems.append("field 'learning_objectives': expected at least one objective")
        if not raw["engines"] or any(e not in ENGINES for e in raw["engines"]):
            problems.append(f"field 'engines': expected a non-empty list from {list(ENGINES)},"
                            f" got {raw['engines']!r}")
        for key in ("order", "runnable_steps", "total_steps"):
            if raw[key] < 0:
                problems.append(f"field '{key}': expected a number >= 0, got {raw[key]}")
        glossary = raw.get("glossary", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in glossary.items()):
            problems.append("field 'glossary': expected a mapping of term -> definition strings")
    if not problems:
        assessment = raw["assessment"]
        problems += _str_list(assessment, "types", "assessment.")
        unknown = [t for t in assessment["types"] if t not in QUESTION_TYPES]
        if unknown:
            problems.append(f"field 'assessment.types': unknown {unknown}, expected from"
                            f" {list(QUESTION_TYPES)}")
        score = assessment["pass_score"]
        if not 0 < score <= 1:
            problems.append(f"field 'assessment.pass_score': expected 0 < pass_score <= 1, got {score}")
        for key in ("checkpoints", "questions"):
            if assessment[key] < 0:
                problems.append(f"field 'assessment.{key}': expected a number >= 0")
        if assessment.get("exercises", "required") not in EXERCISE_POLICIES:
            problems.append(f"field 'assessment.exercises': expected one of"
                            f" {list(EXERCISE_POLICIES)}, got {assessment['exercises']!r}")
        penalty = assessment.get("hint_penalty", 0)
        if not 0 <= penalty <= 1:
            problems.append(f"field 'assessment.hint_penalty': expected 0 <= hint_penalty <= 1"
                            f" (share of a step per hint used), got {penalty}")
        problems += _hint_problems(raw.get("hints", {}))
    if problems:
        raise LessonSpecError(path, "invalid lesson spec (metadata.odibi):\n  " + "\n  ".join(problems),
                              field="odibi")
    assessment = raw["assessment"]
    return LessonSpec(
        id=raw["id"],
        title=raw["title"],
        order=raw["order"],
        level=raw["level"],
        prerequisites=tuple(raw["prerequisites"]),
        learning_objectives=tuple(raw["learning_objectives"]),
        engines=tuple(raw["engines"]),
        estimated_time=raw["estimated_time"],
        runnable_steps=raw["runnable_steps"],
        total_steps=raw["total_steps"],
        assessment=Assessment(
            types=tuple(assessment["types"]),
            checkpoints=assessment["checkpoints"],
            questions=assessment["questions"],
            pass_score=float(assessment["pass_score"]),
            exercises=assessment.get("exercises", "required"),
            hint_penalty=float(assessment.get("hint_penalty", 0)),
        ),
        quiz=raw["quiz"],
        glossary=dict(raw.get("glossary", {})),
        hints={int(k): tuple(v) for k, v in raw.get("hints", {}).items()},
        extra={k: raw[k] for k in _OPTIONAL if k in raw and k != "glossary"},
    )


def _hint_problems(hints: Mapping[str, Any]) -> list[str]:
    """``hints`` maps an exercise's step number (as text, JSON keys are strings) to 2-3 hints."""
    problems = []
    low, high = HINTS_PER_EXERCISE
    for key, value in hints.items():
        if not (isinstance(key, str) and key.isdigit()):
            problems.append(f"field 'hints': key {key!r} must be a step number such as \"6\"")
            continue
        if not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            problems.append(f"field 'hints.{key}': expected a list of non-empty strings,"
                            f" got {value!r}")
        elif not low <= len(value) <= high:
            problems.append(f"field 'hints.{key}': expected {low} to {high} hints, got {len(value)}")
    return problems


# -- steps ------------------------------------------------------------------------------
def _tags(cell: NotebookNode) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)]


def _step_numbers(cell: NotebookNode, index: int, path: Path) -> list[int]:
    numbers = [int(m.group(1)) for t in _tags(cell) if (m := STEP_TAG.match(t))]
    if len(numbers) > 1:
        raise LessonSpecError(path, f"a cell may belong to one step only, found tags"
                              f" {['step-' + str(n) for n in numbers]}", cell_index=index,
                              field="tags")
    return numbers


def _title(nb: NotebookNode, cells: Iterable[int], number: int) -> str:
    for index in cells:
        cell = nb.cells[index]
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    return line.lstrip("# ").strip()
    return f"Step {number}"


def plan_steps(nb: NotebookNode, path: str | Path) -> list[StepPlan]:
    """Group cells into steps by their ``step-N`` tags, in step-number order."""
    path = Path(path)
    members: dict[int, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        for number in _step_numbers(cell, index, path):
            members.setdefault(number, []).append(index)
    plans = []
    for number in sorted(members):
        cells = members[number]

        def tagged(tag: str, cells: list[int] = cells) -> tuple[int, ...]:
            return tuple(i for i in cells if tag in _tags(nb.cells[i]) and nb.cells[i].cell_type == "code")

        plans.append(
            StepPlan(
                number=number,
                title=_title(nb, cells, number),
                cells=tuple(cells),
                check_cells=tagged("check"),
                exercise_cells=tuple(
                    i for i in cells
                    if nb.cells[i].cell_type == "code" and BEGIN_SOLUTION in nb.cells[i].source
                ),
                spark_cells=tagged("engine-spark"),
            )
        )
    return plans


# -- lint ---------------------------------------------------------------------------------
def _lint_cells(lesson: Lesson) -> list[str]:
    problems = []
    name = lesson.path.name
    in_step = lesson.step_of_cell()
    seen_runs: list[int] = []
    loaded = False
    uses_magics = uses_lesson_magics(lesson.nb)
    for index, cell in enumerate(lesson.nb.cells):
        tags = _tags(cell)
        for tag in tags:
            if tag not in KNOWN_TAGS and not STEP_TAG.match(tag):
                problems.append(f"{name}, cell {index + 1}: unknown tag '{tag}' (known: step-N,"
                                f" {', '.join(sorted(KNOWN_TAGS))})")
        number = in_step.get(index)
        if number is not None and (not seen_runs or seen_runs[-1] != number):
            if number in seen_runs:
                problems.append(f"{name}, cell {index + 1}: step-{number} is repeated: its cells are"
                                f" not one contiguous run")
            seen_runs.append(number)
        source = cell.source if cell.cell_type == "code" else ""
        has_solution = BEGIN_SOLUTION in source
        if has_solution != ("exercise" in tags) and cell.cell_type == "code":
            problems.append(f"{name}, cell {index + 1}: a cell with '{BEGIN_SOLUTION}' must be tagged"
                            f" 'exercise' and an 'exercise' cell must hold a solution")
        if has_solution and source.count(BEGIN_SOLUTION) != source.count(END_SOLUTION):
            problems.append(f"{name}, cell {index + 1}: unbalanced solution markers")
        if ("check" in tags or has_solution) and number is None:
            problems.append(f"{name}, cell {index + 1}: a check or exercise cell must be inside a"
                            f" step (tag it step-N)")
        if cell.cell_type == "code" and uses_magics:
            problems += _lint_magics(name, index, tags, source, loaded)
            loaded = loaded or LOAD_EXTENSION in source
    return problems


def uses_lesson_magics(nb: NotebookNode) -> bool:
    """Whether a lesson loads the grader's cell magics (every course lesson does; then every
    check cell must use ``%%check`` and every Spark cell ``%%spark``)."""
    return any(cell.cell_type == "code" and LOAD_EXTENSION in cell.source for cell in nb.cells)


def _first_line(source: str) -> str:
    return source.lstrip("\n").split("\n", 1)[0].strip()


def _lint_magics(name: str, index: int, tags: list[str], source: str, loaded: bool) -> list[str]:
    """Check cells start with ``%%check``, Spark cells with ``%%spark`` (or ``%%check --spark``),
    and the extension that defines both is loaded before the first of them."""
    first = _first_line(source)
    where = f"{name}, cell {index + 1}"
    problems = []
    if "check" in tags and not first.startswith(CHECK_MAGIC):
        problems.append(f"{where}: a check cell must start with '{CHECK_MAGIC}' (it shows a failed"
                        f" check under the cell and lets Run All go on), got {first[:60]!r}")
    if "engine-spark" in tags:
        wanted = f"{CHECK_MAGIC} --spark" if "check" in tags else SPARK_MAGIC
        if not (first == wanted or first.startswith(wanted + " ")):
            problems.append(f"{where}: a Spark cell must start with '{wanted}' (it is skipped with"
                            f" a note where Spark is not installed), got {first[:60]!r}")
    uses = first.startswith((CHECK_MAGIC, SPARK_MAGIC))
    if uses and not loaded:
        problems.append(f"{where}: uses {first.split()[0]} before any cell runs"
                        f" '{LOAD_EXTENSION}'")
    return problems


def _lint_steps(lesson: Lesson) -> list[str]:
    problems = []
    name = lesson.path.name
    spec = lesson.spec
    numbers = [step.number for step in lesson.steps]
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
        problems.append(f"{name}: step numbers must run 1..{len(numbers)} without gaps;"
                        f" missing {missing}, found {numbers}")
    runnable = sum(1 for step in lesson.steps if step.runnable)
    if spec.runnable_steps != runnable:
        problems.append(f"{name}: metadata runnable_steps is {spec.runnable_steps} but the"
                        f" notebook has {runnable} steps with a check cell")
    if spec.total_steps != len(lesson.steps):
        problems.append(f"{name}: metadata total_steps is {spec.total_steps} but the notebook"
                        f" has {len(lesson.steps)} steps")
    exercise_steps = {step.number for step in lesson.steps if step.exercise}
    for step in lesson.steps:
        if step.exercise and not step.runnable:
            problems.append(f"{name}: step {step.number} has an exercise but no check cell")
        if step.exercise and step.number not in spec.hints:
            low, high = HINTS_PER_EXERCISE
            problems.append(f"{name}: exercise step {step.number} ({step.title}) has no hints; add"
                            f" {low} to {high} under metadata.odibi.hints[\"{step.number}\"]")
    for number in sorted(set(spec.hints) - exercise_steps):
        problems.append(f"{name}: metadata.odibi.hints has hints for step {number}, which is not"
                        f" an exercise step (exercise steps: {sorted(exercise_steps)})")
    if any(step.needs_spark for step in lesson.steps) and "spark" not in spec.engines:
        problems.append(f"{name}: cells are tagged engine-spark but metadata engines is"
                        f" {list(spec.engines)}")
    return problems


def _lint_quiz(lesson: Lesson, root: Path) -> list[str]:
    from .quiz import load_quiz  # the quiz package is only needed for lint

    name = lesson.path.name
    spec = lesson.spec
    quiz_path = root / spec.quiz
    if not quiz_path.is_file():
        return [f"{name}: quiz file {spec.quiz} does not exist (field 'quiz', relative to the"
                f" course root {root})"]
    try:
        quiz = load_quiz(quiz_path)
    except GraderError as exc:
        return [str(exc)]
    problems = []
    if quiz.lesson != spec.id:
        problems.append(f"{spec.quiz}: 'lesson: {quiz.lesson}' but the notebook's id is {spec.id}")
    if spec.assessment.questions != len(quiz.questions):
        problems.append(f"{name}: metadata assessment.questions is {spec.assessment.questions} but"
                        f" {spec.quiz} has {len(quiz.questions)} questions")
    if spec.assessment.checkpoints != len(quiz.checkpoints):
        problems.append(f"{name}: metadata assessment.checkpoints is {spec.assessment.checkpoints}"
                        f" but {spec.quiz} declares {len(quiz.checkpoints)}")
    if set(spec.assessment.types) != set(quiz.types):
        problems.append(f"{name}: metadata assessment.types is {sorted(spec.assessment.types)} but"
                        f" {spec.quiz} uses {sorted(quiz.types)}")
    stem = Path(spec.quiz).stem
    rendered = {
        int(number)
        for cell in lesson.nb.cells
        if cell.cell_type == "code"
        for target, number in _QUIZ_CALL.findall(cell.source)
        if target in (stem, spec.id)
    }
    for number in sorted(set(quiz.checkpoints) - rendered):
        problems.append(f"{name}: quiz checkpoint {number} is never rendered (no cell calls"
                        f" quiz({stem!r}, checkpoint={number}))")
    for number in sorted(rendered - set(quiz.checkpoints)):
        problems.append(f"{name}: a cell renders quiz checkpoint {number}, which {spec.quiz}"
                        f" does not declare")
    return problems


def lint_lesson(lesson: Lesson, *, root: str | Path, known_ids: Iterable[str] | None = None) -> list[str]:
    """Everything inconsistent about a lesson: tags, step numbering, metadata counts versus the
    notebook and its quiz file, prerequisites that name no lesson. Empty when clean."""
    root = Path(root)
    problems = _lint_cells(lesson) + _lint_steps(lesson)
    if known_ids is not None:
        known = set(known_ids)
        for prerequisite in lesson.spec.prerequisites:
            if prerequisite not in known:
                problems.append(f"{lesson.path.name}: prerequisite {prerequisite!r} names no lesson"
                                f" (known ids: {', '.join(sorted(known))})")
    problems += _lint_quiz(lesson, root)
    return problems
