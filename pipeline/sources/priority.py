"""The priority-feed check: has a ``priority: true`` feed carried an entry not seen before?

The Airflow triggerer's watcher (``plugins/muniwatch_triggers.PriorityFeedTrigger``) calls this
every check interval; all of its logic is here, without Airflow. One look at a feed is a
conditional GET (ETag / Last-Modified) through the project's one HTTP client
(``pipeline.fetch.client.SafeHTTPClient``: SSRF guard at connect time and on each redirect, size
cap, an honest User-Agent, per-host pacing), then ``pipeline.sources.feeds.parse_feed`` — the parser
polling uses, so the watcher and the poll agree on what an entry and its id are. A 429/503 backs
the feed off for its ``Retry-After``; an unchanged feed costs a ``304 Not Modified``; a feed whose
server sends neither ETag nor Last-Modified (every look is a full download) is looked at no more
than once a minute.

The cursor of a feed (``FeedCursor``: validators, the ids seen, the backoff) is JSON, so the
watcher can keep it in its asset's state store. The first look at a feed only records a baseline:
the scheduled poll takes care of what was there before the watcher started.

The check interval: ``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S`` in the environment, else the Airflow
Variable ``muniwatch_priority_check_interval_s`` (read by the trigger), else 15 s. A new entry waits
on average half an interval before it is seen, so the interval is the largest single term of the
alert latency.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import config as config_module
from pipeline.config import SourceConfig
from pipeline.fetch.client import HTTPStatusError, SafeHTTPClient
from pipeline.settings import Settings
from pipeline.sources.feeds import parse_feed

LOGGER = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
SEEN_PER_FEED = 500

CHECK_INTERVAL_ENV = "MUNIWATCH_PRIORITY_CHECK_INTERVAL_S"
CHECK_INTERVAL_VARIABLE = "muniwatch_priority_check_interval_s"
DEFAULT_CHECK_INTERVAL_S = 15.0
# Below this the watcher would only burn the triggerer's CPU: a DAG run takes seconds anyway.
MIN_CHECK_INTERVAL_S = 1.0
# A feed without validators is downloaded whole on every look: look at it less often.
NO_VALIDATOR_INTERVAL_S = 60.0


@dataclass(kw_only=True)
class FeedCursor:
    """What the watcher remembers of one feed. ``backoff_until``: no request before this time
    (the server's ``Retry-After``, or the slower pace of a feed without validators)."""

    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)
    backoff_until: float = 0.0
    baseline: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "etag": self.etag,
            "last_modified": self.last_modified,
            "seen": self.seen[-SEEN_PER_FEED:],
            "backoff_until": self.backoff_until,
            "baseline": self.baseline,
        }

    @classmethod
    def from_json(cls, data: Any) -> FeedCursor:
        if not isinstance(data, dict):
            return cls()
        return cls(
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            seen=[str(s) for s in data.get("seen") or []],
            backoff_until=float(data.get("backoff_until") or 0.0),
            baseline=bool(data.get("baseline")),
        )


def watcher_client(settings: Settings) -> SafeHTTPClient:
    """The client the watcher fetches with (feeds are small: a lower cap than for pages)."""
    return SafeHTTPClient(settings, max_bytes=MAX_BODY_BYTES)


def entry_ids(
    source: SourceConfig, body: bytes, *, feed_url: str, content_type: str | None = None
) -> list[str]:
    """Ids of the feed's entries as polling reads them: the entry id (guid), else the canonical URL."""
    parsed = parse_feed(body, source=source, feed_url=feed_url, content_type=content_type)
    return [entry.guid or entry.canonical_url for entry in parsed.entries]


def check_feed(client: SafeHTTPClient, source: SourceConfig, cursor: FeedCursor, now: float) -> list[str]:
    """New entry ids of ``source``'s feed since ``cursor`` (updated in place); empty on a baseline
    look, while backed off, and when the feed is unchanged.

    Raises:
        FetchError: the feed cannot be fetched (refused address, too large, HTTP error...).
    """
    if cursor.backoff_until > now or not source.url:
        return []
    try:
        result = client.get(source.url, etag=cursor.etag, last_modified=cursor.last_modified, expect="feed")
    except HTTPStatusError as error:
        if error.status in {429, 503}:
            cursor.backoff_until = now + (error.retry_after_s if error.retry_after_s is not None else 300.0)
            return []
        raise
    if result.not_modified:
        return []
    cursor.etag = result.etag or cursor.etag
    cursor.last_modified = result.last_modified or cursor.last_modified
    if not (result.etag or result.last_modified):
        cursor.backoff_until = now + NO_VALIDATOR_INTERVAL_S
    ids = entry_ids(source, result.body, feed_url=result.final_url, content_type=result.content_type)
    seen = set(cursor.seen)
    new = [i for i in ids if i not in seen]
    cursor.seen = (cursor.seen + new)[-SEEN_PER_FEED:]
    if not cursor.baseline:
        cursor.baseline = True
        return []
    return new


def priority_sources(sources_file: str | Path) -> list[SourceConfig]:
    """The enabled ``priority: true`` RSS sources of the sources file.

    Raises:
        ConfigError: the file is missing or invalid (the message names where).
    """
    return [
        source
        for source in config_module.load_sources(Path(sources_file))
        if source.priority and source.enabled and source.kind == "rss" and source.url
    ]


def parse_check_interval(raw: str, origin: str) -> float:
    """Seconds between two looks at the priority feeds, from ``origin`` (named in the error).

    Raises:
        ValueError: not a number of seconds, or below ``MIN_CHECK_INTERVAL_S``.
    """
    try:
        seconds = float(raw.strip().removesuffix("s"))
    except ValueError:
        raise ValueError(f"{origin}={raw!r} is not a number of seconds (e.g. 15)") from None
    if not seconds >= MIN_CHECK_INTERVAL_S:  # also refuses NaN
        raise ValueError(f"{origin}={raw!r}: the check interval must be at least {MIN_CHECK_INTERVAL_S:g} s")
    return seconds


def configured_check_interval(environ: Mapping[str, str], variable: str | None) -> float:
    """The environment variable, else the Airflow Variable's value, else the default; a bad value
    is logged (naming where it came from) and the next one down is used."""
    candidates = ((CHECK_INTERVAL_ENV, environ.get(CHECK_INTERVAL_ENV)), (CHECK_INTERVAL_VARIABLE, variable))
    for origin, raw in candidates:
        if raw is None or not raw.strip():
            continue
        try:
            return parse_check_interval(raw, origin)
        except ValueError as error:
            LOGGER.error("priority watcher: %s; ignored", error)
    return DEFAULT_CHECK_INTERVAL_S
