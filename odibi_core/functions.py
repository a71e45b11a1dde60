"""Registered Python functions that ``transform``/``function`` steps call by name.

Register with the decorator, then name the function in a step's ``value``::

    @register_function("add_total")
    def add_total(orders, *, rate=1.0): ...

A value of the form ``"package.module:attribute"`` is imported instead.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["get_function", "register_function", "registered_functions", "unregister_function"]

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_LOCK = threading.Lock()
F = TypeVar("F", bound=Callable[..., Any])


def register_function(name: str | None = None, *, replace: bool = False) -> Callable[[F], F]:
    """Decorator: make a function callable from steps as ``value: <name>`` (default: its __name__)."""

    def decorate(fn: F) -> F:
        key = name or fn.__name__
        with _LOCK:
            if key in _FUNCTIONS and not replace and _FUNCTIONS[key] is not fn:
                raise ValueError(f"function {key!r} is already registered; pass replace=True to override")
            _FUNCTIONS[key] = fn
        return fn

    return decorate


def unregister_function(name: str) -> None:
    """Forget a registered function (notebooks re-running a cell, tests)."""
    with _LOCK:
        _FUNCTIONS.pop(name, None)


def registered_functions() -> list[str]:
    """Names of the registered functions, sorted."""
    with _LOCK:
        return sorted(_FUNCTIONS)


def get_function(name: str) -> Callable[..., Any]:
    """The registered function ``name``, or the attribute named by ``module:attribute``.
    Raises LookupError naming what is registered."""
    fn = _FUNCTIONS.get(name)  # one dict read is atomic: the lock guards the writers
    if fn is not None:
        return fn
    if isinstance(name, str) and ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise LookupError(f"cannot import function {name!r}: {exc}") from exc
        if callable(fn):
            return fn
        raise LookupError(f"{name!r} is not callable")
    known = ", ".join(registered_functions()) or "none"
    raise LookupError(f"no function registered as {name!r} (registered: {known}; or use 'module:function')")
