"""Config: the Step record, loading steps from JSON / YAML / SQLite, validating and wiring them."""

from __future__ import annotations

from .loader import ConfigLoader, StrictYamlLoader
from .step import Step
from .validator import ConfigValidator
from .wiring import data_map_problems, wiring_problems

__all__ = ["ConfigLoader", "ConfigValidator", "Step", "StrictYamlLoader", "data_map_problems",
           "wiring_problems"]
