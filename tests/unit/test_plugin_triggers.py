"""The priority-feed watcher in Airflow's triggerer fires as soon as a priority feed has a new entry,
keeps its cursor in the asset's state store, and leaves its interval to the configuration.

The check itself (``pipeline.sources.priority``) is tested in tests/integration/test_priority_check.py.
Talks to a real HTTP server on loopback (``http_server``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import configure_airflow_environment
from tests.support.http import LoopbackHTTPServer, Route

configure_airflow_environment()  # before Airflow is imported

from muniwatch_triggers import PriorityFeedTrigger  # noqa: E402

pytestmark = pytest.mark.integration

ATOM = "application/atom+xml"


@pytest.fixture()
def feeds(fixtures_dir: Path) -> dict[str, bytes]:
    folder = fixtures_dir / "airflow"
    return {name: (folder / f"priority-{name}.xml").read_bytes() for name in ("before", "after")}


class MemoryStateStore:
    """What the triggerer injects as ``asset_state_store`` (async get/set of JSON values)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


def test_trigger_fires_an_event_naming_the_priority_source_with_news(
    http_server: LoopbackHTTPServer, feeds: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUNIWATCH_ALLOW_HOSTS", "127.0.0.1")
    url = http_server.add("/notices.atom", Route(body=feeds["before"], content_type=ATOM, etag='"v1"'))
    quiet = http_server.add("/quiet.atom", Route(body=feeds["before"], content_type=ATOM))
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{id: city-hall, kind: rss, url: '{url}', priority: true}}\n"
        f"  - {{id: quiet-priority, kind: rss, url: '{quiet}', priority: true}}\n"
        f"  - {{id: ordinary, kind: rss, url: '{http_server.url('/ordinary.atom')}'}}\n"
    )
    trigger = PriorityFeedTrigger(sources_file=str(sources), check_interval=0.05)
    store = MemoryStateStore()
    trigger.asset_state_store = store  # type: ignore[assignment]

    async def scenario() -> Any:
        events: AsyncIterator[Any] = trigger.run()
        pending = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.5)  # several looks at the unchanged feeds: no event
        assert not pending.done()
        http_server.add("/notices.atom", Route(body=feeds["after"], content_type=ATOM, etag='"v2"'))
        event = await asyncio.wait_for(pending, timeout=10)
        await events.aclose()
        return event

    event = asyncio.run(scenario())
    assert event.payload["source_ids"] == ["city-hall"]
    assert event.payload["new_entries"] == 1
    assert http_server.seen("/ordinary.atom") == [], "only priority sources are watched"
    # The cursor survives in the asset's state store (a restarted triggerer does not re-fire).
    assert "urn:fixture:city-hall:287g-vote" in store.values["feeds"]["city-hall"]["seen"]
    assert PriorityFeedTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()


def test_the_dag_leaves_the_interval_to_the_configuration() -> None:
    trigger = PriorityFeedTrigger(sources_file="sources.yaml")
    assert trigger.serialize()[1]["check_interval"] is None
    assert PriorityFeedTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()
