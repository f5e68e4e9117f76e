"""Event-driven polling: a triggerer-side watcher of the priority feeds.

``PriorityFeedTrigger`` runs in the Airflow triggerer as the ``AssetWatcher`` of the
``muniwatch_priority_feeds`` asset. Every ``check_interval`` seconds it asks each source with
``priority: true`` in the sources file for its feed with a conditional GET (ETag /
Last-Modified); when a feed carries an entry id it has not seen, it fires one ``TriggerEvent``
naming those sources, and ``muniwatch_poll`` (scheduled on the asset) polls them at once instead
of waiting for its next five-minute slot.

The cursor (per feed: ETag, Last-Modified, the ids seen, a Retry-After backoff) lives in the
asset's state store (``self.asset_state_store``), so a triggerer restart neither re-fires for old
entries nor forgets what it saw. The first look at a feed only records a baseline: the scheduled
poll takes care of what was there before the watcher started.

Fetching follows the house rules for HTTP: timeouts, a body-size cap, a redirect limit with each
hop re-checked, private and loopback addresses refused unless allowed (``MUNIWATCH_ALLOW_HOSTS``),
conditional GET, ``Retry-After`` honoured, an honest User-Agent. The blocking work (DNS, feed
parsing) runs in a thread so the triggerer's event loop stays free.
"""

from __future__ import annotations

import asyncio
import calendar
import email.utils
import ipaddress
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline import config as config_module
from pipeline.settings import load_settings

LOGGER = logging.getLogger(__name__)

USER_AGENT = "muniwatch/0.1 (priority feed watcher; +https://github.com/muniwatch)"
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
SEEN_PER_FEED = 500
CURSOR_KEY = "feeds"


class FetchRefused(RuntimeError):
    """The watcher will not fetch this URL (address not allowed, too big, too many redirects)."""


@dataclass(kw_only=True)
class FeedCursor:
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


def _check_address(url: str, allow_hosts: frozenset[str]) -> None:
    """Refuse private, loopback, link-local and reserved addresses unless the host is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchRefused(f"{url}: only http(s) URLs with a host are fetched")
    host = parts.hostname.lower()
    if host in allow_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as error:
        raise FetchRefused(f"{url}: cannot resolve {host}: {error}") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchRefused(f"{url}: {host} resolves to {address}, a non-public address")


def _retry_after(value: str | None, now: float) -> float:
    if not value:
        return now + 300.0
    if value.strip().isdigit():
        return now + float(value.strip())
    parsed = email.utils.parsedate_tz(value)
    return float(calendar.timegm(parsed[:9]) - (parsed[9] or 0)) if parsed else now + 300.0


def fetch_feed(
    client: httpx.Client, url: str, cursor: FeedCursor, allow_hosts: frozenset[str], now: float
) -> tuple[int, bytes]:
    """Conditional GET with capped body and re-checked redirects; returns (status, body)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, */*;q=0.5"}
    if cursor.etag:
        headers["If-None-Match"] = cursor.etag
    if cursor.last_modified:
        headers["If-Modified-Since"] = cursor.last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        _check_address(current, allow_hosts)
        with client.stream("GET", current, headers=headers) as response:
            if response.is_redirect and response.headers.get("location"):
                current = urljoin(current, response.headers["location"])
                continue
            if response.status_code in {429, 503}:
                cursor.backoff_until = _retry_after(response.headers.get("retry-after"), now)
                return response.status_code, b""
            if response.status_code != 200:
                return response.status_code, b""
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    raise FetchRefused(f"{url}: body larger than {MAX_BODY_BYTES} bytes")
            cursor.etag = response.headers.get("etag") or cursor.etag
            cursor.last_modified = response.headers.get("last-modified") or cursor.last_modified
            return 200, bytes(body)
    raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects")


def entry_ids(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    ids: list[str] = []
    for entry in parsed.entries:
        ident = entry.get("id") or entry.get("guid") or entry.get("link") or entry.get("title")
        if ident:
            ids.append(str(ident))
    return ids


def check_feed(
    client: httpx.Client, url: str, cursor: FeedCursor, allow_hosts: frozenset[str], now: float
) -> list[str]:
    """New entry ids of one feed since the cursor (updated in place). Empty on a baseline look."""
    if cursor.backoff_until > now:
        return []
    status, body = fetch_feed(client, url, cursor, allow_hosts, now)
    if status != 200:
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


class PriorityFeedTrigger(BaseEventTrigger):
    """Fires ``{"source_ids": [...], "new_entries": n, "seen_at": iso}`` when a priority feed has news."""

    def __init__(self, *, sources_file: str, check_interval: float = 60.0) -> None:
        super().__init__()
        self.sources_file = sources_file
        self.check_interval = float(check_interval)
        self._memory: dict[str, Any] = {}

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

    def _check_all(self, stored: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, Any]]:
        allow_hosts = load_settings().allow_hosts
        now = time.time()
        found: dict[str, list[str]] = {}
        cursors: dict[str, Any] = {}
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
            for source_id, url in priority_sources(self.sources_file).items():
                cursor = FeedCursor.from_json(stored.get(source_id))
                try:
                    new = check_feed(client, url, cursor, allow_hosts, now)
                except (httpx.HTTPError, FetchRefused) as error:
                    LOGGER.warning("priority source %s (%s): %s", source_id, url, error)
                    new = []
                if new:
                    found[source_id] = new
                cursors[source_id] = cursor.to_json()
        return found, cursors

    async def run(self) -> AsyncIterator[TriggerEvent]:
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
            await asyncio.sleep(self.check_interval)
