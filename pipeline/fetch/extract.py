"""Main text and metadata from fetched HTML (trafilatura on the bytes; its fetcher is never used).

``extract_article(html, url)`` never raises on bad pages: a page without an article comes back with
``has_article=False`` and a ``reason``. ``language`` is the page's declared language, else a cheap
stopword guess; the tagger is English-first and says so for other languages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import trafilatura

from pipeline.models import parse_utc
from pipeline.tagging.language import detect_language

LOGGER = logging.getLogger(__name__)

MIN_ARTICLE_CHARS = 250
MAX_HTML_BYTES = 5_000_000
_HEAD_BYTES = 200_000
_HTML_LANG_RE = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_PUBLISHED_RES = (
    re.compile(
        rb"<meta[^>]+(?:property|name|itemprop)\s*=\s*[\"'](?:article:published_time|datePublished"
        rb"|pubdate|publishdate|dc\.date\.issued|date)[\"'][^>]*?content\s*=\s*[\"']([^\"']{8,40})",
        re.IGNORECASE,
    ),
    re.compile(rb"\"datePublished\"\s*:\s*\"([^\"]{8,40})\""),
    re.compile(rb"<time[^>]+datetime\s*=\s*[\"']([^\"']{8,40})[\"']", re.IGNORECASE),
)


@dataclass(kw_only=True)
class ExtractedArticle:
    url: str
    title: str = ""
    text: str = ""
    published_at: datetime | None = None
    author: str | None = None
    site_name: str | None = None
    language: str | None = None
    has_article: bool = False
    reason: str = ""


def _parse_datetime(raw: str) -> datetime | None:
    """A page's date (ISO 8601) as UTC, or None: a page's own date may be anything."""
    try:
        return parse_utc(raw)
    except ValueError:
        return None


def _published(html: bytes, extracted_date: str | None) -> datetime | None:
    head = html[:_HEAD_BYTES]
    for pattern in _PUBLISHED_RES:
        match = pattern.search(head)
        if match:
            parsed = _parse_datetime(match.group(1).decode("ascii", "ignore"))
            if parsed is not None:
                return parsed
    return _parse_datetime(extracted_date) if extracted_date else None


def _declared_language(html: bytes) -> str | None:
    match = _HTML_LANG_RE.search(html[:_HEAD_BYTES])
    return match.group(1).decode("ascii").lower() if match else None


def extract_article(html: bytes, url: str) -> ExtractedArticle:
    """Extract title, main text and metadata from ``html`` (the bytes the project's client fetched).

    Args:
        html: the response body, undecoded (trafilatura detects the encoding).
        url: the page's URL, used for metadata and relative links only (never fetched).
    """
    if not html or not html.strip():
        return ExtractedArticle(url=url, reason="empty document")
    if len(html) > MAX_HTML_BYTES:
        return ExtractedArticle(url=url, reason=f"document too large ({len(html)} bytes)")
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url or None,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # trafilatura/lxml raise many types on broken markup
        LOGGER.warning("extraction failed for %s: %s", url, exc)
        return ExtractedArticle(url=url, reason=f"extraction failed: {type(exc).__name__}")
    declared = _declared_language(html)
    if doc is None:
        return ExtractedArticle(url=url, language=declared, reason="no main text found")
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = str(data.get("text") or "").strip()
    title = str(data.get("title") or "").strip()
    language = declared or (str(data["language"]) if data.get("language") else None) or detect_language(text)
    article = ExtractedArticle(
        url=url,
        title=title,
        text=text,
        published_at=_published(html, data.get("date")),
        author=str(data["author"]) if data.get("author") else None,
        site_name=str(data["sitename"]) if data.get("sitename") else None,
        language=language,
    )
    if len(text) < MIN_ARTICLE_CHARS:
        article.reason = f"no article: main text too short ({len(text)} chars)"
        return article
    article.has_article = True
    return article
