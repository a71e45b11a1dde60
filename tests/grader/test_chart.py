from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from grader.chart import bar_chart, xml_text


def _texts(svg: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg).iter("text")]


def test_labels_and_title_are_escaped_and_the_svg_parses() -> None:
    svg = bar_chart(["<script>a&b</script>"], [0.5], title='x"<y>&z')
    assert "<script" not in svg
    assert "&lt;script&gt;a&amp;b&lt;/script&gt;" in svg
    # the XML parser gives the original text back, so escaping is exact, not lossy
    assert ET.fromstring(svg).tag == "svg"
    assert 'x"<y>&z' in _texts(svg)


def test_none_and_nan_are_drawn_as_not_available() -> None:
    svg = bar_chart(["a", "b", "c"], [None, math.nan, 0.25])
    texts = _texts(svg)
    assert texts.count("n/a") == 2
    assert "25%" in texts
    dashed = [r for r in ET.fromstring(svg).iter("rect") if r.get("stroke-dasharray")]
    assert len(dashed) == 2


def test_threshold_ticks_and_pass_fail_colours() -> None:
    svg = bar_chart(["ok", "low", "none"], [0.8, 0.5, 0.9], threshold=[0.75, 0.75, None])
    root = ET.fromstring(svg)
    assert len(list(root.iter("line"))) == 2
    fills = [r.get("fill") for r in root.iter("rect")]
    assert "#2e7d32" in fills  # 0.8 >= 0.75
    assert "#c62828" in fills  # 0.5 < 0.75
    assert "#1565c0" in fills  # no threshold


def test_single_threshold_applies_to_every_bar() -> None:
    svg = bar_chart(["a", "b", "c"], [0.1, 0.2, None], threshold=0.5)
    assert len(list(ET.fromstring(svg).iter("line"))) == 3


def test_values_are_clamped_for_drawing_but_labelled_as_given() -> None:
    svg = bar_chart(["over"], [1.5], width=400)
    root = ET.fromstring(svg)
    widths = [float(r.get("width", 0)) for r in root.iter("rect")]
    assert widths[0] == widths[1]  # the bar fills the track exactly, no more
    assert "150%" in _texts(svg)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="one value per label"):
        bar_chart(["a", "b"], [0.1])
    with pytest.raises(ValueError, match="expected 2 thresholds"):
        bar_chart(["a", "b"], [0.1, 0.2], threshold=[0.5])


def test_no_scripts_urls_or_ids_unless_standalone() -> None:
    svg = bar_chart(["a"], [0.5], title="t")
    assert "http" not in svg and "<script" not in svg and " id=" not in svg
    standalone = bar_chart(["a"], [0.5], standalone=True)
    assert 'xmlns="http://www.w3.org/2000/svg"' in standalone


def test_empty_chart_says_no_data() -> None:
    assert "no data" in _texts(bar_chart([], []))


def test_long_labels_are_shortened_with_full_text_in_tooltip() -> None:
    label = "a_very_long_lesson_identifier_" * 4
    svg = bar_chart([label], [0.5], width=300)
    root = ET.fromstring(svg)
    assert label not in _texts(svg)
    assert any(t.endswith("…") for t in _texts(svg))
    assert (root.find(".//title").text or "").startswith(label)


def test_xml_text_strips_ansi_and_illegal_characters() -> None:
    assert xml_text("\x1b[0;31mError\x1b[0m: bad\x00\x08 value\ttab\n") == "Error: bad value\ttab\n"
    assert xml_text(12) == "12"
