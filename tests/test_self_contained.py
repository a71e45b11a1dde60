"""Lessons, quizzes and the README stand on their own: no text refers to the source documents the
course was written from (the "seed" lessons, "the guide", "the report", their "Level 3/4" and
"Phase 5/6" labels), except the README's one credits section.

Scanned: markdown cells and code comments of every lesson, every string of every quiz file, and
the README outside its "Credits" section. A random seed (``seed=7``, ``random.seed``) is not a
source document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SOURCE_WORDS = re.compile(
    r"(?<!random )\bseeds?\b(?!\s*[=(])|\bseed's\b|\bguides?\b|\bguide's\b|\breport's\b"
    r"|\bthe (?:long-running )?report\b(?! (?:table|page|file|folder|json|html))"
    r"|\bLevel [34]\b|\bPhase [56]\b",
    re.IGNORECASE,
)
LESSONS = sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
QUIZZES = sorted((REPO / "quizzes").glob("*.yaml"))


def _hits(text: str) -> list[str]:
    return [text[max(0, m.start() - 30): m.end() + 30].replace("\n", " ") for m in SOURCE_WORDS.finditer(text)]


def _lesson_text(path: Path) -> list[tuple[str, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = [("metadata", json.dumps(nb["metadata"].get("odibi", {}), ensure_ascii=False))]
    for number, cell in enumerate(nb["cells"], start=1):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            out.append((f"cell {number}", source))
        else:
            comments = "\n".join(line.split("#", 1)[1] for line in source.splitlines() if "#" in line)
            out.append((f"cell {number} (comments)", comments))
    return out


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lessons_never_refer_to_the_source_documents(path: Path) -> None:
    found = [(where, hit) for where, text in _lesson_text(path) for hit in _hits(text)]
    assert not found, f"{path.name}: {len(found)} references, first: {found[:5]}"


@pytest.mark.parametrize("path", QUIZZES, ids=[p.stem for p in QUIZZES])
def test_quizzes_never_refer_to_the_source_documents(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = [hit for text in _strings(data) for hit in _hits(text)]
    assert not found, f"{path.name}: {len(found)} references, first: {found[:5]}"


def test_readme_credits_the_sources_once_and_nowhere_else() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    parts = re.split(r"^## Credits\s*$", text, flags=re.MULTILINE)
    assert len(parts) == 2, "the README has one '## Credits' section"
    before, credits = parts[0], re.split(r"^## ", parts[1], flags=re.MULTILINE)[0]
    after = parts[1][len(credits):]
    assert _hits(credits), "the credits name the source documents"
    assert not _hits(before + after), _hits(before + after)[:5]
