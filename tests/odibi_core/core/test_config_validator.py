"""ConfigValidator: every wiring and vocabulary problem is reported, sorted, naming the step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from odibi_core.core.config_validator import ConfigValidator
from odibi_core.core.step import Step
from odibi_core.errors import ValidationError
from odibi_core.nodes.base import Node
from odibi_core.nodes.registry import register_node, unregister_node


def read(name: str = "read", out: str = "raw", **changes: object) -> Step:
    step = Step("ingest", name, "config_op", "pandas", "orders.csv", outputs={"data": out})
    return _with(step, changes)


def sql(name: str, reads: str, writes: str, **changes: object) -> Step:
    step = Step("transform", name, "sql", "pandas", "SELECT * FROM t",
                inputs={"t": reads}, outputs={"data": writes})
    return _with(step, changes)


def _with(step: Step, changes: dict[str, object]) -> Step:
    for field, value in changes.items():
        setattr(step, field, value)
    return step


def only_problem(steps: list[Step], **options: object) -> str:
    problems = ConfigValidator(**options).problems(steps)  # type: ignore[arg-type]
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_pipeline_has_no_problems() -> None:
    steps = [read(), sql("clean", "raw", "clean"), sql("total", "clean", "total")]
    assert ConfigValidator().problems(steps) == []
    ConfigValidator().validate(steps)


def test_layer_and_type_aliases_are_accepted() -> None:
    steps = [read(layer="ingestion", type="config"), sql("t", "raw", "out", layer="transformation")]
    assert ConfigValidator().problems(steps) == []


def test_duplicate_step_names() -> None:
    problem = only_problem([read(), sql("read", "raw", "clean")])
    assert problem == "step name 'read' is used 2 times (names must be unique)"


def test_output_written_by_two_steps_names_both() -> None:
    problem = only_problem([read(), read("read_again", out="raw")])
    assert problem.startswith("output 'raw' is written by 2 steps: step 'read', step 'read_again'")


def test_one_step_writing_a_key_twice_is_reported() -> None:
    step = read(outputs={"a": "raw", "b": "raw"})
    assert only_problem([step]).startswith("step 'read' writes 'raw' under 2 output names")


def test_dangling_input_names_step_key_and_written_keys() -> None:
    problem = only_problem([read(), sql("clean", "rwa", "clean")])
    assert problem == ("step 'clean' reads 'rwa' (input 't'), which no step writes and is not"
                       " external; written keys: clean, raw; did you mean 'raw'?")


def test_external_keys_are_not_dangling() -> None:
    steps = [sql("clean", "landing", "clean")]
    assert "not external" in only_problem(steps)
    assert ConfigValidator(external=["landing"]).problems(steps) == []


def test_step_reading_its_own_output() -> None:
    problem = only_problem([read(), sql("loop", "loop_out", "loop_out")])
    assert problem == ("step 'loop' reads 'loop_out' (input 't'), which it writes itself"
                       " (output 'data')")


def test_unknown_layer_lists_layers_and_aliases() -> None:
    problem = only_problem([read(layer="ingst")])
    assert problem.startswith("step 'read': unknown layer 'ingst'; expected one of connect, ingest,"
                              " publish, store, transform (aliases: connection -> connect,")
    assert problem.endswith("did you mean 'ingest'?")


def test_unknown_engine_lists_engines_or_the_given_ones() -> None:
    assert only_problem([read(engine="polars")]) == (
        "step 'read': unknown engine 'polars'; expected one of pandas, spark")
    assert ConfigValidator(engines=["polars"]).problems([read(engine="polars")]) == []
    assert "expected one of polars" in only_problem([read()], engines=["polars"])


def test_unknown_type_and_unregistered_pair() -> None:
    assert only_problem([read(type="csv")]).startswith(
        "step 'read': unknown type 'csv'; expected one of config_op, function, sql")
    problem = only_problem([read(type="sql")])
    assert problem.startswith("step 'read': no node type runs layer 'ingest' with type 'sql';"
                              " registered layer/type pairs: connect/config_op, ingest/config_op")
    assert "transform/sql" in problem


@pytest.fixture
def pivot_node() -> Iterator[None]:
    @register_node("transform", "pivot")
    class PivotNode(Node):
        """A node type registered by a test."""

    yield
    unregister_node("transform", "pivot")


@pytest.mark.usefixtures("pivot_node")
def test_registered_node_types_are_known() -> None:
    assert ConfigValidator().problems([read(), sql("p", "raw", "wide", type="pivot")]) == []


def test_empty_and_non_string_names() -> None:
    steps = [read(name=""), read("ok", out="b"), read(name=3, out="c")]
    problems = ConfigValidator().problems(steps)
    assert problems == ["step #1 (name ''): name is empty; every step needs a unique name",
                        "step #3 (name 3): name must be a string, got integer"]


def test_malformed_data_maps_are_reported_not_crashed_on() -> None:
    steps = [read(outputs=["raw"]), sql("s", "x", "y", inputs={"t": ""})]
    problems = ConfigValidator().problems(steps)
    assert problems == [
        "step 'read': outputs must be a mapping of name -> data-map key, got list",
        "step 's': inputs['t'] must map a name to a non-empty data-map key string, got string ''",
    ]


def test_every_problem_is_listed_sorted_in_one_error() -> None:
    steps = [read(engine="duckdb"), read(), sql("z", "missing", "raw", layer="xform")]
    with pytest.raises(ValidationError) as info:
        ConfigValidator().validate(steps, source="pipeline.yaml")
    problems = info.value.problems
    assert problems == tuple(sorted(problems))
    assert len(problems) == 5
    assert str(info.value).startswith("pipeline.yaml: 5 problems in the pipeline config:")
    assert any(p.startswith("step 'z': unknown layer 'xform'") for p in problems)
    assert any(p.startswith("step 'z' reads 'missing'") for p in problems)
    assert any(p.startswith("step 'read': unknown engine 'duckdb'") for p in problems)
    assert any(p.startswith("output 'raw' is written by 3 steps") for p in problems)


def test_cycles_are_left_to_the_planner() -> None:
    steps = [sql("a", "c_out", "a_out"), sql("b", "a_out", "b_out"), sql("c", "b_out", "c_out")]
    assert ConfigValidator().problems(steps) == []
