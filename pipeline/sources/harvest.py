"""What one poll of one source brought back, before the intake gate: the type every harvester
(feeds here, X in ``x``) returns, and the feed harvester itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import SourceConfig
from pipeline.fetch.client import FetchError, SafeHTTPClient
from pipeline.models import FeedEntry, Rejected
from pipeline.sources.feeds import parse_feed
from pipeline.sources.state import SourceState


@dataclass(kw_only=True)
class Harvest:
    """Entries of one poll, the unusable ones with their reasons, and the source's new validators
    (ETag / Last-Modified for conditional GET, the X ``since_id`` cursor)."""

    entries: list[FeedEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    not_modified: bool = False
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    problem: str | None = None


class NotAFeed(FetchError):
    """The body parsed to nothing that looks like a feed (an HTML page, garbage)."""


def harvest_feed(client: SafeHTTPClient, source: SourceConfig, state: SourceState) -> Harvest:
    """Fetch (conditional GET) and parse one RSS/Atom source. Raises FetchError/NotAFeed."""
    assert source.url is not None
    fetched = client.get(source.url, etag=state.etag, last_modified=state.last_modified, expect="feed")
    if fetched.not_modified:
        # Keep the validators we sent unless the server sent fresh ones.
        return Harvest(
            not_modified=True,
            status=fetched.status,
            etag=fetched.etag or state.etag,
            last_modified=fetched.last_modified or state.last_modified,
        )
    feed = parse_feed(
        fetched.body, source=source, feed_url=fetched.final_url, content_type=fetched.content_type
    )
    if not feed.version and feed.total == 0:
        problem = (feed.problem or "nothing readable").removeprefix("not a feed: ")
        raise NotAFeed(f"not a feed: {problem}", url=source.url, status=fetched.status)
    return Harvest(
        entries=feed.entries,
        rejected=feed.rejected,
        status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        problem=feed.problem,
    )
