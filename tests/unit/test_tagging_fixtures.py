"""The tagger's own labelled sentences (tests/fixtures/tagging/*.jsonl), one test per line.

Each line: {id, title?, text, url?, home_state?, expect: {relevant?, jurisdiction?, type?, state?,
stance?, event?}, why, known_miss?}. Only the expectations present are checked; ``why`` says what the
line pins. ``known_miss`` marks a line the current model gets wrong, with the reason: it is a strict
expected failure, so the line must be updated the day the tagger gets it right.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.tagging import TagInput, tag_item

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tagging"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if line.strip():
                case = json.loads(line)
                marks = (
                    [pytest.mark.xfail(reason=case["known_miss"], strict=True)]
                    if "known_miss" in case
                    else []
                )
                cases.append(pytest.param(case, id=f"{path.stem}:{number}:{case['id']}", marks=marks))
    return cases


@pytest.mark.parametrize("case", _cases())
def test_fixture_line(case: dict[str, Any]) -> None:
    tags = tag_item(
        TagInput(
            id=case["id"],
            title=case.get("title", ""),
            text=case["text"],
            url=case.get("url", ""),
            home_state=case.get("home_state"),
        )
    )
    j = tags.jurisdiction
    got = {
        "relevant": tags.relevant,
        "jurisdiction": j.name if j else None,
        "type": j.type if j else None,
        "state": j.state if j else None,
        "stance": tags.stance,
        "event": tags.event,
    }
    expected = case["expect"]
    wrong = {k: {"expected": v, "got": got[k]} for k, v in expected.items() if got[k] != v}
    assert not wrong, f"{case['id']}: {wrong} — {case['why']}"


def test_fixture_folder_is_not_empty() -> None:
    assert len(_cases()) >= 40
