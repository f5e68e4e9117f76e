"""Event-driven polling: a triggerer-side watcher of the priority feeds.

``PriorityFeedTrigger`` runs in the Airflow triggerer as the ``AssetWatcher`` of the
``muniwatch_priority_feeds`` asset. Every check interval it asks each source with
``priority: true`` in the sources file for its feed with a conditional GET (ETag /
Last-Modified); when a feed carries an entry id it has not seen, it fires one ``TriggerEvent``
naming those sources, and ``muniwatch_poll`` (scheduled on the asset) polls them at once instead
of waiting for its next five-minute slot.

The check interval is read before every check, so a change needs no restart: the triggerer's
``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S`` environment variable, else the Airflow Variable
``muniwatch_priority_check_interval_s``, else 15 s (an explicit ``check_interval`` argument wins
over both). A new entry waits on average half an interval before it is seen, so the interval is
the largest single term of the alert latency. Frequent checks stay cheap and polite: an
unchanged feed costs a ``304 Not Modified``; a feed whose server sends neither ETag nor
Last-Modified (every look is a full download) is looked at no more than once a minute; one
client is kept across checks, so its per-host pacing holds between checks too.

The cursor (per feed: ETag, Last-Modified, the ids seen, a Retry-After backoff) lives in the
asset's state store (``self.asset_state_store``), so a triggerer restart neither re-fires for old
entries nor forgets what it saw. The first look at a feed only records a baseline: the scheduled
poll takes care of what was there before the watcher started.

Fetching goes through the project's one HTTP client, ``pipeline.fetch.client.SafeHTTPClient``
(SSRF guard at connect time and on each redirect, size cap, conditional GET, an honest
User-Agent, per-host pacing); a 429/503 backs the feed off for its ``Retry-After``. The blocking
work (fetch, feed parsing) runs in a thread so the triggerer's event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline import config as config_module
from pipeline.fetch.client import FetchError, HTTPStatusError, SafeHTTPClient
from pipeline.settings import Settings, load_settings

LOGGER = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
SEEN_PER_FEED = 500
CURSOR_KEY = "feeds"

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


def fetch_feed(client: SafeHTTPClient, url: str, cursor: FeedCursor, now: float) -> bytes | None:
    """Conditional GET through the project's client; None when unchanged or backed off by the server.

    Raises:
        FetchError: the source cannot be fetched (refused address, too large, HTTP error...).
    """
    try:
        result = client.get(url, etag=cursor.etag, last_modified=cursor.last_modified, expect="feed")
    except HTTPStatusError as error:
        if error.status in {429, 503}:
            cursor.backoff_until = now + (error.retry_after_s if error.retry_after_s is not None else 300.0)
            return None
        raise
    if result.not_modified:
        return None
    cursor.etag = result.etag or cursor.etag
    cursor.last_modified = result.last_modified or cursor.last_modified
    if not (result.etag or result.last_modified):
        cursor.backoff_until = now + NO_VALIDATOR_INTERVAL_S
    return result.body


def entry_ids(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    ids: list[str] = []
    for entry in parsed.entries:
        ident = entry.get("id") or entry.get("guid") or entry.get("link") or entry.get("title")
        if ident:
            ids.append(str(ident))
    return ids


def check_feed(client: SafeHTTPClient, url: str, cursor: FeedCursor, now: float) -> list[str]:
    """New entry ids of one feed since the cursor (updated in place). Empty on a baseline look."""
    if cursor.backoff_until > now:
        return []
    body = fetch_feed(client, url, cursor, now)
    if body is None:
        return []
    ids = entry_ids(body)
    seen = set(cursor.seen)
    new = [i for i in ids if i not in seen]
    cursor.seen = (cursor.seen + new)[-SEEN_PER_FEED:]
    if not cursor.baseline:
        cursor.baseline = True
        return []
    return new


def priority_sources(sources_file: str) -> dict[str, str]:
    """source id → feed URL of the enabled ``priority: true`` RSS sources."""
    return {
        source.id: source.url
        for source in config_module.load_sources(Path(sources_file))
        if source.priority and source.enabled and source.kind == "rss" and source.url
    }


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
    """The environment variable, else the Airflow Variable, else the default; a bad value is
    logged (naming where it came from) and the next one down is used."""
    candidates = ((CHECK_INTERVAL_ENV, environ.get(CHECK_INTERVAL_ENV)), (CHECK_INTERVAL_VARIABLE, variable))
    for origin, raw in candidates:
        if raw is None or not raw.strip():
            continue
        try:
            return parse_check_interval(raw, origin)
        except ValueError as error:
            LOGGER.error("priority watcher: %s; ignored", error)
    return DEFAULT_CHECK_INTERVAL_S


def _interval_variable() -> str | None:
    """The Airflow Variable, when running in the triggerer (None anywhere else)."""
    try:
        from airflow.sdk import Variable

        value = Variable.get(CHECK_INTERVAL_VARIABLE, default=None)
    except Exception as error:  # no triggerer to ask (e.g. outside Airflow): the default applies
        LOGGER.debug("priority watcher: Variable %s not readable: %s", CHECK_INTERVAL_VARIABLE, error)
        return None
    return None if value is None else str(value)


class PriorityFeedTrigger(BaseEventTrigger):
    """Fires ``{"source_ids": [...], "new_entries": n, "seen_at": iso}`` when a priority feed has news.

    Args:
        sources_file: the sources YAML; read before every check, so edits apply without a restart.
        check_interval: seconds between checks; None (the DAG's choice) reads it before each
            check from ``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S`` or the Variable
            ``muniwatch_priority_check_interval_s`` (see the module docstring).
    """

    def __init__(self, *, sources_file: str, check_interval: float | None = None) -> None:
        super().__init__()
        self.sources_file = sources_file
        self.check_interval = None if check_interval is None else float(check_interval)
        self._memory: dict[str, Any] = {}
        self._client: SafeHTTPClient | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "muniwatch_triggers.PriorityFeedTrigger",
            {"sources_file": self.sources_file, "check_interval": self.check_interval},
        )

    async def _load(self) -> dict[str, Any]:
        if self.asset_state_store is None:
            return dict(self._memory)
        stored = await self.asset_state_store.aget(CURSOR_KEY, {})
        return dict(stored) if isinstance(stored, dict) else {}

    async def _save(self, cursors: dict[str, Any]) -> None:
        self._memory = cursors
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(CURSOR_KEY, cursors)

    def _interval(self) -> float:
        if self.check_interval is not None:
            return self.check_interval
        return configured_check_interval(os.environ, _interval_variable())

    def _check_all(self, stored: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, Any]]:
        now = time.time()
        found: dict[str, list[str]] = {}
        cursors: dict[str, Any] = {}
        sources = priority_sources(self.sources_file)
        if self._client is None:  # one client for the watcher's life: pacing and keep-alive hold
            self._client = watcher_client(load_settings())
        for source_id, url in sources.items():
            cursor = FeedCursor.from_json(stored.get(source_id))
            try:
                new = check_feed(self._client, url, cursor, now)
            except FetchError as error:
                LOGGER.warning("priority source %s (%s): %s", source_id, url, error)
                new = []
            if new:
                found[source_id] = new
            cursors[source_id] = cursor.to_json()
        return found, cursors

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            while True:
                stored = await self._load()
                try:
                    found, cursors = await asyncio.to_thread(self._check_all, stored)
                except config_module.ConfigError as error:
                    LOGGER.error("priority watcher: cannot read %s:\n%s", self.sources_file, error)
                    found, cursors = {}, stored
                await self._save(cursors)
                if found:
                    yield TriggerEvent(
                        {
                            "source_ids": sorted(found),
                            "new_entries": sum(len(ids) for ids in found.values()),
                            "seen_at": datetime.now(UTC).isoformat(),
                        }
                    )
                await asyncio.sleep(await asyncio.to_thread(self._interval))
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
