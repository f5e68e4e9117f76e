"""Types at the boundaries between steps: poll → match → fetch → extract → tag → cluster → index → alert.

Each step takes and returns these; nothing downstream reaches back into a step's internals.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

SourceKind = Literal["rss", "x_account", "x_search", "287g_list", "legistar"]
ItemKind = Literal["article", "post"]

# The tag vocabulary (DESIGN, "Tag output"): configuration, tagger, index and alerts share it.
JurisdictionType = Literal["city", "county", "town", "state"]
Stance = Literal["pro_cooperation", "anti_cooperation", "neutral"]
Event = Literal[
    "terminate",
    "sign_or_join",
    "renew_or_expand",
    "vote_or_proposal",
    "policy_change",
    "enforcement_action",
    "other",
]
STANCES: tuple[Stance, ...] = get_args(Stance)
EVENTS: tuple[Event, ...] = get_args(Event)
SOURCE_KINDS: tuple[SourceKind, ...] = get_args(SourceKind)


def parse_utc(value: datetime | str | float | None) -> datetime | None:
    """A timezone-aware UTC datetime from what documents, pages and feeds carry.

    Accepts a datetime, an ISO-8601 date or date-time (``Z``, ``z`` or an offset; no zone means
    UTC), or epoch milliseconds (Elasticsearch's numeric dates). None and blank strings give None.

    Raises:
        ValueError: a string that is not an ISO-8601 date or date-time (the message quotes it).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 date or date-time: {text[:80]!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def item_id(canonical_url: str) -> str:
    """The Elasticsearch ``_id`` of an item: SHA-256 of its canonical URL (stable across runs).

    The http and https copies of one article are one item: the id is taken from the https
    spelling (the canonical URL itself keeps the scheme the site uses, so links still work)."""
    if canonical_url.startswith("http://"):
        canonical_url = "https://" + canonical_url.removeprefix("http://")
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()


@dataclass(kw_only=True)
class PostInfo:
    """A social post (X, Mastodon, Bluesky) that is an item of its own."""

    platform: Literal["x", "mastodon", "bluesky", "other"]
    post_id: str
    author: str
    handle: str
    text: str
    linked_urls: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class FeedEntry:
    """One new entry from a source, after URL canonicalisation and dedup, before fetching."""

    source_id: str
    source_kind: SourceKind
    url: str
    canonical_url: str
    title: str
    summary: str = ""
    published_at: datetime | None = None
    guid: str | None = None
    author: str | None = None
    home_state: str | None = None
    post: PostInfo | None = None
    # "watchlist-id: rule" strings that matched title + summary (may be empty for posts whose
    # linked article is still to be fetched and matched on its full text).
    matched_rules: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return item_id(self.canonical_url)

    @property
    def kind(self) -> ItemKind:
        return "post" if self.post is not None else "article"


@dataclass(kw_only=True)
class Article:
    """An entry with its fetched page and extracted main text (or a post with its own text)."""

    entry: FeedEntry
    final_url: str
    title: str
    text: str
    published_at: datetime | None = None
    author: str | None = None
    site_name: str | None = None
    language: str | None = None
    matched_rules: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def canonical_url(self) -> str:
        return self.entry.canonical_url


@dataclass(kw_only=True)
class Rejected:
    """Something a step could not process: counted, kept in quarantine, replayable."""

    stage: str
    key: str
    reason: str
    source_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class SourceSummary:
    """Per-source figures printed at the end of a run."""

    source_id: str
    fetched: int = 0  # feed entries (or posts) polled
    candidates: int = 0  # admitted by the intake gate, to be fetched
    matched: int = 0  # candidates whose full text matched a watchlist rule
    kept: int = 0  # candidates whose full text matched none: kept, unmatched, for rematch
    waiting: int = 0  # candidates left pending: the source's fetch budget for the run was spent
    indexed: int = 0
    alerted: int = 0
    errors: int = 0
    note: str = ""
