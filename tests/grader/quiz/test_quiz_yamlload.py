"""Strict YAML loading: core-schema scalars, duplicate keys, line numbers."""

from __future__ import annotations

import pytest

from grader.errors import QuizError
from grader.quiz.yamlload import LineDict, LineList, load_yaml, load_yaml_text


def test_yaml_1_1_words_stay_strings() -> None:
    data = load_yaml_text("a: on\nb: yes\nc: no\nd: off\ne: y\nf: True\ng: FALSE\n")
    assert data == {"a": "on", "b": "yes", "c": "no", "d": "off", "e": "y", "f": True, "g": False}


def test_on_as_a_key_is_the_string_on() -> None:
    data = load_yaml_text("on: push\n")
    assert list(data) == ["on"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("-3", -3),
        ("010", 10),
        ("0o17", 15),
        ("0x1F", 31),
        ("1:20", "1:20"),
        ("1_000", "1_000"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("~", None),
        ("null", None),
        ("2024-01-01", "2024-01-01"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, expected: object) -> None:
    value = load_yaml_text(f"v: {text}\n")["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_duplicate_key_names_file_and_line() -> None:
    with pytest.raises(QuizError) as info:
        load_yaml_text("lesson: a\nquestions: []\nlesson: b\n", "dup.yaml")
    assert info.value.file == "dup.yaml"
    assert info.value.line == 3
    assert "duplicate key 'lesson'" in info.value.message
    assert "line 1" in info.value.message


def test_nested_duplicate_key_line() -> None:
    text = "questions:\n  - id: q1\n    type: mcq\n    type: code-trace\n"
    with pytest.raises(QuizError) as info:
        load_yaml_text(text, "dup.yaml")
    assert info.value.line == 4


def test_mappings_and_lists_record_their_lines() -> None:
    data = load_yaml_text("a: 1\nb:\n  c: |\n    text\nd:\n  - x\n  - y\n")
    assert isinstance(data, LineDict)
    assert data.line == 1
    assert data.key_lines == {"a": 1, "b": 2, "d": 5}
    assert data["b"].line == 3
    assert data["b"].value_lines["c"] == 4  # block scalar content starts after "c: |"
    assert isinstance(data["d"], LineList)
    assert data["d"].item_lines == [6, 7]


def test_syntax_error_becomes_quiz_error_with_line() -> None:
    with pytest.raises(QuizError) as info:
        load_yaml_text("a: [1, 2\nb: 3\n", "broken.yaml")
    assert info.value.file == "broken.yaml"
    assert info.value.line == 2


def test_load_yaml_missing_file_is_a_quiz_error(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(QuizError) as info:
        load_yaml(missing)
    assert info.value.file == str(missing)
    assert "cannot read" in info.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('v: !!int "abc"', "'abc' is not an integer"),
        ('v: !!bool "maybe"', "'maybe' is not a boolean"),
        ("v: !!timestamp 2024-01-01", "could not determine a constructor"),
        ("v: !!set {a, b}", "could not determine a constructor"),
        ('v: !!python/name:os.system ""', "could not determine a constructor"),
    ],
)
def test_only_core_schema_tags_construct(text: str, fragment: str) -> None:
    with pytest.raises(QuizError) as info:
        load_yaml_text("ok: 1\n" + text + "\n", "tags.yaml")
    assert info.value.line == 2
    assert fragment in info.value.message
