"""Pictures of a pipeline in a real JupyterLab: ``DAGBuilder(steps).mermaid()`` renders as a
diagram, and a ``StoryGenerator`` shows its page in a sandboxed iframe.

JupyterLab (4.1 and later) renders ``text/vnd.mermaid`` outputs itself into
``.jp-RenderedMermaid`` (an ``<img>`` holding the SVG as a data URL); a diagram Mermaid
cannot parse is shown as a warning (``.jp-mod-warning``) with the error instead. Step
names with spaces, quotes and markup check that the labels are escaped, and the state
colouring reaches the SVG.
The page helpers (open a notebook, run all cells) are the quiz tests' own.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import nbformat
import pytest
from test_browser_quiz import UI_TIMEOUT, open_notebook, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["read orders", 'say "hi"', "a<b>&c", "total: #1"]

CELL = textwrap.dedent("""
    from odibi_core.core import DAGBuilder, Step

    NAMES = {names!r}
    steps = [Step("ingest", NAMES[0], "config_op", "pandas", "orders.csv", outputs={{"data": "raw"}})]
    steps += [Step("transform", name, "sql", "pandas", "SELECT 1", inputs={{"t": f"k{{i}}" if i else "raw"}},
                   outputs={{"data": f"k{{i + 1}}"}}) for i, name in enumerate(NAMES[1:])]
    DAGBuilder(steps).mermaid({{NAMES[0]: "SUCCESS", NAMES[1]: "FAILED"}})
""")


def mermaid_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A DAG as a Mermaid diagram"),
                nbformat.v4.new_code_cell(CELL.format(names=NAMES).strip())]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dag.ipynb"
    nbformat.write(nb, path)
    return path


def rendered_svg(rendered: Any) -> ET.Element:
    """The diagram's SVG: JupyterLab shows it as an ``<img>`` with an SVG data URL (or inline)."""
    images = rendered.locator("img[src^='data:image/svg+xml']")
    if images.count():
        markup = unquote(images.first.get_attribute("src").split(",", 1)[1])
    else:
        markup = rendered.locator("svg").first.evaluate("e => e.outerHTML")
    return ET.fromstring(markup.encode("utf-8"))


def test_dag_mermaid_renders_as_svg_in_jupyterlab(jupyter_lab: Any, browser_page: Any,
                                                  tmp_path: Path) -> None:
    from playwright.sync_api import expect

    notebook = mermaid_notebook(tmp_path / "notebooks")
    lab = jupyter_lab(notebook.parent, {})
    page = browser_page
    panel = open_notebook(page, lab, f"notebooks/{notebook.name}")
    run_all_cells(page, panel)

    rendered = panel.locator(".jp-OutputArea-output .jp-RenderedMermaid")
    expect(rendered).to_have_count(1, timeout=UI_TIMEOUT)
    expect(rendered.locator("img, svg").first).to_be_visible(timeout=UI_TIMEOUT)
    expect(rendered).not_to_have_class(re.compile(r"\bjp-mod-warning\b"))  # no parse error

    svg = rendered_svg(rendered)
    assert svg.tag == f"{SVG}svg"
    nodes = {}
    for g in svg.iter(f"{SVG}g"):
        classes = (g.get("class") or "").split()
        if "node" in classes:
            nodes[" ".join("".join(g.itertext()).split())] = classes
    shown = sorted(nodes)
    assert len(shown) == len(NAMES), shown
    for name in NAMES:  # odd names appear as themselves, not as entity codes or markup
        assert any(text.startswith(name) for text in shown), f"{name!r} not among {shown}"
    assert [c for c in nodes.values() if "state_failed" in c] == [["node", "default", "state_failed"]]
    assert sum("state_success" in c for c in nodes.values()) == 1


STORY_CELL = textwrap.dedent("""
    import pandas as pd
    from odibi_core.core import Orchestrator, Step
    from odibi_core.story import StoryGenerator

    pd.DataFrame({"x": [1, 2]}).to_csv("numbers.csv", index=False)
    steps = [Step("ingest", "read numbers", "config_op", "pandas", "numbers.csv", outputs={"data": "raw"}),
             Step("transform", "double", "sql", "pandas", "SELECT x * 2 AS y FROM raw",
                  inputs={"raw": "raw"}, outputs={"data": "doubled"})]
    StoryGenerator(Orchestrator(steps=steps, engine_type="pandas").execute())
""")


def test_run_story_displays_in_a_sandboxed_iframe(jupyter_lab: Any, browser_page: Any,
                                                  tmp_path: Path) -> None:
    from playwright.sync_api import expect

    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(STORY_CELL.strip())]
    nbformat.write(nb, folder / "story.ipynb")
    lab = jupyter_lab(folder, {})
    page = browser_page
    panel = open_notebook(page, lab, "notebooks/story.ipynb")
    run_all_cells(page, panel)

    iframe = panel.locator(".jp-OutputArea-output iframe[srcdoc]")
    expect(iframe).to_have_count(1, timeout=UI_TIMEOUT)
    story = iframe.content_frame
    expect(story.locator("h1")).to_have_text("pipeline", timeout=UI_TIMEOUT)
    expect(story.locator("svg g.node")).to_have_count(2)
    expect(story.locator("details.step summary").first).to_contain_text("read numbers")
