"""The place errors seen on items nobody tuned for, one fixture line each (tests/fixtures/tagging/places/).

Each line: {id, class, title?, text, url?, home_state?, expect: {jurisdiction, type, state,
relevant?}, why}. Classes (issue 12, part 4):
- ``a``: a parish or county resolved to its seat or largest city;
- ``b``: a county resolved to a same-named county in another state;
- ``c``: a county resolved to its state;
- ``d``: a county dropped because the item was wrongly judged not relevant. The jurisdiction is
  checked here; whether the item is judged relevant is decided by the relevance step
  (pipeline/tagging/relevance.py), and ``test_relevance_keeps_the_county`` checks that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.tagging import TagInput, tag_item

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tagging" / "places"
CLASSES = {"a", "b", "c", "d"}
# Class (d) lines whose relevance the relevance step still gets wrong: fixed by engineer `tagger`
# (owner of relevance.py), who removes the id from here when it passes.
RELEVANCE_KNOWN_MISSES = {"pl-d-hudson-no-ice"}  # no "ICE", no "immigration": judged not relevant


def _lines() -> list[dict[str, Any]]:
    lines = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if raw.strip():
                case = json.loads(raw)
                case["where"] = f"{path.name}:{number}"
                lines.append(case)
    return lines


def _tag(case: dict[str, Any]) -> Any:
    return tag_item(
        TagInput(
            id=case["id"],
            title=case.get("title", ""),
            text=case["text"],
            url=case.get("url", ""),
            home_state=case.get("home_state"),
        )
    )


@pytest.mark.parametrize("case", _lines(), ids=lambda c: f"{c['class']}:{c['id']}")
def test_jurisdiction_of_error_class(case: dict[str, Any]) -> None:
    tags = _tag(case)
    expect = case["expect"]
    j = tags.jurisdiction
    got = (j.name, j.type, j.state) if j else None
    assert got == (expect["jurisdiction"], expect["type"], expect["state"]), f"{case['where']}: {case['why']}"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            marks=[pytest.mark.xfail(reason="relevance: engineer tagger", strict=True)]
            if c["id"] in RELEVANCE_KNOWN_MISSES
            else [],
        )
        for c in _lines()
        if "relevant" in c["expect"]
    ],
    ids=lambda c: c["id"],
)
def test_relevance_keeps_the_county(case: dict[str, Any]) -> None:
    assert _tag(case).relevant is case["expect"]["relevant"], f"{case['where']}: {case['why']}"


def test_every_class_has_lines() -> None:
    lines = _lines()
    assert {c["class"] for c in lines} == CLASSES
    assert all(sum(1 for c in lines if c["class"] == k) >= 3 for k in CLASSES)
