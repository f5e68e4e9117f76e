"""Builders the tests share: RSS feeds, the three configuration files, tag outputs.

Each was written again in several test files (``duplicates`` listed them); one copy here keeps
the tests about what they check. Bodies stay small and literal: what a test serves is still
readable at the call site.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

from pipeline.tasks import ConfigPaths

# The watchlist most tests match with: the phrase every fixture page carries.
ICE_CONTRACT_WATCHLIST: dict[str, Any] = {"id": "w", "rules": ['"ICE contract"']}
# A subscriber who wants every California item at once.
CA_DESK: dict[str, Any] = {
    "id": "desk",
    "email": "desk@example.org",
    "mode": "immediate",
    "filter": {"states": ["CA"]},
}


@dataclass(frozen=True)
class FeedItem:
    """One ``<item>`` of an RSS 2.0 feed (text is XML-escaped when the feed is built)."""

    title: str
    link: str
    guid: str | None = None
    published: datetime | None = None


def rss_feed(items: Iterable[FeedItem], *, title: str = "t") -> bytes:
    """An RSS 2.0 document with ``items``, as a news site serves it."""
    entries = []
    for item in items:
        parts = [f"<title>{escape(item.title)}</title>", f"<link>{escape(item.link)}</link>"]
        if item.guid is not None:
            parts.append(f"<guid>{escape(item.guid)}</guid>")
        if item.published is not None:
            parts.append(f"<pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>")
        entries.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title>{''.join(entries)}</channel></rss>"
    ).encode()


def write_config(
    folder: Path,
    *,
    sources: Sequence[Mapping[str, Any]],
    watchlists: Sequence[Mapping[str, Any]] | Path = (ICE_CONTRACT_WATCHLIST,),
    subscriptions: Sequence[Mapping[str, Any]] = (),
) -> ConfigPaths:
    """sources.yaml, watchlists.yaml and subscriptions.yaml in ``folder``; ``watchlists`` may
    instead be the path of an existing file (e.g. the shipped ``config/watchlists.yaml``)."""
    paths = ConfigPaths(
        sources=folder / "sources.yaml",
        watchlists=watchlists if isinstance(watchlists, Path) else folder / "watchlists.yaml",
        subscriptions=folder / "subscriptions.yaml",
    )
    paths.sources.write_text(yaml.safe_dump({"sources": [dict(s) for s in sources]}))
    if not isinstance(watchlists, Path):
        paths.watchlists.write_text(yaml.safe_dump({"watchlists": [dict(w) for w in watchlists]}))
    paths.subscriptions.write_text(yaml.safe_dump({"subscriptions": [dict(s) for s in subscriptions]}))
    return paths


HARBOR_VALE: dict[str, Any] = {
    "name": "Harbor Vale",
    "type": "city",
    "state": "CA",
    "lat": 36.61,
    "lon": -121.9,
    "key": "us-ca-city-harbor-vale",
}


def harbor_vale_tags(**fields: Any) -> dict[str, Any]:
    """The tagger's output for a relevant Harbor Vale (CA) item about ending a contract; ``fields``
    replace or add keys (stance, confidence, evidence, tagger version...)."""
    tags: dict[str, Any] = {
        "relevant": True,
        "jurisdiction": copy.deepcopy(HARBOR_VALE),
        "other_jurisdictions": [],
        "stance": "neutral",
        "stance_confidence": 0.7,
        "event": "terminate",
        "tagger_version": "t-1",
    }
    tags.update(fields)
    return tags
