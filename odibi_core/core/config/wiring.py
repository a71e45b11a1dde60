"""Data-map wiring rules shared by the config validator and the DAG planner.

Every step has a unique name, every data-map key has exactly one writer, every key a step
reads is written by some step or is external, and no step reads what it writes. These
rules know nothing of layers, types or engines.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .step import Step

__all__ = ["data_map_problems", "step_label", "type_name", "wiring_problems"]


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


def quoted(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"


def suggest(value: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(allowed), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def step_label(index: int, step: Step) -> str:
    name = getattr(step, "name", None)
    if isinstance(name, str) and name.strip():
        return f"step '{name}'"
    return f"step #{index} (name {name!r})"


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


def data_map_problems(steps: Sequence[Step], labels: list[str], external: frozenset[str]) -> list[str]:
    problems = []
    writers: dict[str, list[str]] = {}
    reads: list[tuple[str, str, str, dict[str, str]]] = []
    for step, label in zip(steps, labels, strict=True):
        outputs = _data_keys(step.outputs, "outputs", label, problems)
        inputs = _data_keys(step.inputs, "inputs", label, problems)
        by_key: dict[str, list[str]] = {}
        for logical, key in outputs.items():
            by_key.setdefault(key, []).append(logical)
        for key, logicals in by_key.items():
            writers.setdefault(key, []).append(label)
            if len(logicals) > 1:
                problems.append(f"{label} writes '{key}' under {len(logicals)} output names"
                                f" ({quoted(repr(name) for name in logicals)}); each output"
                                " needs its own data-map key")
        for logical, key in inputs.items():
            if key in by_key:
                problems.append(f"{label} reads '{key}' (input '{logical}'), which it writes"
                                f" itself (output {quoted(repr(n) for n in by_key[key])})")
            reads.append((label, logical, key, outputs))
    for key, labels_ in writers.items():
        if len(labels_) > 1:
            problems.append(f"output '{key}' is written by {len(labels_)} steps:"
                            f" {', '.join(sorted(labels_))} (each output needs exactly one"
                            " writer; the last one would silently win)")
    for label, logical, key, _ in reads:
        if key not in writers and key not in external:
            external = f"; external keys: {quoted(external)}" if external else ""
            problems.append(f"{label} reads '{key}' (input '{logical}'), which no step writes"
                            f" and is not external; written keys: {quoted(writers)}{external}"
                            f"{suggest(key, [*writers, *external])}")
    return problems


def _data_keys(mapping: Any, field: str, label: str, problems: list[str]) -> dict[str, str]:
    """The str -> str entries of an inputs/outputs mapping; records the rest as problems."""
    if type(mapping) is dict:  # the common case, checked without copying (read, never changed)
        for logical, key in mapping.items():
            if type(logical) is not str or type(key) is not str or not key:
                break
        else:
            return mapping
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


def wiring_problems(steps: Sequence[Step], external: Iterable[str] = ()) -> list[str]:
    """Every naming and wiring problem of ``steps``, sorted; empty when they wire up."""
    labels = [step_label(index, step) for index, step in enumerate(steps, start=1)]
    problems = _name_problems(steps, labels)
    problems += data_map_problems(steps, labels, frozenset(external))
    return sorted(problems)
