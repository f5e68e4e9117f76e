"""The priority-feed watcher fires as soon as a new entry appears, fetching politely and safely.

Talks to a real HTTP server on loopback (``http_server``); no other address is ever contacted:
the address check refuses private targets before any connection is made.
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

from pipeline.config import SourceConfig  # noqa: E402
from pipeline.fetch.client import BlockedAddress, FetchError, SafeHTTPClient, TooLarge  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.sources.priority import (  # noqa: E402
    CHECK_INTERVAL_ENV,
    DEFAULT_CHECK_INTERVAL_S,
    MAX_BODY_BYTES,
    NO_VALIDATOR_INTERVAL_S,
    FeedCursor,
    check_feed,
    configured_check_interval,
    watcher_client,
)

pytestmark = pytest.mark.integration

ATOM = "application/atom+xml"


def priority_source(url: str) -> SourceConfig:
    return SourceConfig(id="city-hall", kind="rss", url=url, priority=True)


@pytest.fixture()
def feeds(fixtures_dir: Path) -> dict[str, bytes]:
    folder = fixtures_dir / "airflow"
    return {name: (folder / f"priority-{name}.xml").read_bytes() for name in ("before", "after")}


@pytest.fixture()
def client(offline_settings: Settings) -> Any:
    with watcher_client(offline_settings.with_overrides(allow_hosts=frozenset({"127.0.0.1"}))) as http:
        yield http


@pytest.fixture()
def strict_client(offline_settings: Settings) -> Any:
    with watcher_client(offline_settings.with_overrides(allow_hosts=frozenset())) as http:
        yield http


def test_first_look_is_a_baseline_then_a_new_entry_is_reported_once(
    http_server: LoopbackHTTPServer, feeds: dict[str, bytes], client: SafeHTTPClient
) -> None:
    url = http_server.add("/notices.atom", Route(body=feeds["before"], content_type=ATOM, etag='"v1"'))
    cursor = FeedCursor()
    assert check_feed(client, priority_source(url), cursor, now=1000.0) == []
    assert cursor.baseline and cursor.etag == '"v1"'

    # Unchanged: the server answers 304 to the conditional GET, nothing is reported.
    assert check_feed(client, priority_source(url), cursor, now=1060.0) == []
    assert http_server.seen("/notices.atom")[-1].headers["if-none-match"] == '"v1"'
    assert http_server.seen("/notices.atom")[-1].status == 304

    http_server.add("/notices.atom", Route(body=feeds["after"], content_type=ATOM, etag='"v2"'))
    assert check_feed(client, priority_source(url), cursor, now=1120.0) == ["urn:fixture:city-hall:287g-vote"]
    assert check_feed(client, priority_source(url), cursor, now=1180.0) == []
    assert all(r.headers["user-agent"].startswith("muniwatch/") for r in http_server.seen("/notices.atom"))


def test_retry_after_is_honoured(http_server: LoopbackHTTPServer, client: SafeHTTPClient) -> None:
    url = http_server.add("/busy.atom", Route(status=429, headers={"Retry-After": "120"}))
    cursor = FeedCursor()
    assert check_feed(client, priority_source(url), cursor, now=1000.0) == []
    assert cursor.backoff_until == 1120.0
    check_feed(client, priority_source(url), cursor, now=1100.0)
    assert len(http_server.seen("/busy.atom")) == 1, "no request during the Retry-After window"


def test_loopback_is_refused_unless_allowed(
    http_server: LoopbackHTTPServer, strict_client: SafeHTTPClient
) -> None:
    url = http_server.add("/feed.atom", Route(body=b"<feed/>", content_type=ATOM))
    with pytest.raises(BlockedAddress):
        check_feed(strict_client, priority_source(url), FeedCursor(), now=0.0)
    assert http_server.seen("/feed.atom") == []


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/feed.xml"])
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    http_server: LoopbackHTTPServer, client: SafeHTTPClient, target: str
) -> None:
    url = http_server.add("/moved.atom", Route(status=302, headers={"Location": target}))
    with pytest.raises(FetchError, match="refused"):
        check_feed(client, priority_source(url), FeedCursor(), now=0.0)


def test_an_oversized_feed_is_refused(http_server: LoopbackHTTPServer, client: SafeHTTPClient) -> None:
    url = http_server.add("/huge.atom", Route(body=b"x" * (MAX_BODY_BYTES + 10), content_type=ATOM))
    with pytest.raises(TooLarge):
        check_feed(client, priority_source(url), FeedCursor(), now=0.0)


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


# --- how often the watcher looks ------------------------------------------------------------


def test_the_check_interval_comes_from_the_environment_then_the_variable_then_the_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {CHECK_INTERVAL_ENV: "5"}
    assert configured_check_interval(env, variable="30") == 5.0, "the environment wins"
    assert configured_check_interval({}, variable="30") == 30.0
    assert configured_check_interval({CHECK_INTERVAL_ENV: ""}, variable=None) == DEFAULT_CHECK_INTERVAL_S
    assert DEFAULT_CHECK_INTERVAL_S <= 15.0, "a p95 alert latency under 60 s needs frequent looks"
    # A bad value is named in the log and the next source down applies.
    assert configured_check_interval({CHECK_INTERVAL_ENV: "soon"}, variable="20") == 20.0
    assert configured_check_interval({CHECK_INTERVAL_ENV: "0.01"}, variable=None) == DEFAULT_CHECK_INTERVAL_S
    assert CHECK_INTERVAL_ENV in caplog.text and "'soon'" in caplog.text and "at least" in caplog.text


def test_the_dag_leaves_the_interval_to_the_configuration() -> None:
    trigger = PriorityFeedTrigger(sources_file="sources.yaml")
    assert trigger.serialize()[1]["check_interval"] is None
    assert PriorityFeedTrigger(**trigger.serialize()[1]).serialize() == trigger.serialize()


def test_a_feed_without_validators_is_looked_at_at_most_once_a_minute(
    http_server: LoopbackHTTPServer, feeds: dict[str, bytes], client: SafeHTTPClient
) -> None:
    url = http_server.add("/plain.atom", Route(body=feeds["before"], content_type=ATOM))
    cursor = FeedCursor()
    check_feed(client, priority_source(url), cursor, now=1000.0)
    check_feed(client, priority_source(url), cursor, now=1015.0)
    assert len(http_server.seen("/plain.atom")) == 1, "every look is a full download: not every 15 s"
    http_server.add("/plain.atom", Route(body=feeds["after"], content_type=ATOM))
    assert check_feed(client, priority_source(url), cursor, now=1000.0 + NO_VALIDATOR_INTERVAL_S) == [
        "urn:fixture:city-hall:287g-vote"
    ]
