"""Extraction fixtures: tests/fixtures/pages/extract_*.html, each with an ``.expected.json`` beside it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.fetch.extract import extract_article

pytestmark = pytest.mark.unit

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


def _pages() -> list[Any]:
    return [pytest.param(p, id=p.stem) for p in sorted(PAGES.glob("extract_*.html"))]


@pytest.mark.parametrize("page", _pages())
def test_page(page: Path) -> None:
    expected = json.loads(page.with_suffix(".expected.json").read_text("utf-8"))
    article = extract_article(page.read_bytes(), f"https://news.example.org/{page.stem}")
    assert article.has_article is expected["has_article"], article.reason
    for field in ("title", "language", "author", "site_name"):
        if field in expected:
            assert getattr(article, field) == expected[field], field
    if "published_at" in expected:
        assert article.published_at == datetime.fromisoformat(expected["published_at"])
    for snippet in expected.get("text_contains", []):
        assert snippet in article.text
    for snippet in expected.get("text_excludes", []):
        assert snippet not in article.text
    if "reason_contains" in expected:
        assert expected["reason_contains"] in article.reason
    if article.has_article:
        assert article.reason == ""


def test_fixture_pages_present() -> None:
    names = {p.stem for p in PAGES.glob("extract_*.html")}
    assert {"extract_article", "extract_no_article", "extract_boilerplate", "extract_spanish"} <= names


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01\x02 not html at all"])
def test_empty_or_garbage_never_raises(body: bytes) -> None:
    article = extract_article(body, "https://news.example.org/x")
    assert article.has_article is False
    assert article.reason


def test_published_at_is_utc() -> None:
    page = (PAGES / "extract_article.html").read_bytes()
    published = extract_article(page, "https://news.example.org/a").published_at
    assert published is not None and published.utcoffset() is not None
    assert published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_url_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura.downloads

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("trafilatura's fetcher must not be used")

    monkeypatch.setattr(trafilatura.downloads, "fetch_url", refuse)
    monkeypatch.setattr(trafilatura.downloads, "fetch_response", refuse)
    page = (PAGES / "extract_article.html").read_bytes()
    assert extract_article(page, "https://news.example.org/a").has_article
