"""The check library: comparisons whose failures say what is wrong without giving the answer.

Every check cell of the course runs under the ``%%check`` cell magic
(:mod:`grader.magics`) and compares with these functions. A failed comparison
raises :class:`CheckFailed` with a message that puts the difference first
("missing key 'x'", "row 3, column 'revenue'") and then "expected X, got Y",
with long values elided in the middle, never before the difference. Messages
show values, never the reference solution's code.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CheckFailed",
    "Spy",
    "elide",
    "expect",
    "expect_calls",
    "expect_close",
    "expect_equal",
    "expect_frame",
    "expect_mapping",
    "expect_raises",
    "expect_sequence",
    "expect_set",
    "show",
]

VALUE_WIDTH = 160
"""Characters of one shown value before it is elided in the middle."""
MESSAGE_WIDTH = 1200
"""Characters of a whole message before it is elided in the middle."""
ROWS_SHOWN = 3
"""Differing rows (or keys) listed in a message."""
_MARK = " ... "


class CheckFailed(AssertionError):
    """A check did not hold; the message says what differs, then expected and got."""


# -- showing values -------------------------------------------------------------------------
def elide(text: str, width: int = VALUE_WIDTH, *, keep: int | None = None) -> str:
    """``text`` cut to about ``width`` characters in the middle, keeping position ``keep``
    (the first difference) in view when it is given."""
    if len(text) <= width:
        return text
    omitted = "[{} more chars]"
    budget = max(width - 2 * len(_MARK) - len(omitted.format(len(text))), 20)
    if keep is None or keep < budget * 0.6:
        head = int(budget * 0.65)
        tail = budget - head
        cut = len(text) - head - tail
        return f"{text[:head]}{_MARK}{omitted.format(cut)}{_MARK}{text[-tail:]}"
    context = max(width // 4, 10)
    head = width // 4
    start = max(head, keep - context)
    end = min(len(text), keep + context)
    middle = text[start:end]
    tail = "" if end >= len(text) else f"{_MARK}[{len(text) - end} more chars]"
    return f"{text[:head]}{_MARK}[{start - head} chars]{_MARK}{middle}{tail}"


def show(value: Any, width: int = VALUE_WIDTH, *, keep: int | None = None) -> str:
    """``repr(value)`` elided in the middle (see :func:`elide`)."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ of learner data must not hide the check
        text = f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"
    return elide(text, width, keep=keep)


def _first_difference(a: str, b: str) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _pair(expected: Any, got: Any) -> str:
    """``expected X, got Y`` with both reprs elided around their first difference."""
    exp_text, got_text = repr(expected), repr(got)
    at = _first_difference(exp_text, got_text)
    return (f"expected {elide(exp_text, keep=at)}, got {elide(got_text, keep=at)}")


def _fail(what: str, difference: str, expected: Any = None, got: Any = None, *,
          values: bool = True) -> CheckFailed:
    if values:
        difference = f"{difference}; {_pair(expected, got)}" if difference else _pair(expected, got)
    message = f"{what}: {difference}" if what else difference
    return CheckFailed(elide(message, MESSAGE_WIDTH))


def _type_name(value: Any) -> str:
    return type(value).__name__


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


# -- plain values ---------------------------------------------------------------------------
def expect(condition: Any, message: str) -> None:
    """Fail with ``message`` (which should say expected and got) unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(elide(message, MESSAGE_WIDTH))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def expect_equal(got: Any, expected: Any, *, what: str = "the result") -> None:
    """``got == expected``; mappings, sets, sequences and numbers get the specific checks."""
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        expect_mapping(got, expected, what=what)
    elif isinstance(expected, Set) and isinstance(got, Set):
        expect_set(got, expected, what=what)
    elif (isinstance(expected, list | tuple) and isinstance(got, list | tuple)):
        expect_sequence(got, expected, what=what)
    elif _is_number(expected) and _is_number(got) and isinstance(expected, float):
        expect_close(got, expected, what=what)
    elif not _equal(got, expected):
        mismatch = type(got) is not type(expected) and not (_is_number(got) and _is_number(expected))
        if mismatch and got is not None and expected is not None:
            raise _fail(what, f"expected {_a(_type_name(expected))}, got {_a(_type_name(got))}",
                        expected, got)
        raise _fail(what, "", expected, got)


def _equal(a: Any, b: Any) -> bool:
    try:
        result = a == b
        return bool(result)
    except Exception:  # e.g. frames, whose == is element-wise
        return False


def expect_close(got: Any, expected: float, *, tol: float = 1e-9, rel: float = 1e-9,
                 what: str = "the number") -> None:
    """``got`` is a number within ``tol`` (absolute) or ``rel`` (relative) of ``expected``."""
    if not _is_number(got) and not hasattr(got, "__float__"):
        raise _fail(what, f"expected a number, got a {_type_name(got)}", expected, got)
    value = float(got)
    if math.isnan(expected) and math.isnan(value):
        return
    if not math.isclose(value, expected, rel_tol=rel, abs_tol=tol):
        raise _fail(what, f"off by {value - expected:+.6g} (tolerance {max(tol, rel * abs(expected)):.2g})",
                    expected, got)


# -- collections ----------------------------------------------------------------------------
def _keys(keys: Any) -> str:
    listed = sorted(keys, key=repr)
    shown = ", ".join(show(k, 40) for k in listed[:ROWS_SHOWN * 2])
    more = f" and {len(listed) - ROWS_SHOWN * 2} more" if len(listed) > ROWS_SHOWN * 2 else ""
    return f"{shown}{more}"


def expect_mapping(got: Any, expected: Mapping[Any, Any], *, what: str = "the mapping") -> None:
    """Same keys and values: missing, extra and different keys are named first."""
    if not isinstance(got, Mapping):
        raise _fail(what, f"expected a mapping (dict), got a {_type_name(got)}", expected, got)
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    different = [k for k in expected if k in got and not _values_equal(got[k], expected[k])]
    if not (missing or extra or different):
        return
    parts = []
    if missing:
        parts.append(f"missing key{'s' if len(missing) > 1 else ''} {_keys(missing)}")
    if extra:
        parts.append(f"unexpected key{'s' if len(extra) > 1 else ''} {_keys(extra)}")
    for key in different[:ROWS_SHOWN]:
        parts.append(f"at key {show(key, 40)} {_pair(expected[key], got[key])}")
    if len(different) > ROWS_SHOWN:
        parts.append(f"{len(different) - ROWS_SHOWN} more keys differ")
    raise _fail(what, "; ".join(parts), expected, got, values=not different)


def _values_equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b) and (isinstance(a, float) or isinstance(b, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_values_equal(x, y) for x, y in zip(a, b, strict=True))
    return _equal(a, b)


def expect_set(got: Any, expected: Set[Any] | Sequence[Any], *, what: str = "the set") -> None:
    """Same members, order ignored: missing and unexpected members are named first."""
    try:
        got_set, expected_set = set(got), set(expected)
    except TypeError:
        raise _fail(what, f"expected a collection of hashable values, got a {_type_name(got)}",
                    expected, got) from None
    missing, extra = expected_set - got_set, got_set - expected_set
    if not (missing or extra):
        return
    parts = []
    if missing:
        parts.append(f"missing {_keys(missing)}")
    if extra:
        parts.append(f"unexpected {_keys(extra)}")
    raise _fail(what, "; ".join(parts), sorted(expected_set, key=repr), sorted(got_set, key=repr))


def expect_sequence(got: Any, expected: Sequence[Any], *, what: str = "the list") -> None:
    """Same items in the same order: the first differing position is named first."""
    if not isinstance(got, Sequence) or isinstance(got, str | bytes):
        raise _fail(what, f"expected a {_type_name(expected)}, got a {_type_name(got)}",
                    expected, got)
    for index, (g, e) in enumerate(zip(got, expected, strict=False)):
        if not _values_equal(g, e):
            raise _fail(what, f"first difference at position {index}: {_pair(e, g)}", expected,
                        got)
    if len(got) != len(expected):
        if len(got) < len(expected):
            difference = (f"{len(got)} items, expected {len(expected)}: missing from position"
                          f" {len(got)} on, first missing {show(expected[len(got)], 60)}")
        else:
            difference = (f"{len(got)} items, expected {len(expected)}: unexpected from position"
                          f" {len(expected)} on, first {show(got[len(expected)], 60)}")
        raise _fail(what, difference, expected, got)


# -- frames -------------------------------------------------------------------------------------
def _as_pandas(frame: Any) -> Any:
    """A pandas frame from a pandas or Spark frame (duck-typed: no engine import here)."""
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "toPandas"):
        return frame.toPandas()
    return None


def _cell_text(value: Any) -> str:
    item = getattr(value, "item", None)  # numpy scalars show as plain Python values
    if callable(item) and type(value).__module__ == "numpy":
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    return show(value, 30)


def _row_table(rows: list[tuple[Any, str, Any, Any]]) -> str:
    header = ("row", "column", "expected", "got")
    lines = [header] + [(str(r), c, _cell_text(e), _cell_text(g)) for r, c, e, g in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _scalar_na(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value)) if pd.api.types.is_scalar(value) else False
    except (TypeError, ValueError):
        return False


def _frame_cells_differ(a: Any, b: Any, tol: float) -> bool:
    if _scalar_na(a) and _scalar_na(b):
        return False
    if _is_number(a) and _is_number(b):
        return not math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)
    return not _equal(a, b)


def expect_frame(
    got: Any,
    expected: Any,
    *,
    what: str = "the frame",
    check_dtype: bool = True,
    check_order: bool = True,
    sort_by: Sequence[str] | None = None,
    tol: float = 1e-9,
) -> None:
    """Schema, dtypes, row count, then the first differing rows, as a compact table.

    Args:
        check_dtype: compare column dtypes too.
        check_order: rows must come in the same order (else both are sorted by ``sort_by``,
            default every column, before comparing).
        sort_by: columns to sort both frames by first (implies row order does not matter).
        tol: absolute and relative tolerance for numbers.
    """
    got_pd, expected_pd = _as_pandas(got), _as_pandas(expected)
    if expected_pd is None:
        raise TypeError(f"expect_frame: expected must be a DataFrame, got {_type_name(expected)}")
    if got_pd is None:
        raise CheckFailed(f"{what}: expected a DataFrame, got a {_type_name(got)}: {show(got)}")
    got_cols, exp_cols = [str(c) for c in got_pd.columns], [str(c) for c in expected_pd.columns]
    missing = [c for c in exp_cols if c not in got_cols]
    extra = [c for c in got_cols if c not in exp_cols]
    if missing or extra:
        parts = ([f"missing column{'s' if len(missing) > 1 else ''} {missing}"] if missing else [])
        parts += [f"unexpected column{'s' if len(extra) > 1 else ''} {extra}"] if extra else []
        raise CheckFailed(f"{what}: {'; '.join(parts)}; expected columns {exp_cols}, got {got_cols}")
    if got_cols != exp_cols:
        raise CheckFailed(f"{what}: columns in a different order; expected {exp_cols},"
                          f" got {got_cols}")
    if check_dtype:
        wrong = [(c, str(expected_pd[c].dtype), str(got_pd[c].dtype)) for c in exp_cols
                 if str(expected_pd[c].dtype) != str(got_pd[c].dtype)]
        if wrong:
            listed = ", ".join(f"{c!r} expected {e}, got {g}" for c, e, g in wrong[:ROWS_SHOWN])
            raise CheckFailed(f"{what}: dtypes differ: {listed}")
    if len(got_pd) != len(expected_pd):
        raise CheckFailed(f"{what}: expected {len(expected_pd)} rows, got {len(got_pd)}")
    if sort_by is not None or not check_order:
        keys = list(sort_by) if sort_by is not None else exp_cols
        got_pd = got_pd.sort_values(keys, kind="mergesort")
        expected_pd = expected_pd.sort_values(keys, kind="mergesort")
    got_rows = got_pd.reset_index(drop=True)
    exp_rows = expected_pd.reset_index(drop=True)
    differing: list[tuple[Any, str, Any, Any]] = []
    rows_differing = 0
    for index in range(len(exp_rows)):
        row_diff = [(index, c, exp_rows.at[index, c], got_rows.at[index, c]) for c in exp_cols
                    if _frame_cells_differ(exp_rows.at[index, c], got_rows.at[index, c], tol)]
        if row_diff:
            rows_differing += 1
            if rows_differing <= ROWS_SHOWN:
                differing.extend(row_diff[:ROWS_SHOWN])
    if differing:
        raise CheckFailed(f"{what}: {rows_differing} of {len(exp_rows)} rows differ; first"
                          f" differences:\n{_row_table(differing)}")


# -- behaviour --------------------------------------------------------------------------------
def _describe_call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    name = getattr(fn, "__name__", "the function")
    shown = [show(a, 40) for a in args] + [f"{k}={show(v, 40)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(shown)})"


def expect_raises(
    exception: type[BaseException] | tuple[type[BaseException], ...],
    fn: Callable[..., Any],
    *args: Any,
    match: str | None = None,
    what: str | None = None,
    **kwargs: Any,
) -> BaseException:
    """``fn(*args, **kwargs)`` raises ``exception`` (whose message contains ``match``);
    returns the exception."""
    call = what or _describe_call(fn, args, kwargs)
    names = (exception.__name__ if isinstance(exception, type)
             else " or ".join(e.__name__ for e in exception))
    try:
        value = fn(*args, **kwargs)
    except exception as exc:
        if match is not None and match not in str(exc):
            raise CheckFailed(f"{call}: raised {names} but its message does not mention"
                              f" {match!r}; got {show(str(exc))}") from exc
        return exc
    except NotImplementedError:
        raise
    except Exception as exc:
        raise CheckFailed(f"{call}: expected {names}, got {type(exc).__name__}:"
                          f" {show(str(exc))}") from exc
    raise CheckFailed(f"{call}: expected it to raise {names}, but it returned {show(value)}")


@dataclass
class Spy:
    """The calls seen by :func:`expect_calls`: ``(args, kwargs)`` pairs."""

    name: str
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.calls)


@contextlib.contextmanager
def expect_calls(target: Any, name: str, *, at_least: int = 1, what: str = "your code") -> Iterator[Spy]:
    """Inside the block, count calls of ``target.name`` (still calling through); after it,
    fail unless it was called ``at_least`` times: "did you call X"."""
    raw = inspect.getattr_static(target, name)
    original = getattr(target, name)
    label = f"{getattr(target, '__name__', _type_name(target))}.{name}"
    spy = Spy(label)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        spy.calls.append((args, kwargs))
        return func(*args, **kwargs)

    if isinstance(raw, staticmethod):
        func, replacement = raw.__func__, staticmethod(wrapper)
    elif isinstance(raw, classmethod):
        func = original
        replacement = staticmethod(wrapper)  # ``original`` is already bound to the class
    else:
        func = raw if inspect.isclass(target) else original
        replacement = wrapper
    setattr(target, name, replacement)
    try:
        yield spy
    finally:
        setattr(target, name, raw)
    if spy.count < at_least:
        times = "once" if at_least == 1 else f"{at_least} times"
        raise CheckFailed(f"expected {what} to call {label} at least {times}, it was called"
                          f" {spy.count} time{'s' if spy.count != 1 else ''}")
