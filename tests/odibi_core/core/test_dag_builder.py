"""Planning: dependencies, levels, stable order, batches, validation and cycles."""

from __future__ import annotations

import pytest

from odibi_core.core.dag_builder import DAGBuilder
from odibi_core.core.step import Step
from odibi_core.errors import CycleError, ValidationError


def step(name: str, inputs: dict | None = None, outputs: dict | None = None) -> Step:
    return Step("transform", name, "sql", "pandas", "SELECT 1", inputs=inputs or {}, outputs=outputs or {})


def diamond() -> list[Step]:
    return [
        step("merge", {"a": "b1", "b": "b2"}, {"out": "final"}),
        step("branch2", {"in": "raw"}, {"out": "b2"}),
        step("read", {}, {"out": "raw"}),
        step("branch1", {"in": "raw"}, {"out": "b1"}),
    ]


def test_positional_step_and_aliases() -> None:
    s = Step("ingestion", "read", "config", "pandas", "data.csv")
    assert (s.layer, s.name, s.type, s.engine, s.value) == ("ingestion", "read", "config", "pandas", "data.csv")
    assert s.params == {} and s.inputs == {} and s.outputs == {} and s.metadata == {}
    assert s.kind == ("ingest", "config_op")
    assert Step.from_dict(s.to_dict()) == s


def test_dependencies_levels_and_order() -> None:
    builder = DAGBuilder(diamond())
    dag = builder.build()
    assert dag["merge"].dependencies == {"branch1", "branch2"}
    assert dag["read"].dependents == {"branch1", "branch2"}
    assert [dag[n].level for n in ("read", "branch1", "branch2", "merge")] == [0, 1, 1, 2]
    assert builder.get_execution_order() == ["read", "branch1", "branch2", "merge"]
    assert builder.get_parallel_batches() == [["read"], ["branch1", "branch2"], ["merge"]]


def test_order_is_stable_whatever_the_input_order() -> None:
    steps = diamond()
    orders = {tuple(DAGBuilder(list(p)).get_execution_order()) for p in (steps, steps[::-1], steps[1:] + steps[:1])}
    assert orders == {("read", "branch1", "branch2", "merge")}


def test_cycle_error_names_the_cycle_in_order() -> None:
    steps = [step("A", {"in": "C_out"}, {"out": "A_out"}), step("B", {"in": "A_out"}, {"out": "B_out"}),
             step("C", {"in": "B_out"}, {"out": "C_out"}), step("D", {"in": "A_out"}, {"out": "D_out"})]
    with pytest.raises(CycleError) as info:
        DAGBuilder(steps).build()
    assert info.value.cycle == ("A", "B", "C", "A")
    assert str(info.value) == "Circular dependencies: A -> B -> C -> A"
    assert isinstance(info.value, ValueError)


def test_two_writers_of_one_output_and_dangling_inputs() -> None:
    steps = [step("one", {}, {"out": "raw"}), step("two", {}, {"out": "raw"}),
             step("three", {"in": "missing"}, {"out": "x"})]
    with pytest.raises(ValidationError) as info:
        DAGBuilder(steps).build()
    text = str(info.value)
    assert "output 'raw' is written by 2 steps: step 'one', step 'two'" in text
    assert "step 'three' reads 'missing'" in text
    assert DAGBuilder(steps[:1] + steps[2:], external={"missing"}).build()["three"].dependencies == set()


def test_duplicate_names() -> None:
    with pytest.raises(ValidationError, match="step name 'x' is used 2 times"):
        DAGBuilder([step("x", {}, {"o": "a"}), step("x", {}, {"o": "b"})]).build()


def test_mermaid_lists_nodes_and_labelled_edges() -> None:
    text = DAGBuilder(diamond()).export_mermaid()
    assert text.startswith("flowchart LR")
    assert text.count("-->") == 4
    assert "|raw|" in text and "|b1|" in text
