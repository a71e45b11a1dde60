"""The HTML run story: every value escaped, self-contained, a DAG and a timeline in SVG,
atomic saving, and stories of a Tracker alone and of a parallel run."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pandas as pd
import pytest

from odibi_core.core import Orchestrator, Step, Tracker
from odibi_core.core.mermaid import STATE_COLOURS
from odibi_core.engine.pandas_context import PandasEngineContext
from odibi_core.functions import register_function, unregister_function
from odibi_core.story import StoryGenerator
from odibi_core.story.svg import SVG_NS

ODD = "<b>&\"'"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def hostile_csv(tmp_path):
    path = tmp_path / "hostile.csv"
    pd.DataFrame({"id": [1, 2], "comment": ["<script>alert(1)</script>", "fine"]}).to_csv(path, index=False)
    return path


@pytest.fixture
def explode():
    @register_function("explode_story", replace=True)
    def explode_story(data):
        raise ValueError(f"bad value {ODD}")

    yield "explode_story"
    unregister_function("explode_story")


def hostile_run(csv, out, function: str):
    steps = [
        Step("ingest", "read", "config_op", "pandas", str(csv), outputs={"data": "raw"}),
        Step("transform", f"clean {ODD}", "sql", "pandas", "SELECT id, comment FROM raw",
             inputs={"raw": "raw"}, outputs={"data": "clean"}),
        Step("transform", "explode", "function", "pandas", function, inputs={"data": "clean"},
             outputs={"data": "exploded"}),
        Step("store", "save", "config_op", "pandas", str(out), inputs={"data": "exploded"}),
    ]
    return Orchestrator(steps=steps, engine_type="pandas", pipeline_name=f"pipe {ODD}").execute()


def dag_of(document: str) -> ET.Element:
    """The first SVG of the page (the DAG), parsed as XML (so it must be well formed)."""
    return ET.fromstring(re.search(r"<svg.*?</svg>", document, re.S).group(0))


def nodes_of(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-step"): g for g in svg.iter(f"{SVG}g") if g.get("class") == "node"}


def test_data_names_and_errors_are_escaped(hostile_csv, tmp_path, explode) -> None:
    result = hostile_run(hostile_csv, tmp_path / "out.csv", explode)
    assert result.failed_nodes == ["explode"]
    document = StoryGenerator(result).to_html()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "<script" not in document.lower()
    escaped = html.escape(ODD, quote=True)
    assert escaped == "&lt;b&gt;&amp;&quot;&#x27;"
    assert f"clean {escaped}" in document and f"bad value {escaped}" in document
    assert f"pipe {escaped}" in document
    assert ODD not in document and "<b>" not in document
    # in SVG text and attributes too
    svg = dag_of(document)
    assert f"clean {ODD}" in nodes_of(svg)
    assert "<b>" not in re.search(r"<svg.*?</svg>", document, re.S).group(0)


def test_the_page_is_self_contained(hostile_csv, tmp_path, explode) -> None:
    document = StoryGenerator(hostile_run(hostile_csv, tmp_path / "out.csv", explode)).to_html()
    assert document.startswith("<!DOCTYPE html>") and document.rstrip().endswith("</html>")
    assert set(re.findall(r"https?://[^\s\"'<>)]*", document)) == {SVG_NS}
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", document, re.I)
    assert not re.search(r"\s(src|href)\s*=", document, re.I)
    assert "@import" not in document and "url(" not in document.replace("url(#arrow)", "")
    assert "Content-Security-Policy" in document


def test_dag_has_one_node_per_step_and_the_failed_one_is_red(hostile_csv, tmp_path, explode) -> None:
    document = StoryGenerator(hostile_run(hostile_csv, tmp_path / "out.csv", explode)).to_html()
    svg = dag_of(document)
    nodes = nodes_of(svg)
    assert sorted(nodes) == sorted(["read", f"clean {ODD}", "explode", "save"])
    states = {name: g.get("data-state") for name, g in nodes.items()}
    assert states == {"read": "SUCCESS", f"clean {ODD}": "SUCCESS", "explode": "FAILED", "save": "SKIPPED"}
    fill = {name: g.find(f"{SVG}rect").get("fill") for name, g in nodes.items()}
    assert fill["explode"] == STATE_COLOURS["FAILED"][0]
    assert fill["read"] == STATE_COLOURS["SUCCESS"][0] != STATE_COLOURS["FAILED"][0]
    edges = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "edge"]
    # read -> clean -> explode -> save: the skipped step keeps its planned place in the DAG
    assert len(edges) == 3
    columns = {name: float(g.find(f"{SVG}rect").get("x")) for name, g in nodes.items()}
    assert columns["read"] < columns[f"clean {ODD}"] < columns["explode"] < columns["save"]
    legend = {g.get("data-state") for g in svg.iter(f"{SVG}g") if g.get("class") == "legend-item"}
    assert {"SUCCESS", "FAILED", "SKIPPED", "CACHED"} <= legend
    # the header counts steps by final state
    assert re.search(r"FAILED 1</span>", document) and re.search(r"SUCCESS 2</span>", document)


def test_save_writes_the_page_atomically(hostile_csv, tmp_path, explode) -> None:
    story = StoryGenerator(hostile_run(hostile_csv, tmp_path / "out.csv", explode), title="My <run>")
    path = story.save(tmp_path / "reports" / "story.html")
    assert path == tmp_path / "reports" / "story.html"
    assert path.read_text(encoding="utf-8") == story.to_html()
    assert [p.name for p in path.parent.iterdir()] == ["story.html"]  # no temp file left
    assert "<title>My &lt;run&gt;</title>" in story.to_html()


def test_notebook_display_is_an_escaped_srcdoc_iframe(hostile_csv, tmp_path, explode) -> None:
    story = StoryGenerator(hostile_run(hostile_csv, tmp_path / "out.csv", explode))
    shown = story._repr_html_()
    match = re.fullmatch(r'<iframe title="[^"]*" srcdoc="([^"]*)" sandbox="" style="[^"]*"></iframe>', shown)
    assert match, shown[:200]
    assert html.unescape(match.group(1)) == story.to_html()


class NotCounting(PandasEngineContext):
    """Like Spark without ``count_rows``: no row counts unless asked."""

    def snapshot(self, frame, *, sample_rows=5, count=None):
        snap = super().snapshot(frame, sample_rows=sample_rows, count=count)
        return snap if count else replace(snap, row_count=None)


def test_story_of_a_tracker_alone() -> None:
    tracker, context = Tracker(pipeline_name="by hand", count_rows=False), NotCounting()
    read = Step("ingest", "read", "config_op", "pandas", "a.csv", outputs={"data": "a"})
    widen = Step("transform", "widen", "sql", "pandas", "SELECT *, 1 AS one FROM a",
                 inputs={"a": "a"}, outputs={"data": "b"})
    frame = pd.DataFrame({"x": [1, 2, 3]})
    tracker.start_pipeline()
    tracker.end_step(tracker.start_step(read, context, {}), {"data": frame})
    execution = tracker.start_step(widen, context, {"a": frame})
    tracker.end_step(execution, {"data": frame.assign(one=1, x=frame["x"].astype("float64"))})
    tracker.end_pipeline(success=True)

    document = StoryGenerator(tracker).to_html()
    nodes = nodes_of(dag_of(document))
    assert sorted(nodes) == ["read", "widen"]
    x = {name: float(g.find(f"{SVG}rect").get("x")) for name, g in nodes.items()}
    assert x["widen"] > x["read"]  # one column per dependency depth
    assert "not counted" in document
    assert "added: one" in document and "changed: x int64 \u2192 float64" in document
    assert document.count('class="bar"') == 2


def test_story_of_a_parallel_run(tmp_path) -> None:
    sources = {}
    for name in ("customers", "orders", "products"):
        sources[name] = tmp_path / f"{name}.csv"
        pd.DataFrame({f"{name}_id": [1, 2], "k": [1, 2]}).to_csv(sources[name], index=False)
    steps = [Step("ingest", f"read_{n}", "config_op", "pandas", str(p), outputs={"data": f"raw_{n}"})
             for n, p in sources.items()]
    steps.append(Step("transform", "join_all", "sql", "pandas",
                      "SELECT * FROM c JOIN o USING (k) JOIN p USING (k)",
                      inputs={"c": "raw_customers", "o": "raw_orders", "p": "raw_products"},
                      outputs={"data": "joined"}))
    result = Orchestrator(steps=steps, engine_type="pandas", parallel=True, max_workers=4).execute()
    assert result.success, result.errors

    document = StoryGenerator(result).to_html()
    svg = dag_of(document)
    nodes = nodes_of(svg)
    assert sorted(nodes) == sorted(s.name for s in steps)
    assert {g.get("data-state") for g in nodes.values()} == {"SUCCESS"}
    assert len([p for p in svg.iter(f"{SVG}path") if p.get("class") == "edge"]) == 3
    x = {name: float(g.find(f"{SVG}rect").get("x")) for name, g in nodes.items()}
    assert len({x[f"read_{n}"] for n in sources}) == 1 and x["join_all"] > x["read_orders"]
    assert document.count('class="bar"') == 4
    assert "mode</th><td>parallel" in document


def test_wrong_sources_are_refused() -> None:
    with pytest.raises(TypeError, match="OrchestrationResult or a Tracker"):
        StoryGenerator({"tracker": None})
    result = Orchestrator(steps=[], engine_type="pandas", enable_tracker=False).execute()
    with pytest.raises(ValueError, match="enable_tracker=True"):
        StoryGenerator(result)
