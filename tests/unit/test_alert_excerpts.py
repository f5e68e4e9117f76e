"""What an alert quotes: the lead article's own first sentences, primary records as one sentence, and
links without tracking parameters."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pipeline.alerts.excerpts import LEAD_MAX_CHARS, lead_sentences, record_sentence
from pipeline.settings import REPO_ROOT
from pipeline.sources.urls import URLError, canonical_url, link_url

pytestmark = pytest.mark.unit

ARTICLE = """Glendale ends its jail contract with ICE
By Maria Lopez, Staff Writer
Updated June 10, 2025 9:14 a.m.
Sign up for our daily newsletter
GLENDALE, Calif. — The City Council voted 4-1 on Monday to end the city's contract with ICE. \
The jail will stop holding federal detainees by July.
Council members heard two hours of public comment. Several residents spoke in favour.
"""


def test_lead_skips_headline_byline_and_boilerplate_and_takes_two_sentences() -> None:
    lead = lead_sentences(ARTICLE, title="Glendale ends its jail contract with ICE")
    assert lead == (
        "GLENDALE, Calif. — The City Council voted 4-1 on Monday to end the city's contract with ICE. "
        "The jail will stop holding federal detainees by July."
    )


def test_lead_is_trimmed_at_a_word_and_absent_without_text() -> None:
    long_sentence = (
        "The county board " + "debated the detention agreement at length and " * 20 + "then voted."
    )
    lead = lead_sentences(long_sentence)
    assert lead is not None and len(lead) <= LEAD_MAX_CHARS and lead.endswith("…")
    assert not lead[:-1].endswith(" ")
    assert lead_sentences("") is None and lead_sentences(None) is None
    assert lead_sentences("Subscribe now\nAdvertisement") is None


RECORD_CASES: list[dict[str, Any]] = yaml.safe_load(
    (REPO_ROOT / "tests/fixtures/alerts/record_sentences.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", RECORD_CASES, ids=[c["sentence"][:40] for c in RECORD_CASES])
def test_record_sentences(case: dict[str, Any]) -> None:
    assert record_sentence(case["record"], state=case["state"]) == case["sentence"]


def test_no_record_no_sentence() -> None:
    assert record_sentence(None) is None and record_sentence({}) is None


def test_links_lose_tracking_and_fragments_but_keep_the_published_host() -> None:
    url = "https://www.valley-ledger.example/2025/06/09/story?utm_source=rss&id=7&fbclid=abc&gclid=x#comments"
    assert link_url(url) == "https://www.valley-ledger.example/2025/06/09/story?id=7"
    # the same tracking list as the item identity, which also folds the host
    assert canonical_url(url) == "https://valley-ledger.example/2025/06/09/story?id=7"
    assert link_url("https://news.google.com/rss/articles/x?url=https://a.example/b") == "https://a.example/b"
    with pytest.raises(URLError):
        link_url("javascript:alert(1)")
