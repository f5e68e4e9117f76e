"""URL canonicalisation, driven by tests/fixtures/urls/cases.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sources.urls import URLError, canonical_url

pytestmark = pytest.mark.unit

DATA = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "urls" / "cases.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["why"]) for c in DATA["cases"]])
def test_canonical_url(case: dict[str, Any]) -> None:
    assert canonical_url(case["in"], case.get("base")) == case["out"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["why"]) for c in DATA["cases"]])
def test_canonical_url_is_idempotent(case: dict[str, Any]) -> None:
    once = canonical_url(case["in"], case.get("base"))
    assert canonical_url(once) == once


@pytest.mark.parametrize("group", DATA["same"])
def test_spellings_of_one_article_share_a_canonical_url(group: list[str]) -> None:
    assert len({canonical_url(url) for url in group}) == 1


@pytest.mark.parametrize("url", DATA["invalid"])
def test_not_an_item_url(url: str) -> None:
    with pytest.raises(URLError):
        canonical_url(url)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["example.com", "WWW.Example.com", "m.example.org", "news.google.com", "127.0.0.1:8080"]),
    st.text(alphabet="abc/%._-~?&=#AMPamp", max_size=30),
)
def test_canonicalisation_is_deterministic_and_stable(scheme: str, host: str, rest: str) -> None:
    url = f"{scheme}://{host}/{rest}"
    try:
        once = canonical_url(url)
    except URLError:
        return
    assert canonical_url(url) == once
    assert canonical_url(once) == once
    assert once.startswith(("http://", "https://"))
