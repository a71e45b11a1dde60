"""The quiz file schema: validates loaded YAML into a :class:`~grader.quiz.model.Quiz`.

Validation collects every problem in a file and raises one :class:`QuizSchemaError`
listing them with their lines, so an author fixes a file in one pass. Whether an
answer key is actually right (mcq answer among the options, outputs, traces) is
checked by :mod:`grader.quiz.lint`, which runs code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import QuizError
from .model import ID_PATTERN, Option, Question, QuestionType, Quiz, Trace
from .yamlload import LineDict, LineList, load_yaml

__all__ = ["Problem", "QuizSchemaError", "load_quiz"]

_TOP_KEYS = {"lesson", "checkpoints", "questions"}
_QUESTION_KEYS = {
    *("id", "checkpoint", "type", "prompt", "options", "answer"),
    *("accept", "explanation", "code", "trace"),
}
_OPTION_KEYS = {"text", "explanation"}
_TRACE_KEYS = {"line", "variable", "occurrence", "hits"}
_TYPES = [t.value for t in QuestionType]


@dataclass(frozen=True)
class Problem:
    """One schema violation at a line of a quiz file."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.field}): {self.message}"


class QuizSchemaError(QuizError):
    """A quiz file parsed as YAML but breaks the schema; ``problems`` lists every violation."""

    def __init__(self, file: str | Path, problems: list[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        first = self.problems[0]
        message = first.message
        if len(self.problems) > 1:
            listing = "\n".join(
                f"  {file}:{p.line} ({p.field}): {p.message}" for p in self.problems
            )
            message = f"{len(self.problems)} problems:\n{listing}"
        super().__init__(file, message, line=first.line, field=first.field)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    kinds = {LineDict: "a mapping", LineList: "a list", bool: f"the boolean {value}"}
    return kinds.get(type(value), f"{type(value).__name__} {value!r}")


def _listing(names: Any) -> str:
    return ", ".join(sorted(str(n) for n in names))


def _is_count(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _as_text(value: Any) -> str | None:
    """Strings as they are, numbers as their text (``answer: 42`` means ``"42"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


class _Validator:
    """Turns the loaded YAML of one file into a :class:`Quiz`, collecting problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(line, where, message))

    def unknown_keys(self, data: LineDict, allowed: set[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(
                    data.line_of(key),
                    f"{prefix}{key}",
                    f"unknown key {str(key)!r}; expected one of: {_listing(allowed)}",
                )

    def text(
        self, data: LineDict, key: Any, prefix: str, *, required: bool = True, why: str = "a string"
    ) -> str | None:
        """A non-empty string field; numbers are accepted and converted to text."""
        value, where, line = data.get(key), f"{prefix}{key}", data.line_of(key)
        if value is None:
            if required:
                self.problem(line, where, f"missing '{key}' ({why})")
            return None
        text = _as_text(value)
        if text is None:
            hint = "; quote it to keep the exact spelling" if isinstance(value, bool) else ""
            self.problem(line, where, f"expected a string, got {_describe(value)}{hint}")
        elif not text.strip():
            self.problem(line, where, f"'{key}' is empty")
            return None
        return text

    def run(self, data: Any) -> Quiz:
        if not isinstance(data, LineDict):
            expected = f"expected a mapping with keys {_listing(_TOP_KEYS)}"
            self.problem(getattr(data, "line", 1), "file", f"{expected}, got {_describe(data)}")
            raise QuizSchemaError(self.path, self.problems)
        self.unknown_keys(data, _TOP_KEYS, "")
        lesson = self.text(data, "lesson", "", why="the lesson id")
        checkpoints = self.checkpoints(data)
        questions = self.questions(data, checkpoints)
        if self.problems:
            raise QuizSchemaError(self.path, self.problems)
        return Quiz(self.path, str(lesson), checkpoints, tuple(questions))

    def checkpoints(self, data: LineDict) -> dict[int, str]:
        raw = data.get("checkpoints")
        if not isinstance(raw, LineDict) or not raw:
            self.problem(
                data.line_of("checkpoints"),
                "checkpoints",
                f"expected a non-empty mapping of number -> title, got {_describe(raw)}",
            )
            return {}
        result: dict[int, str] = {}
        for number in raw:
            if not _is_count(number):
                self.problem(
                    raw.line_of(number),
                    f"checkpoints.{number}",
                    f"expected a checkpoint number >= 1, got {_describe(number)}",
                )
            elif (title := self.text(raw, number, "checkpoints.", why="a title")) is not None:
                result[number] = title
        return result

    def questions(self, data: LineDict, checkpoints: dict[int, str]) -> list[Question]:
        raw = data.get("questions")
        if not isinstance(raw, LineList) or not raw:
            self.problem(
                data.line_of("questions"),
                "questions",
                f"expected a non-empty list of questions, got {_describe(raw)}",
            )
            return []
        first_line: dict[str, int] = {}
        result = []
        for index, item in enumerate(raw):
            question = self.question(item, f"questions[{index}]", raw.line_of(index), checkpoints)
            if question is None:
                continue
            if question.id in first_line:
                self.problem(
                    question.line_of("id"),
                    f"{question.id}.id",
                    f"duplicate question id {question.id!r} "
                    f"(first used on line {first_line[question.id]})",
                )
                continue
            first_line[question.id] = question.line_of("id")
            result.append(question)
        return result

    def question(
        self, item: Any, where: str, line: int, checkpoints: dict[int, str]
    ) -> Question | None:
        if not isinstance(item, LineDict):
            self.problem(line, where, f"expected a question mapping, got {_describe(item)}")
            return None
        before = len(self.problems)
        qid = item.get("id")
        if isinstance(qid, str) and ID_PATTERN.fullmatch(qid):
            where = qid
        else:
            self.problem(
                item.line_of("id"),
                f"{where}.id",
                f"expected an id matching {ID_PATTERN.pattern}, got {_describe(qid)}",
            )
        prefix = f"{where}."
        self.unknown_keys(item, _QUESTION_KEYS, prefix)
        checkpoint = item.get("checkpoint")
        if not _is_count(checkpoint):
            self.problem(
                item.line_of("checkpoint"),
                f"{prefix}checkpoint",
                f"expected a checkpoint number, got {_describe(checkpoint)}",
            )
        elif checkpoints and checkpoint not in checkpoints:
            self.problem(
                item.line_of("checkpoint"),
                f"{prefix}checkpoint",
                f"checkpoint {checkpoint} is not declared under 'checkpoints' "
                f"(declared: {_listing(checkpoints)})",
            )
        qtype = item.get("type")
        if qtype not in _TYPES:
            self.problem(
                item.line_of("type"),
                f"{prefix}type",
                f"expected one of: {_listing(_TYPES)}, got {_describe(qtype)}",
            )
            qtype = None
        prompt = self.text(item, "prompt", prefix)
        answer = self.text(item, "answer", prefix, why="the correct answer, as a string")
        explanation = self.text(item, "explanation", prefix, why="shown after a correct answer")
        accept = self.accept(item, prefix)
        options = self.options(item, prefix, required=qtype == QuestionType.MCQ)
        needs_code = qtype not in (None, QuestionType.MCQ)
        code = self.text(item, "code", prefix, required=needs_code, why=f"required for {qtype}")
        trace = self.trace(item, prefix, qtype, code, answer)
        if len(self.problems) > before:
            return None
        return Question(
            id=str(qid),
            checkpoint=int(checkpoint),  # type: ignore[arg-type]
            type=QuestionType(qtype),
            prompt=str(prompt),
            answer=str(answer),
            explanation=str(explanation),
            options=options,
            accept=accept,
            code=code,
            trace=trace,
            line=item.line,
            field_lines={str(k): v for k, v in item.key_lines.items()},
            code_line=item.value_lines.get("code"),
        )

    def accept(self, item: LineDict, prefix: str) -> tuple[str, ...]:
        raw = item.get("accept")
        values = [] if raw is None else raw if isinstance(raw, LineList) else [raw]
        result = []
        for value in values:
            text = _as_text(value)
            if text is None:
                self.problem(
                    item.line_of("accept"),
                    f"{prefix}accept",
                    f"expected a list of strings, found {_describe(value)}",
                )
            else:
                result.append(text)
        return tuple(result)

    def options(self, item: LineDict, prefix: str, *, required: bool) -> tuple[Option, ...]:
        raw, where = item.get("options"), f"{prefix}options"
        if raw is None and not required:
            return ()
        if not isinstance(raw, LineList) or len(raw) < 2:
            self.problem(
                item.line_of("options"),
                where,
                f"expected a list of at least 2 options, got {_describe(raw)}",
            )
            return ()
        result: list[Option] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw):
            option = self.option(entry, f"{where}[{index}]", raw.line_of(index))
            if option is None:
                continue
            key = " ".join(option.text.split())
            if key in seen:
                self.problem(raw.line_of(index), f"{where}[{index}]", f"duplicate option {key!r}")
            seen.add(key)
            result.append(option)
        return tuple(result)

    def option(self, entry: Any, where: str, line: int) -> Option | None:
        text = _as_text(entry)
        if text is not None:
            if text.strip():
                return Option(text)
            self.problem(line, where, "option text is empty")
            return None
        if not isinstance(entry, LineDict):
            expected = "expected a string or a mapping {text, explanation}"
            self.problem(line, where, f"{expected}, got {_describe(entry)}")
            return None
        self.unknown_keys(entry, _OPTION_KEYS, f"{where}.")
        text = self.text(entry, "text", f"{where}.")
        explanation = self.text(entry, "explanation", f"{where}.", required=False)
        return None if text is None else Option(text, explanation)

    def trace(
        self,
        item: LineDict,
        prefix: str,
        qtype: QuestionType | None,
        code: str | None,
        answer: str | None,
    ) -> Trace | None:
        raw, where = item.get("trace"), f"{prefix}trace"
        if qtype != QuestionType.CODE_TRACE:
            if raw is not None and qtype is not None:
                self.problem(item.line_of("trace"), where, "only code-trace questions have 'trace'")
            return None
        if not isinstance(raw, LineDict):
            expected = "expected a mapping with 'line' and 'variable' or 'hits: true'"
            self.problem(item.line_of("trace"), where, f"{expected}, got {_describe(raw)}")
            return None
        before = len(self.problems)
        self.unknown_keys(raw, _TRACE_KEYS, f"{where}.")

        def bad(key: str, message: str) -> None:
            self.problem(raw.line_of(key), f"{where}.{key}", message)

        line = raw.get("line")
        n_lines = len(code.splitlines()) if code else 0
        if not _is_count(line):
            bad("line", f"expected a line number >= 1, got {_describe(line)}")
        elif code is not None and line > n_lines:
            bad("line", f"line {line} is past the end of 'code' ({n_lines} lines)")
        variable, hits = raw.get("variable"), raw.get("hits", False)
        occurrence = raw.get("occurrence", "last")
        if not isinstance(hits, bool):
            bad("hits", f"expected true, got {_describe(hits)}")
        elif hits and "variable" in raw:
            bad("hits", "give either 'variable' or 'hits: true', not both")
        elif hits and "occurrence" in raw:
            bad("occurrence", "'occurrence' goes with 'variable', not with 'hits'")
        elif hits and answer is not None and not answer.strip().isdigit():
            self.problem(
                item.line_of("answer"),
                f"{prefix}answer",
                f"with 'hits: true' the answer is a count, got {answer!r}",
            )
        elif not hits and not (isinstance(variable, str) and variable.isidentifier()):
            bad("variable", f"expected a variable name (or hits: true), got {_describe(variable)}")
        if occurrence not in ("first", "last") and not _is_count(occurrence):
            bad("occurrence", f"expected first, last or a number >= 1, got {_describe(occurrence)}")
        if len(self.problems) > before:
            return None
        return Trace(line=line, variable=variable, occurrence=occurrence, hits=hits)


def load_quiz(path: str | Path) -> Quiz:
    """Load and validate one quiz file; every problem is reported in one :class:`QuizError`."""
    path = Path(path)
    return _Validator(path).run(load_yaml(path))
