"""Progress streaming for odibi_core: events, a non-blocking streamer, trackers, a notebook bar.

A workflow publishes :class:`ProgressEvent` records (through a :class:`WorkflowProgressTracker`,
or :class:`PipelineProgress` hooks on a pipeline's events) to a :class:`ProgressStreamer`;
each subscriber reads its own bounded queue (:meth:`ProgressStreamer.stream_events`), and a
slow subscriber loses its oldest events instead of slowing the workflow.
:class:`ProgressBar` follows a running workflow in a notebook.
"""

from __future__ import annotations

from .bar import ProgressBar, widget_frontend
from .event import EventType, ProgressEvent
from .pipeline import PIPELINE_EVENTS, PipelineProgress
from .streamer import ProgressStreamer, Subscription, get_streamer, reset_streamer
from .tracker import WorkflowProgressTracker

__all__ = [
    "PIPELINE_EVENTS",
    "EventType",
    "PipelineProgress",
    "ProgressBar",
    "ProgressEvent",
    "ProgressStreamer",
    "Subscription",
    "WorkflowProgressTracker",
    "get_streamer",
    "reset_streamer",
    "widget_frontend",
]
