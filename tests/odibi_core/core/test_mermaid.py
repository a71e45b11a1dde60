"""Mermaid diagrams of a DAG: the MIME bundle JupyterLab renders, escaping of odd names and
keys, and nodes coloured by state."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from IPython.core.formatters import DisplayFormatter
from test_dag_builder import diamond, step  # the planner tests' DAG: the same picture

from odibi_core.core import DAGBuilder, NodeState
from odibi_core.core.mermaid import STATE_COLOURS, MermaidDiagram, mermaid_text


def decode(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_export_mermaid_is_unchanged_for_plain_names() -> None:
    assert DAGBuilder(diamond()).export_mermaid() == "\n".join([
        "flowchart LR",
        '    n0["read<br/><small>transform/sql</small>"]',
        '    n1["branch1<br/><small>transform/sql</small>"]',
        '    n2["branch2<br/><small>transform/sql</small>"]',
        '    n3["merge<br/><small>transform/sql</small>"]',
        "    n0 -->|raw| n1",
        "    n0 -->|raw| n2",
        "    n1 -->|b1| n3",
        "    n2 -->|b2| n3",
    ])


def test_mime_bundle_for_jupyterlab() -> None:
    builder = DAGBuilder(diamond())
    diagram = builder.mermaid()
    assert isinstance(diagram, MermaidDiagram)
    text = builder.export_mermaid()
    bundle = diagram._repr_mimebundle_()
    assert bundle == {
        "text/vnd.mermaid": text,
        "text/markdown": f"```mermaid\n{text}\n```",
        "text/plain": text,
    }
    # what IPython sends to the front end when the diagram is displayed
    data, _metadata = DisplayFormatter().format(diagram)
    assert data["text/vnd.mermaid"] == text and data["text/plain"] == text
    assert str(diagram) == text


def test_odd_names_become_entity_codes_in_quoted_labels() -> None:
    names = ['say "hi"', "a<b>&c", "semi; colon: [x] (y) {z}", "pipe | hash #1 end", "end", "café 2"]
    steps = [step(names[0], {}, {"o": "k0"})]
    steps += [step(n, {"i": f"k{i}"}, {"o": f"k{i + 1}"}) for i, n in enumerate(names[1:])]
    steps.append(step("last", {"i": f"k{len(names) - 1}", "j": 'weird|key"x'}, {}))
    steps.insert(0, step("weird", {}, {"o": 'weird|key"x'}))
    text = DAGBuilder(steps).export_mermaid()

    node_lines = [line for line in text.splitlines() if re.match(r"    n\d+\[", line)]
    labels = {}
    for line in node_lines:
        match = re.fullmatch(r'    (n\d+)\["([\w .,/#;-]*)<br/><small>transform/sql</small>"\]', line)
        assert match, line  # ids are generated; labels hold no quote, bracket, pipe or markup
        labels[match.group(1)] = decode(match.group(2))
    assert sorted(labels.values()) == sorted([*names, "last", "weird"])
    assert mermaid_text('a"b') == "a#34;b" and mermaid_text("x_y-z.csv") == "x_y-z.csv"
    # an edge whose key is not plain is quoted and escaped; plain keys stay as they were
    assert '|"weird#124;key#34;x"|' in text and "-->|k1|" in text


def test_states_colour_nodes_with_classdef_and_class_lines() -> None:
    builder = DAGBuilder(diamond())
    results = {"read": SimpleNamespace(state=NodeState.SUCCESS),
               "branch1": SimpleNamespace(state=NodeState.SUCCESS)}
    text = builder.mermaid({**results, "branch2": NodeState.FAILED, "merge": "SKIPPED"}).text
    lines = text.splitlines()
    fill, stroke = STATE_COLOURS["FAILED"]
    assert f"    classDef state_failed fill:{fill},stroke:{stroke},color:#000" in lines
    assert "    class n2 state_failed" in lines
    assert "    class n0,n1 state_success" in lines
    assert "    class n3 state_skipped" in lines
    assert text.startswith(builder.export_mermaid())  # the same graph, plus the colours
    assert "classDef" not in builder.export_mermaid()
    with pytest.raises(ValueError, match=r"not in the DAG: \['nope'\]"):
        builder.mermaid({"nope": "FAILED"})
