"""Checks that a list of steps can form a pipeline, reporting every problem at once.

Wiring rules follow SEMANTICS.md: every data-map key has exactly one writer, every key a
step reads is written by some step or is external, and no step reads what it writes.
Vocabulary rules: layer, type and engine are known and some registered node type runs
each (layer, type). Cycles are left to the DAG planner, which names them in order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..nodes.registry import known_kinds
from .step import ENGINES, LAYER_ALIASES, LAYERS, STEP_TYPES, TYPE_ALIASES, Step

__all__ = ["ConfigValidator"]


def type_name(value: Any) -> str:
    """A config-friendly name for the type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"


def _suggest(value: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(allowed), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class ConfigValidator:
    """Validates steps before planning.

    Args:
        external: data-map keys provided from outside the pipeline (no step writes them).
        engines: engine names allowed; defaults to ``ENGINES``.
    """

    def __init__(self, *, external: Iterable[str] = (),
                 engines: Iterable[str] | None = None) -> None:
        self.external = frozenset(external)
        self.engines = tuple(sorted(ENGINES if engines is None else set(engines)))

    def validate(self, steps: Sequence[Step], *, source: str | None = None) -> None:
        """Raise ValidationError listing every problem (sorted) when there is any."""
        problems = self.problems(steps)
        if problems:
            raise ValidationError(problems, source=None if source is None else str(source))

    def problems(self, steps: Sequence[Step]) -> list[str]:
        """Every problem in ``steps``, sorted; empty when they can form a pipeline."""
        labels = [self._label(index, step) for index, step in enumerate(steps, start=1)]
        problems: list[str] = []
        problems += self._name_problems(steps, labels)
        problems += self._vocabulary_problems(steps, labels)
        problems += self._wiring_problems(steps, labels)
        return sorted(problems)

    @staticmethod
    def _label(index: int, step: Step) -> str:
        name = getattr(step, "name", None)
        if isinstance(name, str) and name.strip():
            return f"step '{name}'"
        return f"step #{index} (name {name!r})"

    @staticmethod
    def _name_problems(steps: Sequence[Step], labels: list[str]) -> list[str]:
        problems = []
        counts: dict[str, int] = {}
        for step, label in zip(steps, labels, strict=True):
            if not isinstance(step.name, str):
                problems.append(f"{label}: name must be a string, got {type_name(step.name)}")
            elif not step.name.strip():
                problems.append(f"{label}: name is empty; every step needs a unique name")
            else:
                counts[step.name] = counts.get(step.name, 0) + 1
        problems += [f"step name '{name}' is used {count} times (names must be unique)"
                     for name, count in counts.items() if count > 1]
        return problems

    def _vocabulary_problems(self, steps: Sequence[Step], labels: list[str]) -> list[str]:
        kinds = known_kinds()
        layers = {*LAYERS, *(layer for layer, _ in kinds)}
        types = {*STEP_TYPES, *(type_ for _, type_ in kinds)}
        problems = []
        for step, label in zip(steps, labels, strict=True):
            fields = {"layer": step.layer, "type": step.type, "engine": step.engine}
            bad = [f"{label}: {field} must be a string, got {type_name(value)}"
                   for field, value in fields.items() if not isinstance(value, str)]
            if bad:
                problems += bad
                continue
            known = True
            if step.layer not in layers and step.layer not in LAYER_ALIASES:
                known = False
                aliases = ", ".join(f"{a} -> {c}" for a, c in sorted(LAYER_ALIASES.items()))
                problems.append(f"{label}: unknown layer '{step.layer}'; expected one of"
                                f" {_quoted(layers)} (aliases: {aliases})"
                                f"{_suggest(step.layer, [*layers, *LAYER_ALIASES])}")
            if step.type not in types and step.type not in TYPE_ALIASES:
                known = False
                aliases = ", ".join(f"{a} -> {c}" for a, c in sorted(TYPE_ALIASES.items()))
                problems.append(f"{label}: unknown type '{step.type}'; expected one of"
                                f" {_quoted(types)} (aliases: {aliases})"
                                f"{_suggest(step.type, [*types, *TYPE_ALIASES])}")
            if step.engine not in self.engines:
                problems.append(f"{label}: unknown engine '{step.engine}'; expected one of"
                                f" {_quoted(self.engines)}{_suggest(step.engine, self.engines)}")
            if known and step.kind not in kinds:
                registered = ", ".join(f"{layer}/{type_}" for layer, type_ in kinds)
                problems.append(f"{label}: no node type runs layer '{step.layer}' with type"
                                f" '{step.type}'; registered layer/type pairs: {registered}")
        return problems

    def _wiring_problems(self, steps: Sequence[Step], labels: list[str]) -> list[str]:
        problems = []
        writers: dict[str, list[str]] = {}
        reads: list[tuple[str, str, str, dict[str, str]]] = []
        for step, label in zip(steps, labels, strict=True):
            outputs = self._data_keys(step.outputs, "outputs", label, problems)
            inputs = self._data_keys(step.inputs, "inputs", label, problems)
            by_key: dict[str, list[str]] = {}
            for logical, key in outputs.items():
                by_key.setdefault(key, []).append(logical)
            for key, logicals in by_key.items():
                writers.setdefault(key, []).append(label)
                if len(logicals) > 1:
                    problems.append(f"{label} writes '{key}' under {len(logicals)} output names"
                                    f" ({_quoted(repr(name) for name in logicals)}); each output"
                                    " needs its own data-map key")
            for logical, key in inputs.items():
                if key in by_key:
                    problems.append(f"{label} reads '{key}' (input '{logical}'), which it writes"
                                    f" itself (output {_quoted(repr(n) for n in by_key[key])})")
                reads.append((label, logical, key, outputs))
        for key, labels_ in writers.items():
            if len(labels_) > 1:
                problems.append(f"output '{key}' is written by {len(labels_)} steps:"
                                f" {', '.join(sorted(labels_))} (each output needs exactly one"
                                " writer; the last one would silently win)")
        for label, logical, key, _ in reads:
            if key not in writers and key not in self.external:
                external = f"; external keys: {_quoted(self.external)}" if self.external else ""
                problems.append(f"{label} reads '{key}' (input '{logical}'), which no step writes"
                                f" and is not external; written keys: {_quoted(writers)}{external}"
                                f"{_suggest(key, [*writers, *self.external])}")
        return problems

    @staticmethod
    def _data_keys(mapping: Any, field: str, label: str, problems: list[str]) -> dict[str, str]:
        """The str -> str entries of an inputs/outputs mapping; records the rest as problems."""
        if not isinstance(mapping, Mapping):
            problems.append(f"{label}: {field} must be a mapping of name -> data-map key,"
                            f" got {type_name(mapping)}")
            return {}
        good = {}
        for logical, key in mapping.items():
            if not isinstance(logical, str) or not isinstance(key, str) or not key:
                problems.append(f"{label}: {field}[{logical!r}] must map a name to a non-empty"
                                f" data-map key string, got {type_name(key)} {key!r}")
            else:
                good[logical] = key
        return good
