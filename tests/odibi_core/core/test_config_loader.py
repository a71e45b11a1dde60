"""ConfigLoader: JSON, YAML and SQLite give the same steps; every bad input names its culprit."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from odibi_core.core.config_loader import ConfigLoader
from odibi_core.core.step import Step
from odibi_core.errors import ConfigError, ValidationError

SQL = "SELECT day, SUM(amount) AS total FROM orders GROUP BY day"

YAML_PIPELINE = f"""\
# orders pipeline
- layer: ingest
  name: read_orders
  type: config_op
  engine: pandas
  value: orders.csv
  params: {{format: csv}}
  outputs: {{data: raw_orders}}
  metadata: {{owner: data-team}}
- layer: transform
  name: daily_totals
  type: sql
  engine: pandas
  value: "{SQL}"
  inputs: {{orders: raw_orders}}
  outputs: {{data: totals}}
- layer: store
  name: save_totals
  type: config_op
  engine: pandas
  value: out/totals.parquet
  inputs: {{data: totals}}
"""

COLUMNS = ("Layer, StepName, StepType, Engine, Value, Params, Inputs, Outputs, Metadata,"
           " execution_order")


def expected_steps() -> list[Step]:
    return [
        Step("ingest", "read_orders", "config_op", "pandas", "orders.csv", {"format": "csv"},
             {}, {"data": "raw_orders"}, {"owner": "data-team"}),
        Step("transform", "daily_totals", "sql", "pandas", SQL, {}, {"orders": "raw_orders"},
             {"data": "totals"}),
        Step("store", "save_totals", "config_op", "pandas", "out/totals.parquet",
             inputs={"data": "totals"}),
    ]


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def sqlite_row(step: Step, order: int, enabled: int | None = None) -> tuple[Any, ...]:
    cells = (step.layer, step.name, step.type, step.engine, step.value,
             json.dumps(step.params) if step.params else None,
             json.dumps(step.inputs) if step.inputs else "",
             json.dumps(step.outputs), json.dumps(step.metadata), order)
    return cells if enabled is None else (*cells, enabled)


def write_db(path: Path, rows: list[tuple[Any, ...]], *, enabled: bool = False,
             columns: str = COLUMNS, table: str = "transformation_config") -> Path:
    extra = ", enabled" if enabled else ""
    marks = ", ".join("?" * (columns.count(",") + 1 + bool(enabled)))
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {table} ({columns}{extra})")
        conn.executemany(f"INSERT INTO {table} ({columns}{extra}) VALUES ({marks})", rows)
    conn.close()
    return path


@pytest.fixture
def pipeline_db(tmp_path: Path) -> Path:
    """The pipeline with rows stored out of order: execution_order, not rowid, decides."""
    read, totals, save = expected_steps()
    return write_db(tmp_path / "pipeline.db",
                    [sqlite_row(save, 3), sqlite_row(read, 1), sqlite_row(totals, 2)])


# -- happy paths --------------------------------------------------------------------
def test_positional_and_keyword_construction_give_equal_steps() -> None:
    positional = Step("transform", "t", "sql", "pandas", "SELECT 1", {}, {"a": "x"}, {"out": "y"})
    keyword = Step(layer="transform", name="t", type="sql", engine="pandas", value="SELECT 1",
                   inputs={"a": "x"}, outputs={"out": "y"})
    assert positional == keyword
    assert positional != Step("transform", "t", "sql", "pandas", "SELECT 2", {}, {"a": "x"},
                              {"out": "y"})


def test_json_yaml_and_sqlite_load_equal_steps(tmp_path: Path, pipeline_db: Path) -> None:
    json_file = write_json(tmp_path / "pipeline.json", [s.to_dict() for s in expected_steps()])
    yaml_file = tmp_path / "pipeline.yaml"
    yaml_file.write_text(YAML_PIPELINE, encoding="utf-8")

    loader = ConfigLoader()
    from_json = loader.load(json_file)
    assert from_json == expected_steps()
    assert loader.load(yaml_file) == from_json
    assert loader.load(pipeline_db) == from_json


def test_top_level_steps_mapping_is_accepted(tmp_path: Path) -> None:
    yml = tmp_path / "pipeline.yml"
    yml.write_text("steps:\n" + "".join(f"  {line}\n" for line in YAML_PIPELINE.splitlines()))
    jsn = write_json(tmp_path / "p.json", {"steps": [s.to_dict() for s in expected_steps()]})
    assert ConfigLoader().load(yml) == expected_steps()
    assert ConfigLoader().load(jsn) == expected_steps()


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", {"steps": [], "stepz": []})
    with pytest.raises(ConfigError, match=r"unknown top-level key.*stepz") as info:
        ConfigLoader().load(path)
    assert info.value.source == str(path)


def test_from_records_and_external_inputs() -> None:
    records = [s.to_dict() for s in expected_steps()][1:]
    steps = ConfigLoader().from_records(records)
    assert [s.name for s in steps] == ["daily_totals", "save_totals"]
    with pytest.raises(ConfigError, match=r"<records>, row 1 \(step 'x'\)"):
        ConfigLoader().from_records([{**records[0], "name": "x", "value": 3}])


def test_external_keys_satisfy_dangling_inputs(tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", [s.to_dict() for s in expected_steps()][1:])
    with pytest.raises(ValidationError, match="raw_orders"):
        ConfigLoader().load(path)
    assert len(ConfigLoader().load(path, external=["raw_orders"])) == 2
    assert len(ConfigLoader().load(path, validate=False)) == 2


# -- wiring problems found by validation on load --------------------------------------
def test_duplicate_output_names_both_writers(tmp_path: Path) -> None:
    records = [s.to_dict() for s in expected_steps()]
    records[2]["outputs"] = {"data": "totals"}
    path = write_json(tmp_path / "dup.json", records)
    with pytest.raises(ValidationError) as info:
        ConfigLoader().load(path)
    message = str(info.value)
    assert str(path) in message
    assert "'totals'" in message and "'daily_totals'" in message and "'save_totals'" in message


def test_dangling_input_names_step_and_key(tmp_path: Path) -> None:
    records = [s.to_dict() for s in expected_steps()]
    records[1]["inputs"] = {"orders": "raw_ordrs"}
    path = write_json(tmp_path / "dangling.json", records)
    with pytest.raises(ValidationError) as info:
        ConfigLoader().load(path)
    (problem,) = info.value.problems
    assert "step 'daily_totals' reads 'raw_ordrs'" in problem
    assert "raw_orders" in problem  # the keys that are written, and a suggestion


def test_unknown_layer_lists_the_allowed_layers(tmp_path: Path) -> None:
    records = [s.to_dict() for s in expected_steps()]
    records[0]["layer"] = "ingst"
    path = write_json(tmp_path / "layer.json", records)
    with pytest.raises(ValidationError) as info:
        ConfigLoader().load(path)
    message = str(info.value)
    assert "step 'read_orders': unknown layer 'ingst'" in message
    for allowed in ("connect", "ingest", "transform", "store", "publish", "ingestion"):
        assert allowed in message


# -- malformed JSON and YAML ----------------------------------------------------------
def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"layer": "ingest",\n   "name": "a"\n   "type": "sql"}\n]\n')
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: not valid JSON")


def test_json_duplicate_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "dupkey.json"
    path.write_text('[{"layer": "ingest", "name": "a", "name": "b"}]')
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        ConfigLoader().load(path)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("- layer: ingest\n  name: a\n  params: {format: csv\n- layer: store\n")
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: not valid YAML")


def test_yaml_duplicate_key_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dupkey.yaml"
    path.write_text(YAML_PIPELINE.replace("  value: out/totals.parquet\n",
                                          "  value: out/totals.parquet\n  name: again\n"))
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    assert info.value.line == 22
    assert "duplicate key 'name' (first on line 18)" in str(info.value)


def test_yaml_on_key_is_an_unknown_field_not_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "on.yaml"
    path.write_text(YAML_PIPELINE.replace("  engine: pandas\n  value: orders.csv\n",
                                          "  engine: pandas\n  value: orders.csv\n  on: yes\n"))
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    error = info.value
    assert (error.row, error.step, error.line) == (1, "read_orders", 7)
    assert "unknown field 'on'; allowed fields: layer, name, type, engine, value" in str(error)


def test_yaml_booleans_and_dates_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    params = "{format: csv, header: yes, strict: true, day: 2024-01-02}"
    path.write_text(YAML_PIPELINE.replace("{format: csv}", params))
    params = ConfigLoader().load(path)[0].params
    assert params == {"format": "csv", "header": "yes", "strict": True, "day": "2024-01-02"}


def test_every_bad_record_is_reported_with_row_step_and_line(tmp_path: Path) -> None:
    path = tmp_path / "records.yaml"
    text = (YAML_PIPELINE.replace("  value: orders.csv\n", "  value: 42\n")
            .replace("  inputs: {orders: raw_orders}\n", "  inputs: [raw_orders]\n"))
    path.write_text(text + "- not a mapping\n- {layer: ingest, name: partial}\n")
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 4 problems in the records:")
    assert (f"{path}:6, row 1 (step 'read_orders'): field 'value': expected a string,"
            " got integer") in message
    assert (f"{path}:15, row 2 (step 'daily_totals'): field 'inputs': expected a mapping,"
            " got list") in message
    assert f"{path}:23, row 4: expected a mapping with fields" in message
    assert "got string" in message
    assert (f"{path}:24, row 5 (step 'partial'): missing required field(s): 'type',"
            " 'engine', 'value'") in message


def test_data_map_keys_must_be_strings(tmp_path: Path) -> None:
    records = [s.to_dict() for s in expected_steps()]
    records[0]["outputs"] = {"data": None}
    path = write_json(tmp_path / "p.json", records)
    expected = ("row 1 (step 'read_orders'): field 'outputs'['data']:"
                " expected a non-empty data-map key string, got null")
    with pytest.raises(ConfigError, match=re.escape(expected)):
        ConfigLoader().load(path)


def test_unsupported_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match=r"unsupported file type '\.toml'; expected one of"
                                          r" \.db, \.json, \.sqlite, \.sqlite3, \.yaml, \.yml"):
        ConfigLoader().load(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    for name in ("absent.json", "absent.yaml", "absent.db"):
        with pytest.raises(ConfigError, match="file not found"):
            ConfigLoader().load(tmp_path / name)


# -- SQLite ---------------------------------------------------------------------------
def test_sqlite_rows_follow_execution_order_then_rowid(tmp_path: Path) -> None:
    read, totals, save = expected_steps()
    other = Step("store", "save_raw", "config_op", "pandas", "out/raw.parquet",
                 inputs={"data": "raw_orders"})
    path = write_db(tmp_path / "ties.db", [sqlite_row(save, 5), sqlite_row(other, 5),
                                           sqlite_row(totals, 2), sqlite_row(read, -1)])
    assert [s.name for s in ConfigLoader().load(path)] == [
        "read_orders", "daily_totals", "save_totals", "save_raw"]


def test_sqlite_bad_json_names_row_and_column_and_returns_nothing(tmp_path: Path) -> None:
    read, totals, save = expected_steps()
    bad = (*sqlite_row(totals, 2)[:5], '{"mode": overwrite}', *sqlite_row(totals, 2)[6:])
    path = write_db(tmp_path / "bad.db", [sqlite_row(read, 1), bad, sqlite_row(save, 3)])
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    error = info.value
    assert (error.source, error.row, error.step) == (str(path), 2, "daily_totals")
    assert "column 'Params': expected JSON object text, NULL or '', got invalid JSON" in str(error)


@pytest.mark.parametrize(("column", "cell", "expected"), [
    ("StepName", None, "column 'StepName': expected a string, got null"),
    ("execution_order", "2nd", "column 'execution_order': expected an integer, got text '2nd'"),
    ("execution_order", None, "column 'execution_order': expected an integer, got NULL"),
    ("Inputs", "[1, 2]", "column 'Inputs': expected a mapping, got list"),
    ("Outputs", 7, "column 'Outputs': expected JSON object text, got integer 7"),
    ("enabled", 2, "column 'enabled': expected the integer 0 or 1, got integer 2"),
    ("enabled", None, "column 'enabled': expected the integer 0 or 1, got NULL"),
])
def test_sqlite_bad_cell_is_named(tmp_path: Path, column: str, cell: Any, expected: str) -> None:
    read, totals, save = expected_steps()
    names = [c.strip() for c in COLUMNS.split(",")] + ["enabled"]
    row = list(sqlite_row(totals, 2, enabled=1))
    row[names.index(column)] = cell
    path = write_db(tmp_path / "cell.db", [sqlite_row(read, 1, 1), tuple(row),
                                           sqlite_row(save, 3, 1)], enabled=True)
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    assert info.value.row == 2
    assert expected in str(info.value)


def test_sqlite_several_bad_rows_are_all_reported(tmp_path: Path) -> None:
    read, totals, save = expected_steps()
    path = write_db(tmp_path / "two.db", [
        sqlite_row(read, 1), (*sqlite_row(totals, 2)[:9], 2.5), (*sqlite_row(save, 3)[:8], "{", 3)])
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    message = str(info.value)
    assert "2 problems in the records" in message
    assert "row 2 (step 'daily_totals'): column 'execution_order'" in message
    assert "row 3 (step 'save_totals'): column 'Metadata'" in message


def test_sqlite_missing_table_lists_the_tables(tmp_path: Path) -> None:
    path = write_db(tmp_path / "other.db", [], table="steps")
    expected = "no table 'transformation_config'; tables in the file: steps"
    with pytest.raises(ConfigError, match=expected):
        ConfigLoader().load(path)


def test_sqlite_missing_column_lists_missing_and_existing(tmp_path: Path) -> None:
    path = write_db(tmp_path / "cols.db", [], columns=COLUMNS.replace(" Metadata,", ""))
    with pytest.raises(ConfigError) as info:
        ConfigLoader().load(path)
    message = str(info.value)
    assert "missing column(s) Metadata; it has: Layer, StepName" in message
    assert "execution_order" in message


def test_sqlite_disabled_rows_are_skipped_and_counted(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    read, totals, save = expected_steps()
    # a half-written draft: disabled, so its bad JSON and bad execution_order are not parsed
    draft = ("store", "draft", "config_op", "pandas", "x", "{broken", "", "", None, "x")
    path = write_db(tmp_path / "enabled.db", [
        sqlite_row(read, 1, 1), sqlite_row(totals, 2, 1), sqlite_row(save, 3, 0), (*draft, 0)],
        enabled=True)
    with caplog.at_level(logging.INFO, logger="odibi_core.core.config_loader"):
        steps = ConfigLoader().load(path)
    assert [s.name for s in steps] == ["read_orders", "daily_totals"]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped == [f"{path}: skipped 2 disabled row(s) of transformation_config"
                       " (rowid:StepName): 3:save_totals, 4:draft"]


def test_sqlite_file_is_not_modified_by_loading(pipeline_db: Path) -> None:
    os.utime(pipeline_db, (1_600_000_000, 1_600_000_000))
    before = pipeline_db.read_bytes()
    siblings = sorted(p.name for p in pipeline_db.parent.iterdir())
    assert len(ConfigLoader().load(pipeline_db)) == 3
    assert pipeline_db.read_bytes() == before
    assert pipeline_db.stat().st_mtime == 1_600_000_000
    assert sorted(p.name for p in pipeline_db.parent.iterdir()) == siblings


def test_not_a_sqlite_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the steps you are looking for\n" * 20)
    with pytest.raises(ConfigError, match="cannot read it as a SQLite database"):
        ConfigLoader().load(path)


def test_yaml_numbers_never_turn_into_octal_or_sexagesimal() -> None:
    import yaml

    from odibi_core.core.config_loader import StrictYamlLoader

    loaded = yaml.load("zip: 010\ntime: 1:20\nhex: 0x1f\nn: -5\nflag: on\n", Loader=StrictYamlLoader)
    assert loaded == {"zip": "010", "time": "1:20", "hex": 31, "n": -5, "flag": "on"}
