"""The progress record: one :class:`ProgressEvent` per thing that happened in a workflow.

A workflow (an odibi_core pipeline run, or any loop a :class:`WorkflowProgressTracker`
follows) publishes ``start`` when a step starts, ``progress`` when a step finishes (or to
report news), and ends with exactly one terminal event: ``complete`` or ``error``. Consumers
stop reading a workflow's stream at its terminal event (:attr:`ProgressEvent.is_terminal`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import ConfigError

__all__ = ["EventType", "ProgressEvent"]


class EventType(StrEnum):
    """What a progress event reports. Members equal their strings (``"complete"``)."""

    START = "start"  # a step (or, with step None, the workflow) started
    PROGRESS = "progress"  # a step finished, or news about a running step
    COMPLETE = "complete"  # the workflow finished successfully (terminal)
    ERROR = "error"  # the workflow failed, at ``step`` when known (terminal)


@dataclass(frozen=True)
class ProgressEvent:
    """One progress update of one workflow.

    Args:
        workflow_id: the workflow (pipeline) the event belongs to.
        step: the step it is about; None for the workflow as a whole.
        event_type: an :class:`EventType` or its string value.
        progress: the fraction of the workflow done, 0..1.
        message: a human-readable line.
        eta: estimated seconds until the workflow completes; None when unknown.
        thread_id: the run (thread) the workflow belongs to, if any.
        completed_steps: steps finished so far, when known.
        total_steps: steps in the workflow, when known.
        timestamp: wall-clock seconds (``time.time()``) when the event was made.
    """

    workflow_id: str
    step: str | None
    event_type: EventType
    progress: float
    message: str = ""
    eta: float | None = None
    thread_id: str | None = None
    completed_steps: int | None = None
    total_steps: int | None = None
    timestamp: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        try:
            kind = EventType(self.event_type)
        except ValueError:
            raise ConfigError("ProgressEvent", f"unknown event_type {self.event_type!r}; expected one"
                              f" of {sorted(e.value for e in EventType)}") from None
        object.__setattr__(self, "event_type", kind)
        progress = float(self.progress)
        if math.isnan(progress) or not 0.0 <= progress <= 1.0:
            raise ConfigError("ProgressEvent", f"progress must be between 0 and 1, got {self.progress!r}"
                              f" (workflow {self.workflow_id!r}, step {self.step!r})")
        object.__setattr__(self, "progress", progress)
        if self.eta is not None and (math.isnan(self.eta) or self.eta < 0):
            raise ConfigError("ProgressEvent", f"eta must be None or >= 0 seconds, got {self.eta!r}")

    @property
    def is_terminal(self) -> bool:
        """Whether this event ends its workflow's stream (``complete`` or ``error``)."""
        return self.event_type in (EventType.COMPLETE, EventType.ERROR)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready values (``event_type`` as its string)."""
        data = asdict(self)
        data["event_type"] = self.event_type.value
        return data
