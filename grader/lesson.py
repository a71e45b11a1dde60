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
    "KNOWN_TAGS",
    "QUESTION_TYPES",
    "Assessment",
    "Lesson",
    "LessonSpec",
    "StepPlan",
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
BEGIN_SOLUTION = "# BEGIN SOLUTION"
END_SOLUTION = "# END SOLUTION"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_QUIZ_CALL = re.compile(r"""quiz\(\s*["']([^"']+)["']\s*,\s*checkpoint\s*=\s*(\d+)""")


@dataclass(frozen=True)
class Assessment:
    """How a lesson is assessed: question types, counts, and the score needed to pass."""

    types: tuple[str, ...]
    checkpoints: int
    questions: int
    pass_score: float


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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LessonSpecError(path, f"cannot read notebook: {exc.strerror or exc}") from exc
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
        problems += _check_fields(raw["assessment"], _ASSESSMENT, {}, path, "assessment.")
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
        ),
        quiz=raw["quiz"],
        glossary=dict(raw.get("glossary", {})),
        extra={k: raw[k] for k in _OPTIONAL if k in raw and k != "glossary"},
    )


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
    for index, cell in enumerate(lesson.nb.cells):
        tags = _tags(cell)
        for tag in tags:
            if tag not in KNOWN_TAGS and not STEP_TAG.match(tag):
                problems.append(f"{name}, cell {index}: unknown tag '{tag}' (known: step-N,"
                                f" {', '.join(sorted(KNOWN_TAGS))})")
        number = in_step.get(index)
        if number is not None and (not seen_runs or seen_runs[-1] != number):
            if number in seen_runs:
                problems.append(f"{name}, cell {index}: step-{number} is repeated: its cells are"
                                f" not one contiguous run")
            seen_runs.append(number)
        source = cell.source if cell.cell_type == "code" else ""
        has_solution = BEGIN_SOLUTION in source
        if has_solution != ("exercise" in tags) and cell.cell_type == "code":
            problems.append(f"{name}, cell {index}: a cell with '{BEGIN_SOLUTION}' must be tagged"
                            f" 'exercise' and an 'exercise' cell must hold a solution")
        if has_solution and source.count(BEGIN_SOLUTION) != source.count(END_SOLUTION):
            problems.append(f"{name}, cell {index}: unbalanced solution markers")
        if ("check" in tags or has_solution) and number is None:
            problems.append(f"{name}, cell {index}: a check or exercise cell must be inside a"
                            f" step (tag it step-N)")
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
    for step in lesson.steps:
        if step.exercise and not step.runnable:
            problems.append(f"{name}: step {step.number} has an exercise but no check cell")
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
