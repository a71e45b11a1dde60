"""Checks that a list of steps can form a pipeline, reporting every problem at once.

Wiring rules (``wiring.py``, shared with the DAG planner) follow SEMANTICS.md: every
data-map key has exactly one writer, every key a step reads is written by some step or is
external, and no step reads what it writes.
Vocabulary rules: layer, type and engine are known and some registered node type runs
each (layer, type). Cycles are left to the DAG planner, which names them in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...errors import ValidationError
from ...nodes.registry import known_kinds
from .step import ENGINES, LAYER_ALIASES, LAYERS, STEP_TYPES, TYPE_ALIASES, Step
from .wiring import quoted, step_label, suggest, type_name, wiring_problems

__all__ = ["ConfigValidator"]


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
        labels = [step_label(index, step) for index, step in enumerate(steps, start=1)]
        return sorted(self._vocabulary_problems(steps, labels) + wiring_problems(steps, self.external))

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
                                f" {quoted(layers)} (aliases: {aliases})"
                                f"{suggest(step.layer, [*layers, *LAYER_ALIASES])}")
            if step.type not in types and step.type not in TYPE_ALIASES:
                known = False
                aliases = ", ".join(f"{a} -> {c}" for a, c in sorted(TYPE_ALIASES.items()))
                problems.append(f"{label}: unknown type '{step.type}'; expected one of"
                                f" {quoted(types)} (aliases: {aliases})"
                                f"{suggest(step.type, [*types, *TYPE_ALIASES])}")
            if step.engine not in self.engines:
                problems.append(f"{label}: unknown engine '{step.engine}'; expected one of"
                                f" {quoted(self.engines)}{suggest(step.engine, self.engines)}")
            if known and step.kind not in kinds:
                registered = ", ".join(f"{layer}/{type_}" for layer, type_ in kinds)
                problems.append(f"{label}: no node type runs layer '{step.layer}' with type"
                                f" '{step.type}'; registered layer/type pairs: {registered}")
        return problems
