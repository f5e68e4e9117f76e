"""The CPU part of enrich, one page at a time: extract → watchlist rules on the full text → tag.

Everything here is a pure function of plain data (dataclasses of strings, bytes and numbers),
so it runs the same in the enrich process or in a worker process of its pool (``PageWork`` and
what comes back pickle). Three kinds of input:

* a fetched page (``html``): trafilatura extracts the main text;
* a social post: its own text, nothing to fetch;
* a kept text: a page fetched earlier whose text matched no rule then (``status: unmatched``),
  promoted by ``muniwatch rematch`` — analysed again from the stored text, never refetched.

The watchlist rules decide on the full text (DESIGN, "Flow"): an article matching none comes back
as a :class:`PageAnalysis` without tags, and its document (``build_unmatched_document``) keeps the
text for replay; it is not tagged, clustered, searched or alerted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from pipeline.fetch.extract import extract_article
from pipeline.limits import TAGGED_TEXT_CHARS, cap_text
from pipeline.models import Article, FeedEntry, PostInfo, parse_utc
from pipeline.rules.language import RuleSet
from pipeline.store.items import build_item_document, build_unmatched_document
from pipeline.store.pending import has_kept_text
from pipeline.tagging import TagInput, tag_item

LOGGER = logging.getLogger(__name__)

RulePairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class PageAnalysis:
    """What the CPU step made of one page or post: the article with the watchlist rules that
    matched (its ``matched_rules``) and the tagger's output (DESIGN "Tag output", as its JSON
    dict) — ``None`` when no rule matched the full text: then it was not tagged."""

    article: Article
    tags: dict[str, Any] | None

    @property
    def matched(self) -> bool:
        return self.tags is not None


@dataclass(frozen=True, kw_only=True)
class AnalysisFailure:
    """Why a page could not be analysed; the item is marked failed and quarantined at ``stage``."""

    stage: Literal["extract"]
    reason: str


@dataclass(frozen=True, kw_only=True)
class PageWork:
    """One item for the CPU step."""

    item: dict[str, Any]  # the pending item document, with its ``_id``
    html: bytes | None  # the fetched page; None for a post or a kept text (nothing fetched)
    final_url: str
    rule_pairs: RulePairs
    now: datetime


@dataclass(frozen=True, kw_only=True)
class AnalysedPage:
    """A page analysed and its item document built (an indexed one with ``story_id`` still
    empty, or an unmatched one)."""

    analysis: PageAnalysis
    document: dict[str, Any]


@lru_cache(maxsize=8)
def _rules(rule_pairs: RulePairs) -> RuleSet:
    return RuleSet(rule_pairs)


def pending_entry(item: Mapping[str, Any]) -> FeedEntry:
    """The feed entry a pending item document was made from (``polling`` wrote it)."""
    post = item.get("post") or None
    return FeedEntry(
        source_id=str(item.get("source_id") or "unknown"),
        source_kind=item.get("source_kind") or "rss",
        url=str(item["url"]),
        canonical_url=str(item["canonical_url"]),
        title=str(item.get("title") or ""),
        summary=str(item.get("summary") or ""),
        published_at=parse_utc(item.get("published_at")),
        author=item.get("author"),
        home_state=item.get("home_state"),
        post=PostInfo(
            platform=post.get("platform") or "other",
            post_id=str(post.get("post_id") or ""),
            author=str(post.get("author") or ""),
            handle=str(post.get("handle") or ""),
            text=str(post.get("text") or ""),
            linked_urls=list(post.get("linked_urls") or []),
        )
        if post
        else None,
        matched_rules=list(item.get("matched_rules") or []),
    )


def read_article(entry: FeedEntry, html: bytes | None, final_url: str) -> Article | AnalysisFailure:
    """The article of a fetched page (trafilatura), or of a post (its own text)."""
    if html is None:
        text = (entry.post.text if entry.post else "") or entry.summary or entry.title
        author = entry.post.author if entry.post else None
        return Article(entry=entry, final_url=final_url, title=entry.title, text=text,
                       published_at=entry.published_at, author=author)  # fmt: skip
    extracted = extract_article(html, final_url)
    if not extracted.has_article:
        return AnalysisFailure(stage="extract", reason=extracted.reason or "no article text found")
    return Article(
        entry=entry,
        final_url=final_url,
        title=extracted.title or entry.title,
        text=extracted.text,
        published_at=extracted.published_at or entry.published_at,
        author=extracted.author,
        site_name=extracted.site_name,
        language=extracted.language,
    )


def kept_article(item: Mapping[str, Any]) -> Article:
    """The article stored on an item when it was fetched (title and text as extracted then)."""
    return Article(
        entry=pending_entry(item),
        final_url=str(item.get("url") or item["canonical_url"]),
        title=str(item.get("title") or ""),
        text=str(item.get("text") or ""),
        published_at=parse_utc(item.get("published_at")),
        author=item.get("author"),
        site_name=item.get("site_name"),
        language=item.get("language"),
    )


def analyse_article(article: Article, rule_pairs: RulePairs) -> PageAnalysis:
    """Match the watchlist rules on the full text; tag only what matched.

    The rules that matched the entry's title + summary at poll time count too (a linked article
    carries the rules its post matched)."""
    entry = article.entry
    matched = _rules(rule_pairs).match(article.title, article.text)
    article.matched_rules = list(dict.fromkeys([*entry.matched_rules, *matched]))
    if not article.matched_rules:
        return PageAnalysis(article=article, tags=None)
    tags = tag_item(
        TagInput(
            id=entry.id,
            title=article.title,
            # Capped: tagging time grows faster than the text (pipeline.limits).
            text=cap_text(article.text, TAGGED_TEXT_CHARS).text,
            url=article.final_url,
            home_state=entry.home_state,
            language=article.language,
        )
    )
    return PageAnalysis(article=article, tags=tags.to_json_dict())


def analyse_page(
    *, entry: FeedEntry, html: bytes | None, final_url: str, rule_pairs: RulePairs
) -> PageAnalysis | AnalysisFailure:
    """Extract (pages) or take the post text (posts), match the rules on the full text, tag."""
    article = read_article(entry, html, final_url)
    if isinstance(article, AnalysisFailure):
        return article
    return analyse_article(article, rule_pairs)


def analyse_work(work: PageWork) -> AnalysedPage | AnalysisFailure:
    """``analyse_page`` plus the item document: everything per-item and CPU-bound happens in
    the worker, so the enrich process only clusters and does I/O."""
    try:
        if work.html is None and has_kept_text(work.item):
            outcome: PageAnalysis | AnalysisFailure = analyse_article(
                kept_article(work.item), work.rule_pairs
            )
        else:
            entry = pending_entry(work.item)
            outcome = analyse_page(entry=entry, html=work.html, final_url=work.final_url,
                                   rule_pairs=work.rule_pairs)  # fmt: skip
        if isinstance(outcome, AnalysisFailure):
            return outcome
        if outcome.tags is None:
            document = build_unmatched_document(outcome.article, now=work.now)
        else:
            document = build_item_document(outcome.article, outcome.tags, story_id="", now=work.now)
        return AnalysedPage(analysis=outcome, document=document)
    except Exception as error:  # one bad page must not sink the batch
        LOGGER.exception("analysis failed for %s", work.final_url)
        return AnalysisFailure(stage="extract", reason=f"{type(error).__name__}: {error}")
