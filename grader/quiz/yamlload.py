"""Strict YAML loading for quiz files.

A :class:`StrictLoader` is PyYAML's safe loader with three changes: duplicate
mapping keys are an error, plain scalars resolve by the YAML 1.2 core schema
(so ``on``, ``yes`` and ``no`` stay strings and ``010`` is ten), and mappings and
sequences remember the lines they came from so the schema can cite ``file:line``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ..errors import QuizError

__all__ = ["LineDict", "LineList", "StrictLoader", "load_yaml", "load_yaml_text"]

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"

_DIGITS = "-+0123456789"


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping from YAML that knows where it came from.

    Attributes:
        line: 1-based line where the mapping starts.
        key_lines: key -> 1-based line of that key.
        value_lines: key -> 1-based line where the value's content starts (the line
            after ``key: |`` for block scalars).
    """

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """Line of ``key`` when present, else the mapping's own line."""
        return self.key_lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    """A sequence from YAML with its start line and the line of each item."""

    def __init__(self, *args: Any, line: int = 0) -> None:
        super().__init__(*args)
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        """Line of item ``index`` when known, else the sequence's own line."""
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def _content_line(node: Any) -> int:
    line = node.start_mark.line + 1
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        return line + 1
    return line


class StrictLoader(yaml.SafeLoader):
    """Safe loader: YAML 1.2 core scalars, no duplicate keys, line-aware containers."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012
    yaml_constructors: dict[Any, Any] = {}  # noqa: RUF012

    def construct_line_dict(self, node: MappingNode) -> Iterator[LineDict]:
        data = LineDict(line=node.start_mark.line + 1)
        yield data
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            try:
                hash(key)
            except TypeError as exc:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key (a key must be a plain value)",
                    key_node.start_mark,
                ) from exc
            key_line = key_node.start_mark.line + 1
            if key in data:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first defined on line {data.key_lines[key]})",
                    key_node.start_mark,
                )
            data[key] = self.construct_object(value_node)
            data.key_lines[key] = key_line
            data.value_lines[key] = _content_line(value_node)

    def construct_line_list(self, node: SequenceNode) -> Iterator[LineList]:
        data = LineList(line=node.start_mark.line + 1)
        yield data
        if not isinstance(node, SequenceNode):
            raise ConstructorError(
                None, None, f"expected a sequence, found {node.id}", node.start_mark
            )
        for child in node.value:
            data.append(self.construct_object(child))
            data.item_lines.append(child.start_mark.line + 1)

    def _core_scalar(self, node: ScalarNode, pattern: re.Pattern[str], kind: str) -> str:
        value = str(self.construct_scalar(node))
        if not pattern.match(value):
            raise ConstructorError(None, None, f"{value!r} is not {kind}", node.start_mark)
        return value

    def construct_core_bool(self, node: ScalarNode) -> bool:
        return self._core_scalar(node, _BOOL, "a boolean").lower() == "true"

    def construct_core_int(self, node: ScalarNode) -> int:
        value = self._core_scalar(node, _INT, "an integer")
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)

    def construct_core_float(self, node: ScalarNode) -> float:
        value = self._core_scalar(node, _FLOAT, "a number").lower()
        if value.endswith(".inf"):
            return -math.inf if value.startswith("-") else math.inf
        if value == ".nan":
            return math.nan
        return float(value)

    def construct_core_null(self, node: ScalarNode) -> None:
        self._core_scalar(node, _NULL, "null")


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution); order matters:
# int is tried before float for scalars starting with a digit.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
StrictLoader.add_implicit_resolver(_NULL_TAG, _NULL, ["~", "n", "N", ""])
StrictLoader.add_implicit_resolver(_BOOL_TAG, _BOOL, list("tTfF"))
StrictLoader.add_implicit_resolver(_INT_TAG, _INT, list(_DIGITS))
StrictLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, [*_DIGITS, "."])
# Only the core schema's tags construct; any other tag (!!timestamp, !!set, !!python/...)
# is an error instead of a surprising Python object.
StrictLoader.add_constructor(_STR_TAG, yaml.SafeLoader.construct_yaml_str)
StrictLoader.add_constructor(_MAP_TAG, StrictLoader.construct_line_dict)
StrictLoader.add_constructor(_SEQ_TAG, StrictLoader.construct_line_list)
StrictLoader.add_constructor(_NULL_TAG, StrictLoader.construct_core_null)
StrictLoader.add_constructor(_BOOL_TAG, StrictLoader.construct_core_bool)
StrictLoader.add_constructor(_INT_TAG, StrictLoader.construct_core_int)
StrictLoader.add_constructor(_FLOAT_TAG, StrictLoader.construct_core_float)
StrictLoader.add_constructor(None, yaml.SafeLoader.construct_undefined)


def _quiz_error(file: str | Path, exc: yaml.MarkedYAMLError) -> QuizError:
    mark = exc.problem_mark or exc.context_mark
    message = ": ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
    if mark is None:
        return QuizError(file, message)
    return QuizError(file, f"{message} (column {mark.column + 1})", line=mark.line + 1)


def load_yaml_text(text: str, file: str | Path = "<string>") -> Any:
    """Parse one YAML document with :class:`StrictLoader`; errors become :class:`QuizError`."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise _quiz_error(file, exc) from exc
    except yaml.YAMLError as exc:
        raise QuizError(file, f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file strictly (see :func:`load_yaml_text`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QuizError(path, f"not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise QuizError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    return load_yaml_text(text, path)
