"""Retry policy: which failures are worth another attempt, and how long to wait before it.

``max_retries`` counts retries AFTER the first attempt, so a node runs at most
``max_retries + 1`` times. The wait before retry ``n`` (n = 1, 2, ...) is::

    nominal_n = min(max_delay, retry_delay * backoff ** (n - 1))

with the exponent clamped before the power (so ``n = 10_000`` gives ``max_delay``, never an
OverflowError, the bug Airflow once had), then jitter is applied (see :class:`Jitter`).

Only transient errors are retried: by default ``ConnectionError``, ``TimeoutError`` and
:class:`odibi_core.errors.RetryableError`, found anywhere in the exception's ``__cause__`` /
``__context__`` chain (a node may wrap the original error). A missing file, a bad value or key,
a config problem or a SQL error fails the same way every time; retrying it only wastes time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from ...errors import RetryableError

__all__ = ["DEFAULT_RETRYABLE", "Jitter", "RetryPolicy", "exception_chain"]

#: the error types retried by default (transient by nature)
DEFAULT_RETRYABLE: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, RetryableError)

RetryOn = tuple[type[BaseException], ...] | Callable[[BaseException], bool]


class Jitter(StrEnum):
    """How a nominal delay ``d`` is randomised, so parallel retries do not fire in lockstep.

    NONE: exactly ``d``. FULL: uniform in ``[0, d]``. EQUAL: uniform in ``[d/2, d]`` (never less
    than half the nominal wait, so backoff still backs off). RELATIVE: uniform in
    ``[d * (1 - jitter_factor), min(max_delay, d * (1 + jitter_factor))]``.
    """

    NONE = "none"
    FULL = "full"
    EQUAL = "equal"
    RELATIVE = "relative"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it wraps, each once: ``__cause__`` (``raise ... from``), else
    ``__context__`` unless suppressed (``raise ... from None``), as tracebacks show it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        else:
            current = None if current.__suppress_context__ else current.__context__


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often a failed node is run again.

    Args:
        max_retries: retries after the first attempt; total attempts = ``max_retries + 1``
            (0 means no retry).
        retry_delay: the base wait in seconds, before the first retry.
        backoff: multiplier per further retry (1 keeps the delay constant).
        max_delay: cap on the nominal wait, in seconds.
        jitter: a :class:`Jitter` mode (or its string value).
        jitter_factor: the ± fraction of :attr:`Jitter.RELATIVE` (0 to 1).
        retry_on: the retryable error types (a tuple), or a predicate taking an exception. Both
            are checked against every exception of the chain (see :func:`exception_chain`).
    """

    max_retries: int = 2
    retry_delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 60.0
    jitter: Jitter = Jitter.EQUAL
    jitter_factor: float = 0.1
    retry_on: RetryOn = field(default=DEFAULT_RETRYABLE)

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0 (retries after the first attempt),"
                             f" got {self.max_retries!r}")
        for name in ("retry_delay", "max_delay"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0 or math.isnan(value) or math.isinf(value):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        if not _is_number(self.backoff) or not 1 <= self.backoff < math.inf:
            raise ValueError(f"backoff must be a finite number >= 1, got {self.backoff!r}")
        if not _is_number(self.jitter_factor) or not 0 <= self.jitter_factor <= 1:
            raise ValueError(f"jitter_factor must be between 0 and 1, got {self.jitter_factor!r}")
        try:
            object.__setattr__(self, "jitter", Jitter(self.jitter))
        except ValueError:
            raise ValueError(f"jitter must be one of {[j.value for j in Jitter]},"
                             f" got {self.jitter!r}") from None
        retry_on: Any = self.retry_on
        if isinstance(retry_on, type) and issubclass(retry_on, BaseException):
            retry_on = (retry_on,)  # a class is callable too; never treat it as a predicate
        if isinstance(retry_on, list):
            retry_on = tuple(retry_on)
        if isinstance(retry_on, tuple):
            bad = [t for t in retry_on if not (isinstance(t, type) and issubclass(t, BaseException))]
            if bad:
                raise ValueError(f"retry_on must hold exception types, got {bad!r}")
        elif not callable(retry_on):
            raise ValueError(f"retry_on must be a tuple of exception types or a predicate,"
                             f" got {retry_on!r}")
        object.__setattr__(self, "retry_on", retry_on)

    @property
    def max_attempts(self) -> int:
        """First attempt plus retries."""
        return self.max_retries + 1

    def with_overrides(self, *, max_retries: int | None = None,
                       retry_delay: float | None = None) -> RetryPolicy:
        """This policy with a step's own ``max_retries`` / ``retry_delay`` (None keeps ours)."""
        changes: dict[str, Any] = {}
        if max_retries is not None:
            changes["max_retries"] = max_retries
        if retry_delay is not None:
            changes["retry_delay"] = retry_delay
        return replace(self, **changes) if changes else self

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` or anything it wraps is a retryable error."""
        retry_on = self.retry_on
        if isinstance(retry_on, tuple):
            return any(isinstance(e, retry_on) for e in exception_chain(exc))
        return any(bool(retry_on(e)) for e in exception_chain(exc))

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether to retry after attempt number ``attempt`` (1-based) failed with ``exc``."""
        return attempt < self.max_attempts and self.is_retryable(exc)

    def _max_exponent(self) -> int:
        """The smallest exponent at which the nominal delay reaches ``max_delay``."""
        if self.backoff == 1 or self.retry_delay <= 0 or self.max_delay <= self.retry_delay:
            return 0
        return math.ceil(math.log(self.max_delay / self.retry_delay, self.backoff)) + 1

    def nominal_delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1-based), before jitter."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        exponent = min(retry - 1, self._max_exponent())  # clamp BEFORE the power
        return float(min(self.max_delay, self.retry_delay * self.backoff ** exponent))

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait in seconds before retry number ``retry`` (1-based), jitter applied.

        ``rng`` draws the jitter (a seeded ``random.Random`` makes it reproducible)."""
        nominal = self.nominal_delay(retry)
        if self.jitter is Jitter.NONE or nominal == 0:
            return nominal
        draw = (rng or random).random()
        if self.jitter is Jitter.FULL:
            return nominal * draw
        if self.jitter is Jitter.EQUAL:
            return nominal / 2 + nominal / 2 * draw
        low = nominal * (1 - self.jitter_factor)
        high = min(self.max_delay, nominal * (1 + self.jitter_factor))
        return low + (high - low) * draw

    def delay_bounds(self, retry: int) -> tuple[float, float]:
        """The (lowest, highest) wait :meth:`delay` can return for retry ``retry``."""
        nominal = self.nominal_delay(retry)
        if self.jitter is Jitter.NONE:
            return nominal, nominal
        if self.jitter is Jitter.FULL:
            return 0.0, nominal
        if self.jitter is Jitter.EQUAL:
            return nominal / 2, nominal
        return nominal * (1 - self.jitter_factor), min(self.max_delay, nominal * (1 + self.jitter_factor))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
