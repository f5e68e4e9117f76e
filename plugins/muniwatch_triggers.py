"""Event-driven polling: the Airflow side of the priority-feed watcher.

``PriorityFeedTrigger`` runs in the Airflow triggerer as the ``AssetWatcher`` of the
``muniwatch_priority_feeds`` asset. Every check interval it asks each source with
``priority: true`` in the sources file whether its feed carries an entry it has not seen
(``pipeline.sources.priority.check_feed``: conditional GET through the project's HTTP client,
``parse_feed``, backoff); when one does, it fires one ``TriggerEvent`` naming those sources, and
``muniwatch_poll`` (scheduled on the asset) polls them at once instead of waiting for its next
five-minute slot.

What is Airflow's stays here: the cursors live in the asset's state store
(``self.asset_state_store``), so a triggerer restart neither re-fires for old entries nor forgets
what it saw; the check interval is read before every check (``MUNIWATCH_PRIORITY_CHECK_INTERVAL_S``,
else the Airflow Variable ``muniwatch_priority_check_interval_s``, else 15 s; an explicit
``check_interval`` wins), so a change needs no restart; one HTTP client is kept across checks, so its
per-host pacing holds between checks too; the blocking work runs in a thread so the triggerer's
event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Variable
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline.config import ConfigError
from pipeline.fetch.client import FetchError, SafeHTTPClient
from pipeline.settings import load_settings
from pipeline.sources.priority import (
    CHECK_INTERVAL_VARIABLE,
    FeedCursor,
    check_feed,
    configured_check_interval,
    priority_sources,
    watcher_client,
)

LOGGER = logging.getLogger(__name__)

CURSOR_KEY = "feeds"


def _interval_variable() -> str | None:
    """The Airflow Variable, when running in the triggerer (None anywhere else)."""
    try:
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
        # Airflow's BaseTrigger.__init__ is not annotated; mypy's untyped_calls_exclude (pyproject)
        # does not reach calls through super().
        super().__init__()  # type: ignore[no-untyped-call]
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
        for source in sources:
            cursor = FeedCursor.from_json(stored.get(source.id))
            try:
                new = check_feed(self._client, source, cursor, now)
            except FetchError as error:
                LOGGER.warning("priority source %s (%s): %s", source.id, source.url, error)
                new = []
            if new:
                found[source.id] = new
            cursors[source.id] = cursor.to_json()
        return found, cursors

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            while True:
                stored = await self._load()
                try:
                    found, cursors = await asyncio.to_thread(self._check_all, stored)
                except ConfigError as error:
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
