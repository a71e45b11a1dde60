"""Shared pieces of the benchmark suites: targets with PASS/FAIL and interleaved timing."""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Target", "Timings", "interleave", "medians"]


@dataclass(frozen=True)
class Target:
    """One measured number and the bound it should meet.

    ``label`` starts with what the number is (``ratio odibi/bare ...``, ``per-node ...``),
    which is what the printed line starts with too.
    """

    label: str
    value: float
    op: str  # "<=" or ">="
    limit: float
    unit: str  # "x" for ratios, " us" for microseconds
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def line(self) -> str:
        digits = 1 if self.unit.strip() == "us" else 2
        verdict = "PASS" if self.passed else "FAIL"
        limit = f"{self.limit:g}"
        text = (f"{self.label} = {self.value:.{digits}f}{self.unit}"
                f"   target {self.op} {limit}{self.unit}   {verdict}")
        return f"{text}   ({self.note})" if self.note else text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class Timings:
    """Seconds per variant, in the order they ran."""

    runs: dict[str, list[float]] = field(default_factory=dict)

    def median(self, variant: str) -> float:
        return statistics.median(self.runs[variant])


def interleave(
    variants: Mapping[str, Callable[[], float]],
    repeat: int,
    *,
    warmup: int = 1,
    indent: str = "  ",
) -> Timings:
    """Run the variants in turn (A, B, C, A, B, C, ...) ``repeat`` times after ``warmup``
    untimed rounds; each variant returns the seconds of its own timed region, so setup it does
    outside that region is not counted. The garbage collector runs before every run so one
    variant's garbage is not collected on another's clock. Prints one line per round."""
    timings = Timings({name: [] for name in variants})
    for _ in range(warmup):
        for run in variants.values():
            gc.collect()
            run()
    width = max(len(name) for name in variants)
    for n in range(1, repeat + 1):
        cells = []
        for name, run in variants.items():
            gc.collect()
            seconds = run()
            timings.runs[name].append(seconds)
            cells.append(f"{name:<{width}} {seconds * 1000:8.1f} ms")
        print(f"{indent}run {n:<2} " + "  ".join(cells), flush=True)
    return timings


def medians(timings: Timings) -> dict[str, float]:
    return {name: timings.median(name) for name in timings.runs}
