"""Run stories: one self-contained HTML page per pipeline run (DAG, timeline, every step)."""

from __future__ import annotations

from .generator import StoryGenerator

__all__ = ["StoryGenerator"]
