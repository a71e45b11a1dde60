"""Engine fixtures (the Spark engine is in tests/odibi_core/conftest.py)."""

from __future__ import annotations

import pytest

from odibi_core.engine import PandasEngineContext


@pytest.fixture
def pandas_engine() -> PandasEngineContext:
    return PandasEngineContext()
