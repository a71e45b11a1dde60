"""``odibi_core.orchestrator``: the Level 3/4 import path of the one Orchestrator."""

from __future__ import annotations

from .core.orchestrator import OrchestrationResult, Orchestrator

__all__ = ["OrchestrationResult", "Orchestrator"]
