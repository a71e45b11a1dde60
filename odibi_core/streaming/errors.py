"""Streaming errors and warnings.

::

    OdibiError
    └── StreamError          a source cannot be polled, replayed or committed (names the source)
    UserWarning
    └── StreamWarning        a file was quarantined or a watched folder is missing
"""

from __future__ import annotations

from ..errors import OdibiError

__all__ = ["StreamError", "StreamWarning"]


class StreamError(OdibiError):
    """A stream source cannot be read, replayed or committed; the message names the source."""


class StreamWarning(UserWarning):
    """Something a streaming user should see: a file quarantined after repeated read failures."""
