"""Node types by (layer, type), and the registry that maps a Step to the class that runs it.

Add a node type with the decorator::

    @register_node("transform", "pivot")
    class PivotNode(Node): ...
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..errors import StepError

if TYPE_CHECKING:
    from ..core.config.step import Step
    from .base import Node

__all__ = ["known_kinds", "node_class", "register_node", "unregister_node"]

_REGISTRY: dict[tuple[str, str], type[Node]] = {}
_LOCK = threading.Lock()
N = TypeVar("N", bound="type[Node]")


def register_node(layer: str, type_: str, *, replace: bool = False) -> Callable[[N], N]:
    """Class decorator: steps with this layer and type run with the decorated class."""

    def decorate(cls: N) -> N:
        key = (layer, type_)
        with _LOCK:
            if key in _REGISTRY and not replace and _REGISTRY[key] is not cls:
                raise ValueError(f"node type {layer}/{type_} is already registered by"
                                 f" {_REGISTRY[key].__name__}; pass replace=True to override")
            _REGISTRY[key] = cls
        cls.layer, cls.type = layer, type_
        return cls

    return decorate


def unregister_node(layer: str, type_: str) -> None:
    """Remove a node type (tests and notebooks that experiment with the registry)."""
    with _LOCK:
        _REGISTRY.pop((layer, type_), None)


def known_kinds() -> list[tuple[str, str]]:
    """Every registered (layer, type), sorted (the built-ins register when ``odibi_core.nodes``
    is imported, which any import of this module does first)."""
    with _LOCK:
        return sorted(_REGISTRY)


def node_class(step: Step) -> type[Node]:
    """The node class for a step, or a StepError naming the step and listing what is allowed."""
    cls = _REGISTRY.get(step.kind)  # a dict read is atomic; the lock guards writers
    if cls is None:
        kinds = known_kinds()
        allowed = ", ".join(f"{layer}/{type_}" for layer, type_ in kinds)
        raise StepError(step.name, f"no node type for layer {step.layer!r} and type {step.type!r};"
                        f" allowed layer/type: {allowed}")
    return cls
