"""Loads pipeline steps from JSON, YAML or SQLite config files.

Every record is checked for shape (required fields, types, unknown fields) and all
problems are reported together in one ConfigError naming the file, the row, the step and,
for YAML, the line. ``ConfigLoader.load`` then checks the wiring with ConfigValidator.
Nothing is dropped silently: a malformed row is an error, a disabled SQLite row is
skipped with a log line.

A hostile file is a ConfigError too, found before anything expensive is built: nesting is
bounded (MAX_DEPTH), integers are bounded (MAX_INT_DIGITS), and YAML aliases may expand a
document to at most ALIAS_FACTOR times the nodes written in it plus ALIAS_ALLOWANCE (so a
kilobyte "billion laughs" file is rejected, not expanded later by ``Step.to_dict()``).

Over 400 lines: three formats (JSON, YAML with a strict duplicate-key loader, SQLite) share one
record parser, its error messages and the hostile-input bounds; a split would scatter them.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from ...errors import ConfigError
from .step import Step
from .validator import ConfigValidator
from .wiring import type_name

__all__ = ["ALIAS_ALLOWANCE", "ALIAS_FACTOR", "MAX_DEPTH", "MAX_INT_DIGITS", "ConfigLoader", "StrictYamlLoader"]

logger = logging.getLogger("odibi_core.core.config_loader")  # the logger keeps its name from before the move

REQUIRED_FIELDS = ("layer", "name", "type", "engine", "value")
MAPPING_FIELDS = ("params", "inputs", "outputs", "metadata")
FIELDS = REQUIRED_FIELDS + MAPPING_FIELDS
SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml",
            ".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite"}
TABLE = "transformation_config"
# SQLite column -> Step field, in the order the columns are documented.
COLUMNS = {"Layer": "layer", "StepName": "name", "StepType": "type", "Engine": "engine",
           "Value": "value", "Params": "params", "Inputs": "inputs", "Outputs": "outputs",
           "Metadata": "metadata"}
ORDER_COLUMN = "execution_order"
ENABLED_COLUMN = "enabled"

#: levels of lists and mappings a config may nest (the list of steps is level 1)
MAX_DEPTH = 100
#: digits an integer may have (Python's own default limit for converting int and str)
MAX_INT_DIGITS = 4300
#: YAML aliases may expand a document to ALIAS_FACTOR x its written nodes + ALIAS_ALLOWANCE
ALIAS_FACTOR = 10
ALIAS_ALLOWANCE = 10_000

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and keeps YAML 1.1 words as strings.

    Only ``true``/``false`` (any case style of YAML 1.2) are booleans, so ``on``, ``yes``
    and ``no`` stay strings; dates stay strings too, so YAML and JSON configs give equal
    steps; numbers that YAML 1.1 would read as octal (``010``) or base 60 (``1:20``) stay
    strings as well.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's class-level resolver table
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag not in (_BOOL_TAG, _TIMESTAMP_TAG, _INT_TAG)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base class reports it with its mark
                if first is not None:
                    raise ConstructorError("while constructing a mapping", node.start_mark,
                                           f"found duplicate key {key!r} (first on line {first})",
                                           key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    _depth = 0  # collections open while composing
    #: whether the document uses an alias (only then can it expand beyond what is written)
    aliased = False

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            self.aliased = True
        return super().compose_node(parent, index)

    def construct_document(self, node: Node) -> Any:
        if self.aliased:
            _check_expansion(node)  # before construction builds what the aliases share
        return super().construct_document(node)

    def compose_sequence_node(self, anchor: str | None) -> Node:
        with self._nested():
            return super().compose_sequence_node(anchor)

    def compose_mapping_node(self, anchor: str | None) -> Node:
        with self._nested():
            return super().compose_mapping_node(anchor)

    @contextmanager
    def _nested(self) -> Iterator[None]:
        """Count one more level of nesting; past MAX_DEPTH the composer would only recurse."""
        if self._depth >= MAX_DEPTH:
            raise _BoundError(None, None, f"nesting deeper than {MAX_DEPTH} levels; expected at"
                              f" most {MAX_DEPTH} levels of lists and mappings",
                              self.peek_event().start_mark)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = node.value.lstrip("+-").replace("_", "")
        prefixed = digits[:2].lower() in ("0x", "0o", "0b")
        if len(digits) <= MAX_INT_DIGITS + 2 * prefixed:
            value = super().construct_yaml_int(node)
            if abs(value) < _INT_LIMIT:
                return value
        raise _BoundError(None, None, f"an integer of more than {MAX_INT_DIGITS} decimal digits"
                          f" (written in {len(node.value):,} characters); expected at most"
                          f" {MAX_INT_DIGITS} digits", node.start_mark)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # a tag forced on text it cannot convert, e.g. ``!!int abc`` or ``!!bool maybe``
            raise ConstructorError(None, None, f"cannot read {node.value!r} as {node.tag}"
                                   f" ({type(exc).__name__}: {exc})", node.start_mark) from exc


StrictYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
StrictYamlLoader.add_constructor(_INT_TAG, StrictYamlLoader.construct_yaml_int)
# no YAML 1.1 octal or sexagesimal: 010 and 1:20 stay text (codes, times), 0o10 and 0x1f are ints
StrictYamlLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))


@dataclass(frozen=True)
class _Problem:
    """One malformed record or row, located as precisely as the format allows."""

    message: str
    row: int | None = None
    step: str | None = None
    line: int | None = None

    def error(self, source: str) -> ConfigError:
        return ConfigError(source, self.message, row=self.row, step=self.step, line=self.line)


@dataclass(frozen=True)
class _Lines:
    """Where a YAML list item starts and where each of its keys is."""

    item: int
    keys: dict[str, int]

    def of(self, field: str | None) -> int:
        return self.item if field is None else self.keys.get(field, self.item)


_Found = tuple[str | None, str]  # (field the problem is in, or None for the record; message)


class _DuplicateKeyError(ValueError):
    """A JSON object repeats a key (json would silently keep the last one)."""


class _BoundError(yaml.MarkedYAMLError):
    """A YAML document is valid but beyond the loader's bounds (depth, integer size, aliases)."""


def _raise_problems(source: str, problems: Sequence[_Problem]) -> NoReturn:
    if len(problems) == 1:
        raise problems[0].error(source)
    listed = "\n  ".join(str(problem.error(source)) for problem in problems)
    raise ConfigError(source, f"{len(problems)} problems in the records:\n  {listed}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _check_record(record: Any, label: dict[str, str]) -> tuple[dict[str, Any], list[_Found]]:
    """The record's Step fields and its problems as (field or None, message)."""
    if not isinstance(record, Mapping):
        return {}, [(None, f"expected a mapping with fields {', '.join(FIELDS)},"
                           f" got {type_name(record)}")]
    problems: list[_Found] = []
    unknown = [key for key in record if key not in FIELDS]
    problems += [(str(key), f"unknown field {str(key)!r}; allowed fields: {', '.join(FIELDS)}")
                 for key in unknown]
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        problems.append((None, "missing required field(s): "
                               + ", ".join(repr(name) for name in missing)))
    fields: dict[str, Any] = {}
    for name in REQUIRED_FIELDS:
        if name in record and not isinstance(record[name], str):
            problems.append((name, f"{label[name]}: expected a string,"
                                   f" got {type_name(record[name])}"))
        fields[name] = record.get(name)
    for name in MAPPING_FIELDS:
        value = record.get(name)
        fields[name] = {} if value is None else value
        problems += [(name, message) for message in _mapping_problems(name, fields[name], label)]
    return fields, problems


def _mapping_problems(name: str, value: Any, label: dict[str, str]) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{label[name]}: expected a mapping, got {type_name(value)}"]
    problems = [f"{label[name]}: keys must be strings, got {type_name(key)} {key!r}"
                for key in value if not isinstance(key, str)]
    if name in ("inputs", "outputs"):
        problems += [f"{label[name]}[{key!r}]: expected a non-empty data-map key string,"
                     f" got {type_name(target)} {target!r}"
                     for key, target in value.items() if not isinstance(target, str) or not target]
    return problems


def _step(fields: Mapping[str, Any]) -> Step:
    data = dict(fields)
    for name in MAPPING_FIELDS:
        data[name] = dict(data[name])
    return Step.from_dict(data)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the file: {exc.strerror or exc}") from exc


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class ConfigLoader:
    """Reads steps from a config file (JSON, YAML or SQLite) into a list of Step."""

    def load(self, path: str | Path, *, validate: bool = True,
             external: Iterable[str] = ()) -> list[Step]:
        """Load steps by file suffix; with ``validate``, also check the wiring.

        Args:
            path: a .json, .yaml/.yml or .db/.sqlite/.sqlite3 file.
            validate: run ConfigValidator on the steps (raises ValidationError).
            external: data-map keys provided from outside the pipeline.
        """
        path = Path(path)
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise ConfigError(str(path), f"unsupported file type {path.suffix or '(none)'!r};"
                                         f" expected one of {', '.join(sorted(SUFFIXES))}")
        readers = {"json": self.load_json, "yaml": self.load_yaml, "sqlite": self.load_sqlite}
        steps = readers[kind](path)
        if validate:
            ConfigValidator(external=external).validate(steps, source=str(path))
        logger.info("loaded %d step(s) from %s", len(steps), path)
        return steps

    def load_json(self, path: str | Path) -> list[Step]:
        """Steps from a JSON list of step objects (or ``{"steps": [...]}``); shape-checked only."""
        path = Path(path)
        text = _read_text(path)
        _check_json_bounds(text, str(path))
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise ConfigError(str(path), f"not valid JSON: {exc.msg} (column {exc.colno})",
                              line=exc.lineno) from exc
        except _DuplicateKeyError as exc:
            raise ConfigError(str(path), f"{exc}; each key may appear once") from exc
        return self._from_data(data, str(path))

    def load_yaml(self, path: str | Path) -> list[Step]:
        """Steps from a YAML list of step mappings (or ``steps: [...]``); shape-checked only."""
        path = Path(path)
        text = _read_text(path)
        loader: StrictYamlLoader | None = None
        try:
            loader = StrictYamlLoader(text)  # checks for unprintable characters at once
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = ": ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
            line = None if mark is None else mark.line + 1
            column = "" if mark is None else f" (column {mark.column + 1})"
            prefix = "" if isinstance(exc, _BoundError) else "not valid YAML: "
            raise ConfigError(str(path), f"{prefix}{message}{column}", line=line) from exc
        except ReaderError as exc:
            line, column = _line_column(text, exc.position)
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise ConfigError(str(path), f"not valid YAML: character U+{code:04X} (column"
                                         f" {column}): {exc.reason}", line=line) from exc
        except yaml.YAMLError as exc:
            raise ConfigError(str(path), f"not valid YAML: {exc}") from exc
        finally:
            if loader is not None:
                loader.dispose()
        return self._from_data(data, str(path), _yaml_lines(node))

    def from_records(self, records: Iterable[Mapping[str, Any]],
                     source: str = "<records>") -> list[Step]:
        """Steps from records with the Step field names (or ``{"steps": [...]}``); every
        malformed record is reported."""
        return self._from_data(records if isinstance(records, Mapping) else list(records), source)

    def load_sqlite(self, path: str | Path, table: str = TABLE) -> list[Step]:
        """Steps from a SQLite table, ordered by execution_order then rowid; shape-checked only.

        The database is opened read-only. Rows with ``enabled = 0`` are skipped and logged;
        a row error names its rowid as ``row``.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(str(path), "file not found" if not path.exists() else "not a file")
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
                columns, rows = self._read_table(conn, str(path), table)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(str(path), f"cannot read it as a SQLite database: {exc}") from exc
        return self._from_rows(columns, rows, str(path), table)

    # -- JSON / YAML ---------------------------------------------------------------
    def _from_data(self, data: Any, source: str, lines: list[_Lines] | None = None) -> list[Step]:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key != "steps")
            if unknown:
                raise ConfigError(source, f"unknown top-level key(s) {', '.join(unknown)}; expected"
                                          " a list of steps or a mapping with only 'steps'")
            if "steps" not in data:
                raise ConfigError(source, "missing top-level 'steps' list")
            data = data["steps"]
        if not isinstance(data, list):
            raise ConfigError(source, "expected a list of steps (or a mapping with a 'steps'"
                                      f" list), got {type_name(data)}")
        return self._from_records(data, source, lines)

    def _from_records(self, records: list[Any], source: str,
                      lines: list[_Lines] | None = None) -> list[Step]:
        label = {name: f"field '{name}'" for name in FIELDS}
        problems: list[_Problem] = []
        steps: list[Step] = []
        for row, record in enumerate(records, start=1):
            fields, found = _check_record(record, label)
            name = fields.get("name")
            step = name if isinstance(name, str) else None
            where = lines[row - 1] if lines is not None and row <= len(lines) else None
            problems += [_Problem(message, row, step, None if where is None else where.of(field))
                         for field, message in found]
            if not found:
                steps.append(_step(fields))
        if problems:
            _raise_problems(source, problems)
        return steps

    # -- SQLite ---------------------------------------------------------------------
    @staticmethod
    def _read_table(conn: sqlite3.Connection, source: str,
                    table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The table's documented columns (as spelled in the file) and its rows, rowid first."""
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]
        found = [name for name in tables if name.lower() == table.lower()]
        if not found:
            raise ConfigError(source, f"no table {table!r}; tables in the file:"
                                      f" {', '.join(tables) or 'none'}")
        info = conn.execute(f"PRAGMA table_info({_quote(found[0])})").fetchall()
        existing = {row[1].lower(): row[1] for row in info}
        wanted = [*COLUMNS, ORDER_COLUMN]
        missing = [column for column in wanted if column.lower() not in existing]
        if missing:
            raise ConfigError(source, f"table {found[0]!r} is missing column(s)"
                                      f" {', '.join(missing)}; it has:"
                                      f" {', '.join(existing.values())}; expected:"
                                      f" {', '.join(wanted)} and optional {ENABLED_COLUMN}")
        if ENABLED_COLUMN in existing:
            wanted.append(ENABLED_COLUMN)
        columns = [existing[column.lower()] for column in wanted]
        ignored = sorted(set(existing.values()) - set(columns))
        if ignored:
            logger.debug("%s: ignoring column(s) %s of %s", source, ignored, found[0])
        select = f"{', '.join(_quote(column) for column in columns)} FROM {_quote(found[0])}"
        try:
            rows = conn.execute(f"SELECT rowid, {select} ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:  # WITHOUT ROWID table or view: number rows by position
            plain = conn.execute(f"SELECT {select}").fetchall()
            rows = [(index, *row) for index, row in enumerate(plain, start=1)]
        return wanted, rows

    def _from_rows(self, columns: list[str], rows: list[tuple[Any, ...]], source: str,
                   table: str) -> list[Step]:
        label = {field: f"column '{column}'" for column, field in COLUMNS.items()}
        problems: list[_Problem] = []
        ordered: list[tuple[int, int, Step]] = []
        skipped: list[str] = []
        for rowid, *values in rows:
            row = dict(zip(columns, values, strict=True))
            name = row["StepName"]
            enabled = row.get(ENABLED_COLUMN, 1)
            if type(enabled) is int and enabled == 0:  # disabled rows are not parsed at all
                skipped.append(f"{rowid}:{name}")
                continue
            found = _switch_problems(row)
            record = {field: row[column] for column, field in COLUMNS.items()}
            for column, field in COLUMNS.items():
                if field in MAPPING_FIELDS:
                    record[field], error = _json_cell(column, row[column])
                    found += [error] if error else []
            fields, record_problems = _check_record(record, label)
            found += [message for _, message in record_problems]
            if found:
                step = name if isinstance(name, str) else None
                problems += [_Problem(message, rowid, step) for message in found]
            else:
                ordered.append((row[ORDER_COLUMN], rowid, _step(fields)))
        if skipped:
            logger.info("%s: skipped %d disabled row(s) of %s (rowid:StepName): %s",
                        source, len(skipped), table, ", ".join(skipped))
        if problems:
            _raise_problems(source, problems)
        return [step for _, _, step in sorted(ordered, key=lambda item: item[:2])]


def _switch_problems(row: Mapping[str, Any]) -> list[str]:
    """Problems with the execution_order and enabled cells of one SQLite row."""
    problems = []
    order = row[ORDER_COLUMN]
    if type(order) is not int:
        problems.append(f"column '{ORDER_COLUMN}': expected an integer, got"
                        f" {_cell_name(order)} {order!r}")
    if ENABLED_COLUMN in row:
        enabled = row[ENABLED_COLUMN]
        if type(enabled) is not int or enabled not in (0, 1):
            problems.append(f"column '{ENABLED_COLUMN}': expected the integer 0 or 1, got"
                            f" {_cell_name(enabled)} {enabled!r}")
    return problems


def _json_cell(column: str, value: Any) -> tuple[Any, str | None]:
    """Decode a JSON text cell; NULL or blank is an empty mapping."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}, None
    if not isinstance(value, str):
        return {}, (f"column '{column}': expected JSON object text,"
                    f" got {_cell_name(value)} {value!r}")
    beyond = _json_beyond_bounds(value)
    if beyond is not None:
        position, problem = beyond
        return {}, f"column '{column}': {problem} (at character {position + 1})"
    try:
        return json.loads(value, object_pairs_hook=_no_duplicates), None
    except json.JSONDecodeError as exc:
        return {}, (f"column '{column}': expected JSON object text, NULL or '', got invalid JSON"
                    f" ({exc.msg} at character {exc.pos + 1}): {value!r}")
    except _DuplicateKeyError as exc:
        return {}, f"column '{column}': {exc}; each key may appear once"


def _cell_name(value: Any) -> str:
    """SQLite's name for the storage class of a cell value."""
    names = {type(None): "NULL", int: "integer", float: "real", str: "text", bytes: "blob"}
    return names.get(type(value), type(value).__name__)


def _yaml_lines(node: Node | None) -> list[_Lines] | None:
    """The line of each step item (and of each of its keys) in a composed YAML document."""
    if isinstance(node, MappingNode):
        node = next((value for key, value in node.value
                     if isinstance(key, ScalarNode) and key.value == "steps"), None)
    if not isinstance(node, SequenceNode):
        return None
    lines = []
    for item in node.value:
        keys = {}
        if isinstance(item, MappingNode):
            keys = {key.value: key.start_mark.line + 1 for key, _ in item.value
                    if isinstance(key, ScalarNode)}
        lines.append(_Lines(item.start_mark.line + 1, keys))
    return lines


# -- bounds ---------------------------------------------------------------------------

_INT_LIMIT = 10 ** MAX_INT_DIGITS
# what matters for the bounds in JSON text: strings (skipped whole, so brackets and digits in
# them do not count; an unterminated one runs to the end), brackets, and integers longer than
# MAX_INT_DIGITS (not fractions or exponents)
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]'
                          rf"|(?<![\d.eE+-])-?\d{{{MAX_INT_DIGITS + 1},}}(?![\d.eE])")


def _json_beyond_bounds(text: str) -> tuple[int, str] | None:
    """(position, problem) of the first place JSON ``text`` nests deeper than MAX_DEPTH or
    holds an integer longer than MAX_INT_DIGITS; None when it stays within both."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return match.start(), (f"nesting deeper than {MAX_DEPTH} levels; expected at most"
                                       f" {MAX_DEPTH} levels of lists and objects")
        elif token in "]}":
            depth -= 1
        elif token[0] != '"':
            digits = len(token.lstrip("-"))
            return match.start(), (f"an integer of {digits} digits; expected at most"
                                   f" {MAX_INT_DIGITS} digits")
    return None


def _check_json_bounds(text: str, source: str) -> None:
    beyond = _json_beyond_bounds(text)
    if beyond is not None:
        position, problem = beyond
        line, column = _line_column(text, position)
        raise ConfigError(source, f"{problem} (column {column})", line=line)


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character position in ``text``."""
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: Node) -> None:
    """Raise _BoundError when aliases make the document, once expanded, larger than the
    bound, deeper than MAX_DEPTH, or recursive. The composed graph shares aliased nodes, so
    this walks each node once; the sizes it adds up are what construction would build."""
    written: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) not in written:
            written.add(id(node))
            pending += _children(node)
    budget = ALIAS_FACTOR * len(written) + ALIAS_ALLOWANCE
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = (isinstance(node, SequenceNode | MappingNode)
                          + max((depth[id(child)] for child in children), default=0))
            if size[key] > budget:
                raise _BoundError(None, None, f"YAML aliases expand this to more than {budget:,}"
                                  f" nodes ({len(written):,} written); expected at most"
                                  f" {ALIAS_FACTOR} x the nodes written + {ALIAS_ALLOWANCE:,}"
                                  " (an alias bomb?)", node.start_mark)
            if depth[key] > MAX_DEPTH:
                raise _BoundError(None, None, f"YAML aliases nest this deeper than {MAX_DEPTH}"
                                  f" levels; expected at most {MAX_DEPTH} levels of lists and"
                                  " mappings", node.start_mark)
        elif key in on_path:
            raise _BoundError(None, None, "a YAML alias refers to a collection it is inside of;"
                              " expected a tree (recursive structures cannot be steps)",
                              node.start_mark)
        elif key not in size:
            on_path.add(key)
            stack.append((node, True))
            stack += [(child, False) for child in _children(node)]
