"""The node registry: built-in kinds, adding a node type with the decorator, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi_core import errors
from odibi_core.core import Orchestrator, Step
from odibi_core.nodes import Node, known_kinds, node_class, register_node, unregister_node
from odibi_core.nodes.builtin import IngestNode, SqlTransformNode


def test_builtin_kinds_and_lookup() -> None:
    assert known_kinds() == [("connect", "config_op"), ("ingest", "config_op"), ("publish", "config_op"),
                             ("store", "config_op"), ("transform", "function"), ("transform", "sql")]
    assert node_class(Step("ingestion", "r", "config", "pandas", "x.csv")) is IngestNode
    assert node_class(Step("transform", "t", "sql", "pandas", "SELECT 1")) is SqlTransformNode


def test_unknown_kind_names_the_step_and_lists_the_allowed() -> None:
    with pytest.raises(errors.StepError) as info:
        node_class(Step("transform", "pivot_it", "pivot", "pandas", ""))
    assert "step 'pivot_it'" in str(info.value) and "transform/sql" in str(info.value)


def test_a_new_node_type_runs_in_a_pipeline() -> None:
    @register_node("transform", "constant")
    class ConstantNode(Node):
        def run(self, inputs):
            return self.output(pd.DataFrame({"value": [self.step.value]}))

    try:
        steps = [Step("transform", "seven", "constant", "pandas", 7, outputs={"d": "seven"})]
        result = Orchestrator(steps=steps, engine_type="pandas").execute()
        assert result.data_map["seven"]["value"].tolist() == [7]
        with pytest.raises(ValueError, match="already registered"):
            register_node("transform", "constant")(type("Other", (Node,), {"run": lambda self, i: {}}))
    finally:
        unregister_node("transform", "constant")
    assert ("transform", "constant") not in known_kinds()


def test_every_error_derives_from_odibi_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.OdibiError)
    assert issubclass(errors.CycleError, errors.ValidationError)
    assert str(errors.ConfigError("p.yaml", "bad", row=3, step="s", line=9)) == "p.yaml:9, row 3 (step 's'): bad"
