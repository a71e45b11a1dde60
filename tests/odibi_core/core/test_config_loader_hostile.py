"""ConfigLoader on hostile files: deep nesting, huge integers, YAML alias bombs and control
characters are ConfigErrors naming the file and line (or row and column), raised quickly."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from odibi_core.core.config_loader import (
    ALIAS_ALLOWANCE,
    ALIAS_FACTOR,
    MAX_DEPTH,
    MAX_INT_DIGITS,
    ConfigLoader,
)
from odibi_core.errors import ConfigError, OdibiError

STEP = {"layer": "ingest", "name": "read", "type": "config_op", "engine": "pandas",
        "value": "in.csv"}
BLOCK_STEP = ("- layer: ingest\n  name: read\n  type: config_op\n  engine: pandas\n"
              "  value: in.csv\n")
YAML_STEP = "- {layer: ingest, name: read, type: config_op, engine: pandas, value: in.csv,"
COLUMNS = ("Layer, StepName, StepType, Engine, Value, Params, Inputs, Outputs, Metadata,"
           " execution_order")


def json_with_params(params_text: str) -> str:
    """A one-step JSON list whose params object is ``params_text`` (raw JSON)."""
    return "[" + json.dumps(STEP)[:-1] + ', "params": ' + params_text + "}]"


def nested(levels: int) -> str:
    """A JSON/YAML flow object ``{"a": [[...]]}`` nesting ``levels`` levels in all."""
    return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def load_error(path: Path) -> ConfigError:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        ConfigLoader().load(path, validate=False)
    assert time.monotonic() - started < 5, "a hostile file must be rejected quickly"
    error = caught.value
    assert isinstance(error, OdibiError)
    assert error.source == str(path), f"the error names the file: {error}"
    return error


def write_db(path: Path, *params: str) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE transformation_config ({COLUMNS})")
        conn.executemany(
            f"INSERT INTO transformation_config ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, '', '{{}}', '', ?)",
            [("ingest", f"read{i}", "config_op", "pandas", "in.csv", cell, i)
             for i, cell in enumerate(params, start=1)])
    conn.close()
    return path


# -- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_three_thousand_levels_of_nesting_is_a_config_error_with_its_line(
        tmp_path: Path, suffix: str) -> None:
    text = json_with_params(nested(3000)) if suffix == ".json" else (
        f"# deep\n{YAML_STEP}\n  params: {nested(3000)}}}\n")
    path = tmp_path / f"deep{suffix}"
    path.write_text(text, encoding="utf-8")

    error = load_error(path)

    assert f"nesting deeper than {MAX_DEPTH} levels" in error.message
    assert error.line == (1 if suffix == ".json" else 3)
    assert "column" in error.message


def test_deep_block_yaml_is_a_config_error_at_the_line_it_goes_too_deep(tmp_path: Path) -> None:
    lines = ["  params:"] + [" " * (4 + 2 * i) + "a:" for i in range(150)]
    path = tmp_path / "deep_block.yaml"
    path.write_text(BLOCK_STEP + "\n".join(lines) + " 1\n", encoding="utf-8")

    error = load_error(path)

    # the list is level 1, the step 2, params 3 (line 7): level MAX_DEPTH + 1 opens on this line
    assert error.line == 7 + (MAX_DEPTH + 1 - 3)
    assert f"nesting deeper than {MAX_DEPTH} levels" in error.message


def test_nesting_of_exactly_the_bound_loads(tmp_path: Path) -> None:
    # the list of steps (1) and the step (2) hold params at level 3
    path = tmp_path / "at_bound.json"
    path.write_text(json_with_params(nested(MAX_DEPTH - 2)), encoding="utf-8")

    (step,) = ConfigLoader().load(path, validate=False)

    assert step.name == "read"
    path.write_text(json_with_params(nested(MAX_DEPTH - 1)), encoding="utf-8")
    assert "nesting deeper" in load_error(path).message


def test_brackets_and_digits_inside_strings_do_not_count(tmp_path: Path) -> None:
    note = "[" * 3000 + '"' + "9" * 5000
    path = tmp_path / "strings.json"
    path.write_text(json_with_params(f'{{"note": {json.dumps(note)}, "ratio": 0.{"1" * 5000}}}'),
                    encoding="utf-8")

    (step,) = ConfigLoader().load(path, validate=False)

    assert step.params["note"] == note
    assert step.params["ratio"] == pytest.approx(0.1111111), "a long fraction is not an integer"


def test_deep_sqlite_params_cell_names_row_and_column(tmp_path: Path) -> None:
    path = write_db(tmp_path / "deep.db", '{"format": "csv"}', nested(3000))

    error = load_error(path)

    assert (error.row, error.step) == (2, "read2")
    assert "column 'Params': nesting deeper than" in error.message
    assert "(at character 106)" in error.message  # '{"a": ' then the 100th '['


# -- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_an_integer_over_the_digit_bound_is_a_config_error(tmp_path: Path, suffix: str) -> None:
    huge = "9" * 5000
    path = tmp_path / f"bigint{suffix}"
    path.write_text(json_with_params(f'{{"n": {huge}}}') if suffix == ".json"
                    else f"{YAML_STEP}\n  params: {{n: {huge}}}}}\n", encoding="utf-8")

    error = load_error(path)

    assert f"expected at most {MAX_INT_DIGITS} digits" in error.message
    assert error.line == (1 if suffix == ".json" else 2)
    assert "Exceeds the limit" not in str(error)


def test_an_integer_of_exactly_the_bound_loads(tmp_path: Path) -> None:
    path = tmp_path / "at_bound.yaml"
    path.write_text(f"{YAML_STEP}\n  params: {{n: {'9' * MAX_INT_DIGITS}, m: -{'9' * MAX_INT_DIGITS}}}}}\n",
                    encoding="utf-8")

    (step,) = ConfigLoader().load(path, validate=False)

    assert step.params["n"] == 10**MAX_INT_DIGITS - 1 == -step.params["m"]


def test_a_hex_integer_beyond_the_bound_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hex.yaml"
    path.write_text(f"{YAML_STEP}\n  params: {{n: 0x{'f' * 3600}}}}}\n", encoding="utf-8")

    assert f"more than {MAX_INT_DIGITS} decimal digits" in load_error(path).message


def test_huge_integer_in_a_sqlite_cell_names_row_and_column(tmp_path: Path) -> None:
    path = write_db(tmp_path / "bigint.db", '{"n": ' + "1" * 5000 + "}")

    error = load_error(path)

    assert error.row == 1
    assert "column 'Params': an integer of 5000 digits" in error.message


# -- YAML aliases ------------------------------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": each anchor lists the previous one nine times."""
    lines = ["  params:", "    a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, levels):
        previous, current = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"    {current}: &{current} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return BLOCK_STEP + "\n".join(lines) + "\n"


def test_a_one_kilobyte_alias_bomb_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    assert path.stat().st_size < 1024

    error = load_error(path)

    assert "YAML aliases expand this to more than" in error.message
    assert "alias bomb" in error.message
    assert error.line is not None and 3 <= error.line <= 11


def test_a_recursive_alias_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(f"{YAML_STEP}\n  params: &p {{self: *p}}}}\n", encoding="utf-8")

    error = load_error(path)

    assert "refers to a collection it is inside of" in error.message
    assert error.line == 2


def test_aliases_that_nest_beyond_the_depth_bound_are_a_config_error(tmp_path: Path) -> None:
    lines = [f"{YAML_STEP}", "  params: {", "    l0: &l0 1,"]
    lines += [f"    l{i}: &l{i} " + "[" * 30 + f"*l{i - 1}" + "]" * 30 + "," for i in range(1, 6)]
    lines.append("    }}")
    path = tmp_path / "deep_aliases.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    error = load_error(path)

    assert f"YAML aliases nest this deeper than {MAX_DEPTH} levels" in error.message


def test_shared_defaults_through_aliases_still_load(tmp_path: Path) -> None:
    text = ("- {layer: ingest, name: read0, type: config_op, engine: pandas, value: in0.csv,\n"
            "   params: &defaults {format: csv, sep: ',', header: true, encoding: utf-8}}\n")
    text += "".join(f"- {{layer: ingest, name: read{i}, type: config_op, engine: pandas,"
                    f" value: in{i}.csv, params: {{<<: *defaults, n: {i}}}}}\n" for i in range(1, 300))
    path = tmp_path / "defaults.yaml"
    path.write_text(text, encoding="utf-8")

    steps = ConfigLoader().load(path, validate=False)

    assert len(steps) == 300
    assert steps[299].to_dict()["params"] == {"format": "csv", "sep": ",", "header": True,
                                              "encoding": "utf-8", "n": 299}


def test_aliases_may_expand_within_the_budget(tmp_path: Path) -> None:
    # four levels of nine expand some 60 written nodes to about 8,300: within
    # ALIAS_FACTOR x 60 + ALIAS_ALLOWANCE
    assert ALIAS_FACTOR * 60 + ALIAS_ALLOWANCE > 8_300
    path = tmp_path / "small_bomb.yaml"
    path.write_text(alias_bomb(levels=4), encoding="utf-8")

    (step,) = ConfigLoader().load(path, validate=False)

    assert len(step.params["d"]) == 9 and step.params["d"][8][8][8] == ["lol"] * 9


# -- characters and forced tags ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "line", "fragment"), [
    ("control.yaml", f"{YAML_STEP}\n  params: {{}}}}\n# note\x01\n", 3,
     "not valid YAML: character U+0001 (column 7)"),
    ("control.json", json.dumps([STEP], indent=1).replace('"in.csv"', '"in\x01.csv"'), 7,
     "not valid JSON: Invalid control character"),
    ("int_tag.yaml", f"{YAML_STEP}\n  params: {{n: !!int abc}}}}\n", 2, "cannot read 'abc' as"),
    ("bool_tag.yaml", f"{YAML_STEP}\n  params: {{n: !!bool maybe}}}}\n", 2, "cannot read 'maybe' as"),
    ("date_tag.yaml", f"{YAML_STEP}\n  params: {{n: !!timestamp nope}}}}\n", 2, "cannot read 'nope' as"),
])
def test_bad_characters_and_forced_tags_name_file_and_line(
        tmp_path: Path, name: str, text: str, line: int, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    error = load_error(path)

    assert error.line == line
    assert fragment in error.message
