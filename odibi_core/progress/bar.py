"""A notebook progress bar that follows a workflow's progress events.

``ProgressBar(streamer, workflow_id)`` subscribes to the streamer and updates, from a
background thread, an ipywidgets ``IntProgress`` (percent) with an ``HTML`` label; without a
widget frontend (a terminal, a test, a script) it writes one plain text line per event
instead. It stops following at the workflow's terminal event; :meth:`ProgressBar.wait`
blocks until then.
"""

from __future__ import annotations

import html
import itertools
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import ConfigError
from .event import EventType, ProgressEvent
from .streamer import ProgressStreamer, get_streamer

__all__ = ["ProgressBar", "widget_frontend"]

_ids = itertools.count(1)
_STYLES = {EventType.COMPLETE: "success", EventType.ERROR: "danger"}


def widget_frontend() -> bool:
    """Whether widgets can be shown: running in an IPython kernel (Jupyter), not a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _describe(event: ProgressEvent) -> str:
    """One line for ``event``: percent, steps, step, message and ETA."""
    steps = (f" {event.completed_steps}/{event.total_steps} steps"
             if event.completed_steps is not None and event.total_steps else "")
    step = f" [{event.step}]" if event.step is not None else ""
    eta = f" (ETA {event.eta:.0f}s)" if event.eta and not event.is_terminal else ""
    return f"{event.workflow_id}: {event.progress * 100:3.0f}%{steps}{step} {event.message}{eta}"


class ProgressBar:
    """Shows one workflow's progress while it runs.

    Args:
        streamer: the streamer the workflow publishes to (default: :func:`get_streamer`).
        workflow_id: the workflow to follow (None: every event, ending at the first terminal one).
        frontend: "widget", "text" or "auto" (widgets when :func:`widget_frontend`).
        stream: where text lines go (default: standard error).
        replay: start from the kept history. The bar shows the latest run in it: created
            after a run ended, it shows that run's end; pass ``replay=False`` to follow only
            events published from now on.
        display: shows the widget (default: ``IPython.display.display``).
    """

    def __init__(self, streamer: ProgressStreamer | None = None, workflow_id: str | None = None, *,
                 frontend: str = "auto", stream: TextIO | None = None, replay: bool = True,
                 display: Callable[[Any], Any] | None = None) -> None:
        if frontend not in ("auto", "widget", "text"):
            raise ConfigError("ProgressBar", f"frontend must be 'auto', 'widget' or 'text', got {frontend!r}")
        self.streamer = streamer if streamer is not None else get_streamer()
        self.workflow_id = workflow_id
        self.subscriber_id = f"progress-bar-{next(_ids)}"
        self.stream = stream
        self.last_event: ProgressEvent | None = None
        self.widget: Any = None
        self.label: Any = None
        self._done = threading.Event()
        self._stop = threading.Event()
        if frontend == "widget" or (frontend == "auto" and widget_frontend()):
            self._make_widgets(display)
        self._subscription = self.streamer.subscribe(self.subscriber_id, replay=replay,
                                                     workflow_id=workflow_id)
        self._thread = threading.Thread(target=self._follow, name=self.subscriber_id, daemon=True)
        self._thread.start()

    def _make_widgets(self, display: Callable[[Any], Any] | None) -> None:
        import ipywidgets

        self.widget = ipywidgets.IntProgress(value=0, min=0, max=100, description="0%")
        self.label = ipywidgets.HTML(value=html.escape(f"{self.workflow_id or 'workflow'}: waiting"))
        if display is None:
            from IPython.display import display
        display(ipywidgets.VBox([self.widget, self.label]))

    @property
    def done(self) -> bool:
        """Whether the workflow's terminal event was seen."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> ProgressEvent | None:
        """Block until the workflow ends (or ``timeout`` seconds pass); return its terminal
        event, or None when it has not ended."""
        self._done.wait(timeout)
        return self.last_event if self.done else None

    def close(self) -> None:
        """Stop following (the widget keeps its last state) and unsubscribe."""
        self._stop.set()
        self.streamer.unsubscribe(self.subscriber_id)
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the follower thread ----------------------------------------------------------------
    def _follow(self) -> None:
        replayed = self._subscription.replayed
        ended = False  # the latest run seen has ended
        try:
            while not self._stop.is_set():
                event = self._subscription.get(timeout=0.2)
                if event is None:
                    if self._subscription.closed:
                        return
                    continue
                # replayed events may span earlier runs: draw them, but stop only at the end
                # of the latest one (checked once the replay is drawn)
                self._show(event)
                ended = event.is_terminal
                if replayed > 0:
                    replayed -= 1
                    if replayed == 0 and ended:
                        break
                elif ended:
                    break
        finally:
            if ended:
                self._done.set()
                self.streamer.unsubscribe(self.subscriber_id)

    def _show(self, event: ProgressEvent) -> None:
        self.last_event = event
        if self.widget is not None:
            percent = round(event.progress * 100)
            self.widget.value = percent
            self.widget.description = f"{percent}%"
            self.widget.bar_style = _STYLES.get(event.event_type, "")
            self.label.value = html.escape(_describe(event))
            return
        out = self.stream if self.stream is not None else sys.stderr
        out.write(_describe(event) + "\n")
        out.flush()
