"""The priority-feed check (``pipeline.sources.priority``): a new entry is seen once, politely and safely.

Talks to a real HTTP server on loopback (``http_server``); no other address is ever contacted:
the address check refuses private targets before any connection is made. The Airflow trigger
that runs this check is tested in tests/unit/test_plugin_triggers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import SourceConfig
from pipeline.fetch.client import BlockedAddress, FetchError, SafeHTTPClient, TooLarge
from pipeline.settings import Settings
from pipeline.sources.priority import (
    CHECK_INTERVAL_ENV,
    DEFAULT_CHECK_INTERVAL_S,
    MAX_BODY_BYTES,
    NO_VALIDATOR_INTERVAL_S,
    FeedCursor,
    check_feed,
    configured_check_interval,
    watcher_client,
)
from tests.support.http import LoopbackHTTPServer, Route

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
