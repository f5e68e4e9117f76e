"""poll_sources against feeds served on loopback and the real local Elasticsearch: what a user of
`muniwatch run --once` and the ops view would notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig, WatchlistConfig, load_watchlists
from pipeline.fetch.client import SafeHTTPClient
from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.sources.polling import poll_group, poll_sources, source_health
from tests.support.builders import FeedItem, rss_feed
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
WATCHLISTS = load_watchlists()


def _config(*sources: SourceConfig, watchlists: list[WatchlistConfig] | None = None) -> PipelineConfig:
    return PipelineConfig(sources=list(sources), watchlists=watchlists or WATCHLISTS, subscriptions=[])


def _serve(server: LoopbackHTTPServer, name: str, path: str, content_type: str, **route: Any) -> str:
    body = (FEEDS / name).read_bytes().replace(b"{{BASE}}", server.base_url.encode())
    body = body.replace(b"{{HOST}}", server.host.encode())
    return server.add(path, Route(body=body, content_type=content_type, **route))


def _client(settings: Settings) -> SafeHTTPClient:
    return SafeHTTPClient(settings, timeout=httpx.Timeout(2.0))


def _items(es: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), query={"match_all": {}}, size=1000)["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def _state(es: Elasticsearch, settings: Settings, source_id: str) -> dict[str, Any]:
    return dict(es.get(index=settings.index("sources"), id=source_id)["_source"])


def test_new_matching_entries_are_enqueued_once_and_the_next_poll_gets_304(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    rss = _serve(http_server, "rss20.xml", "/feeds/rss20.xml", "application/rss+xml", etag='"rss-v1"')
    atom = _serve(http_server, "atom.xml", "/atom.xml", "application/atom+xml",
                  last_modified="Thu, 12 Jun 2025 10:00:00 GMT")  # fmt: skip
    config = _config(
        SourceConfig(id="foothill", kind="rss", url=rss, home_state="CA"),
        SourceConfig(id="border-desk", kind="rss", url=atom),
    )
    report = poll_sources(es, settings, config, now=NOW, client=_client(settings))

    foothill, border = report.sources["foothill"], report.sources["border-desk"]
    assert (foothill.entries, foothill.matched, foothill.new_items, foothill.rejected) == (5, 2, 2, 2)
    assert (border.entries, border.matched, border.new_items) == (2, 1, 1)
    items = _items(es, settings)
    assert len(items) == 3 and set(report.item_ids) == set(items)
    council = items[item_id(f"{http_server.base_url}/local/council-ends-ice-contract")]
    assert council["status"] == "pending" and council["kind"] == "article" and council["attempts"] == 0
    assert council["url"].endswith(
        "/local/council-ends-ice-contract/?utm_source=feed&utm_medium=rss#comments"
    )
    assert council["source_id"] == "foothill" and council["home_state"] == "CA"
    assert council["published_at"].startswith("2025-06-09T19:05:00")
    assert council["discovered_at"].startswith("2025-06-10T12:00:00")
    assert council["watchlists"] == ["ice-cooperation"]
    assert all(label.startswith("ice-cooperation: ") for label in council["matched_rules"])
    undated = items[item_id(f"{http_server.base_url}/local/sheriff-287g")]
    assert "published_at" not in undated  # entries without dates are kept, with no made-up date

    summary = report.to_dict()
    assert summary["sources"]["foothill"]["errors"] == 2 and summary["new_items"] == 3
    assert any("no link" in reason for reason in summary["sources"]["foothill"]["rejected_reasons"])

    again = poll_sources(es, settings, config, now=NOW + timedelta(hours=1), client=_client(settings))
    assert again.new_items == 0
    assert again.sources["foothill"].not_modified and again.sources["border-desk"].not_modified
    assert http_server.seen("/feeds/rss20.xml")[-1].headers["if-none-match"] == '"rss-v1"'
    assert http_server.seen("/atom.xml")[-1].headers["if-modified-since"] == "Thu, 12 Jun 2025 10:00:00 GMT"
    assert http_server.seen("/feeds/rss20.xml")[-1].status == 304
    state = _state(es, settings, "foothill")
    assert state["polls_total"] == 2 and state["not_modified_total"] == 1 and state["items_total"] == 2
    assert state["etag"] == '"rss-v1"' and state["health"] == "ok" and state["consecutive_failures"] == 0
    assert len(_items(es, settings)) == 3


def test_unusable_entries_are_quarantined_with_the_reason(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    rss = _serve(http_server, "rss20.xml", "/feeds/rss20.xml", "application/rss+xml")
    poll_sources(es, settings, _config(SourceConfig(id="foothill", kind="rss", url=rss)), now=NOW,
                 client=_client(settings))  # fmt: skip
    es.indices.refresh(index=settings.index("quarantine"))
    records = es.search(index=settings.index("quarantine"), query={"term": {"stage": "poll"}})["hits"]["hits"]
    reasons = sorted(r["_source"]["reason"] for r in records)
    assert len(reasons) == 2
    assert "duplicate entry id" in reasons[0] and "no link" in reasons[1]
    assert {r["_source"]["source_id"] for r in records} == {"foothill"}
    assert _state(es, settings, "foothill")["rejected_last_poll"] == 2


def test_same_article_from_two_sources_under_tracking_urls_is_one_item(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    a = _serve(http_server, "polling/outlet-a.xml", "/a.xml", "application/rss+xml")
    b = _serve(http_server, "polling/outlet-b.atom", "/b.atom", "application/atom+xml")
    config = _config(
        SourceConfig(id="outlet-a", kind="rss", url=a), SourceConfig(id="outlet-b", kind="rss", url=b)
    )
    first = poll_sources(es, settings, config, now=NOW, source_ids=["outlet-a"], client=_client(settings))
    second = poll_sources(es, settings, config, now=NOW, source_ids=["outlet-b"], client=_client(settings))
    assert first.sources["outlet-a"].new_items == 2
    assert second.sources["outlet-b"].matched == 2
    assert (second.sources["outlet-b"].new_items, second.sources["outlet-b"].duplicates) == (1, 1)
    items = _items(es, settings)
    shared = items[item_id("https://example-news.com/2025/06/county-ice-contract")]
    assert shared["source_id"] == "outlet-a"
    assert len(items) == 3


def test_a_changed_feed_enqueues_only_what_is_new(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    def feed(*numbers: int) -> bytes:
        return rss_feed(
            FeedItem(f"County renews ICE contract, update {n}", f"https://news.example/{n}?utm_source=rss")
            for n in numbers
        )

    url = http_server.add("/plain.xml", Route(body=feed(1, 2), content_type="application/rss+xml"))
    config = _config(SourceConfig(id="plain", kind="rss", url=url, interval="15m"))
    assert poll_sources(es, settings, config, now=NOW, client=_client(settings)).new_items == 2
    http_server.routes["/plain.xml"].body = feed(1, 2, 3)
    report = poll_sources(es, settings, config, now=NOW + timedelta(minutes=20), client=_client(settings))
    assert (report.sources["plain"].new_items, report.sources["plain"].duplicates) == (1, 2)
    assert report.item_ids == [item_id("https://news.example/3")]


def test_interval_is_respected_unless_forced(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = _serve(http_server, "polling/outlet-a.xml", "/a.xml", "application/rss+xml")
    config = _config(SourceConfig(id="outlet-a", kind="rss", url=url, interval="1h"))
    poll_sources(es, settings, config, now=NOW, client=_client(settings))
    early = poll_sources(es, settings, config, now=NOW + timedelta(minutes=10), client=_client(settings))
    assert not early.sources["outlet-a"].polled and "not due until" in (
        early.sources["outlet-a"].skipped or ""
    )
    forced = poll_sources(es, settings, config, now=NOW + timedelta(minutes=10), force=True,
                          client=_client(settings))  # fmt: skip
    assert forced.sources["outlet-a"].polled
    later = poll_sources(es, settings, config, now=NOW + timedelta(hours=2), client=_client(settings))
    assert later.sources["outlet-a"].polled
    assert len(http_server.seen("/a.xml")) == 3


def test_failures_are_backed_off_and_recorded_with_their_reason(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/flaky.xml", Route(status=500, body=b"oops", content_type="text/plain"))
    config = _config(SourceConfig(id="flaky", kind="rss", url=url, interval="10m"))
    report = poll_sources(es, settings, config, now=NOW, client=_client(settings))
    assert report.sources["flaky"].error == "HTTP 500 Internal Server Error"
    assert report.to_dict()["sources"]["flaky"]["errors"] == 1
    state = _state(es, settings, "flaky")
    assert state["consecutive_failures"] == 1 and state["health"] == "failing" and state["last_status"] == 500
    assert state["last_error"] == "HTTP 500 Internal Server Error"
    assert state["backoff_until"].startswith("2025-06-10T12:10:00")

    # Forced polls still wait for the backoff; after it, the second failure doubles it.
    skipped = poll_sources(es, settings, config, now=NOW + timedelta(minutes=5), force=True,
                           client=_client(settings))  # fmt: skip
    assert "backing off until" in (skipped.sources["flaky"].skipped or "")
    assert "HTTP 500" in (skipped.sources["flaky"].skipped or "")
    poll_sources(es, settings, config, now=NOW + timedelta(minutes=11), client=_client(settings))
    state = _state(es, settings, "flaky")
    assert state["consecutive_failures"] == 2 and state["backoff_until"].startswith("2025-06-10T12:31:00")

    # 429 with Retry-After: the server's wait wins when it is longer than our backoff.
    http_server.routes["/flaky.xml"] = Route(status=429, body=b"", headers={"Retry-After": "7200"})
    poll_sources(es, settings, config, now=NOW + timedelta(minutes=40), client=_client(settings))
    state = _state(es, settings, "flaky")
    assert state["consecutive_failures"] == 3 and state["retry_after_s"] == 7200.0
    assert "HTTP 429" in state["last_error"] and state["backoff_until"].startswith("2025-06-10T14:40:00")

    # Recovery resets the failure count and keeps the last error for the record.
    http_server.routes["/flaky.xml"] = Route(body=(FEEDS / "polling/outlet-a.xml").read_bytes(),
                                             content_type="application/rss+xml")  # fmt: skip
    recovered = poll_sources(es, settings, config, now=NOW + timedelta(hours=3), client=_client(settings))
    assert recovered.sources["flaky"].new_items == 2
    state = _state(es, settings, "flaky")
    assert state["consecutive_failures"] == 0 and state["health"] == "ok" and state["backoff_until"] is None
    assert "HTTP 429" in state["last_error"] and state["last_success_at"].startswith("2025-06-10T15:00")


@pytest.mark.parametrize(
    ("route", "says"),
    [
        (Route(body=b"<rss/>", content_type="application/rss+xml", delay_s=3.0), "timed out"),
        (Route(body=b"\x00\x01garbage\xff" * 50, content_type="application/rss+xml"), "not a feed"),
        (Route(body=(FEEDS / "not-a-feed.html").read_bytes(), content_type="text/html"), "not a feed"),
        (Route(body=b"PNG", content_type="image/png"), "expected a feed"),
        (Route(status=404, body=b"gone", content_type="text/plain"), "HTTP 404"),
    ],
    ids=["timeout", "garbage", "html-page", "image", "404"],
)
def test_health_after_a_failure_names_the_reason(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, route: Route, says: str
) -> None:
    url = http_server.add("/bad.xml", route)
    config = _config(SourceConfig(id="bad", kind="rss", url=url))
    report = poll_sources(
        es, settings, config, now=NOW, client=SafeHTTPClient(settings, timeout=httpx.Timeout(0.5))
    )
    assert says in (report.sources["bad"].error or "")
    (row,) = source_health(es, settings, now=NOW)
    assert row["source_id"] == "bad" and row["health"] == "failing" and says in row["last_error"]
    assert row["consecutive_failures"] == 1 and row["backoff_until"]


def test_ssrf_redirect_from_a_feed_is_refused_and_recorded(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add(
        "/moved.xml", Route(status=302, headers={"Location": "http://169.254.169.254/latest/"})
    )
    report = poll_sources(es, settings, _config(SourceConfig(id="moved", kind="rss", url=url)), now=NOW,
                          client=_client(settings))  # fmt: skip
    assert "cloud metadata" in (report.sources["moved"].error or "")
    assert "refused" in _state(es, settings, "moved")["last_error"]


def test_malformed_feed_still_yields_entries_and_health_says_why(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = _serve(http_server, "malformed.xml", "/malformed.xml", "application/rss+xml")
    report = poll_sources(es, settings, _config(SourceConfig(id="broken", kind="rss", url=url)), now=NOW,
                          client=_client(settings))  # fmt: skip
    assert report.sources["broken"].new_items == 1 and report.sources["broken"].problem
    (row,) = source_health(es, settings, now=NOW)
    assert row["health"] == "degraded" and row["problem"] and row["consecutive_failures"] == 0


def test_social_posts_are_items_and_their_linked_articles_too(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = _serve(http_server, "mastodon.rss", "/@rosa.rss", "application/rss+xml")
    report = poll_sources(es, settings, _config(SourceConfig(id="rosa", kind="rss", url=url)), now=NOW,
                          client=_client(settings))  # fmt: skip
    assert (report.sources["rosa"].matched, report.sources["rosa"].new_items) == (1, 2)
    items = _items(es, settings)
    post = items[item_id(f"{http_server.base_url}/@rosa/113555000000000001")]
    article_url = f"{http_server.base_url}/news/board-ends-ice-contract"
    article = items[item_id(article_url)]
    assert post["kind"] == "post" and post["post"]["platform"] == "mastodon"
    assert post["post"]["handle"] == "@rosa@127.0.0.1" and "ICE contract" in post["post"]["text"]
    assert post["post"]["linked_urls"] == [article_url]
    assert post["post"]["linked_item_ids"] == [item_id(article_url)]
    assert article["kind"] == "article" and article["status"] == "pending" and "post" not in article
    assert (
        article["url"].endswith("?utm_source=mastodon") and article["matched_rules"] == post["matched_rules"]
    )


def test_silent_source_is_flagged_not_dropped(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = _serve(http_server, "polling/cadence.xml", "/daily.xml", "application/rss+xml")
    config = _config(SourceConfig(id="daily", kind="rss", url=url))
    poll_sources(es, settings, config, now=datetime(2025, 5, 5, 18, 0, tzinfo=UTC), client=_client(settings))
    state = _state(es, settings, "daily")
    assert state["usual_cadence_s"] == 86400.0 and not state["silent"] and state["health"] == "ok"
    report = poll_sources(
        es, settings, config, now=datetime(2025, 6, 20, tzinfo=UTC), client=_client(settings)
    )
    assert report.sources["daily"].polled
    state = _state(es, settings, "daily")
    assert state["silent"] and state["health"] == "silent"
    assert state["newest_entry_at"].startswith("2025-05-05T12:00:00")
    (row,) = source_health(es, settings, now=datetime(2025, 6, 20, tzinfo=UTC))
    assert row["silent"] and "entry_times" not in row


def test_sources_can_be_polled_by_group(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    a = _serve(http_server, "polling/outlet-a.xml", "/a.xml", "application/rss+xml")
    b = _serve(http_server, "polling/outlet-b.atom", "/b.atom", "application/atom+xml")
    config = _config(
        SourceConfig(id="outlet-a", kind="rss", url=a, group="west"),
        SourceConfig(id="outlet-b", kind="rss", url=b, group="east"),
        SourceConfig(id="off", kind="rss", url=b, group="west", enabled=False),
    )
    report = poll_group(es, settings, config, "west", now=NOW, client=_client(settings))
    assert set(report.sources) == {"outlet-a"}
    assert http_server.seen("/b.atom") == []
    unknown = poll_sources(es, settings, config, now=NOW, source_ids=["nope"], client=_client(settings))
    assert unknown.sources == {} and "nope" in unknown.warnings[0]


def test_x_sources_are_skipped_with_one_warning_without_a_token(
    es: Elasticsearch, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(
        SourceConfig(id="x-one", kind="x_account", handle="one"),
        SourceConfig(id="x-two", kind="x_search", query='"ICE contract"'),
    )
    with caplog.at_level("WARNING", logger="pipeline.sources.polling"):
        report = poll_sources(es, settings, config, now=NOW)
    warnings = [r for r in caplog.records if "X sources skipped" in r.getMessage()]
    assert len(warnings) == 1 and "x-one, x-two" in warnings[0].getMessage()
    assert "MUNIWATCH_X_BEARER_TOKEN" in warnings[0].getMessage()
    assert all("no X bearer token" in (r.skipped or "") for r in report.sources.values())
    assert report.warnings == [warnings[0].getMessage()]


def test_in_one_poll_the_source_listed_first_owns_a_shared_article(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    a = _serve(http_server, "polling/outlet-a.xml", "/a.xml", "application/rss+xml", delay_s=0.3)
    b = _serve(http_server, "polling/outlet-b.atom", "/b.atom", "application/atom+xml")
    config = _config(
        SourceConfig(id="outlet-a", kind="rss", url=a), SourceConfig(id="outlet-b", kind="rss", url=b)
    )
    report = poll_sources(es, settings, config, now=NOW, client=_client(settings))
    assert (report.sources["outlet-a"].new_items, report.sources["outlet-b"].duplicates) == (2, 1)
    shared = _items(es, settings)[item_id("https://example-news.com/2025/06/county-ice-contract")]
    assert shared["source_id"] == "outlet-a"  # although outlet-b answered first
