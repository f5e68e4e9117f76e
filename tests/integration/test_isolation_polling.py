"""One source fails only itself, and no source floods the queue (issue 17, cases 5 and 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig, load_watchlists
from pipeline.fetch.client import SafeHTTPClient
from pipeline.settings import Settings
from pipeline.sources.polling import poll_sources
from tests.support.builders import FeedItem, rss_feed
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _feed(server: LoopbackHTTPServer, path: str, count: int, **route: object) -> str:
    items = [
        FeedItem(title=f"County jail ends ICE contract, part {n}", link=f"{server.base_url}{path}/{n}",
                 published=NOW - timedelta(minutes=n))
        for n in range(count)
    ]  # fmt: skip
    return server.add(path, Route(body=rss_feed(items), content_type="application/rss+xml", **route))  # type: ignore[arg-type]


def _poll(es: Elasticsearch, settings: Settings, config: PipelineConfig, now: datetime):  # type: ignore[no-untyped-def]
    client = SafeHTTPClient(settings, timeout=httpx.Timeout(2.0))
    try:
        return poll_sources(es, settings, config, now=now, force=True, client=client)
    finally:
        client.close()


def test_a_flooding_feed_enqueues_its_cap_per_poll_and_the_rest_on_later_polls(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    flood = _feed(http_server, "/flood", 25, etag='"flood-v1"')
    calm = _feed(http_server, "/calm", 3)
    config = PipelineConfig(
        sources=[SourceConfig(id="flood", kind="rss", url=flood, prefiltered=True, max_new_items=10),
                 SourceConfig(id="calm", kind="rss", url=calm, prefiltered=True)],
        watchlists=load_watchlists(), subscriptions=[],
    )  # fmt: skip

    first = _poll(es, settings, config, NOW)
    assert (first.sources["flood"].new_items, first.sources["flood"].deferred) == (10, 15)
    assert first.sources["calm"].new_items == 3
    # The deferred entries are not hidden behind a 304: the validators were not kept.
    state = es.get(index=settings.index("sources"), id="flood")["_source"]
    assert not state.get("etag")

    second = _poll(es, settings, config, NOW + timedelta(minutes=15))
    third = _poll(es, settings, config, NOW + timedelta(minutes=30))
    assert (second.sources["flood"].new_items, second.sources["flood"].deferred) == (10, 5)
    assert (third.sources["flood"].new_items, third.sources["flood"].deferred) == (5, 0)
    assert third.sources["flood"].duplicates == 20


def test_a_source_that_breaks_while_being_recorded_fails_alone(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    # An interval no check refused (an older configuration): its next poll time overflows.
    broken = SourceConfig.model_construct(
        **{**SourceConfig(id="overflow", kind="rss", url=_feed(http_server, "/a", 2)).model_dump(),
           "interval": 10**12}
    )  # fmt: skip
    healthy = SourceConfig(id="healthy", kind="rss", url=_feed(http_server, "/b", 2), prefiltered=True)
    config = PipelineConfig(sources=[broken, healthy], watchlists=load_watchlists(), subscriptions=[])

    report = _poll(es, settings, config, NOW)

    assert report.sources["healthy"].new_items == 2 and report.sources["healthy"].error is None
    assert "OverflowError" in (report.sources["overflow"].error or "")
    healthy_state = es.get(index=settings.index("sources"), id="healthy")["_source"]
    assert healthy_state["last_success_at"]


def test_http_and_https_copies_are_one_item_and_a_corrected_title_is_stored(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    """Issue 17 case 10 (lesser): two spellings of one article were two items; a headline the
    outlet corrected on the same link was never stored."""
    article = "https://news.example/2025/06/10/county-ends-ice-contract"

    def feed(path: str, link: str, title: str) -> str:
        body = rss_feed([FeedItem(title=title, link=link, published=NOW)])
        return http_server.add(path, Route(body=body, content_type="application/rss+xml"))

    first = feed("/one", article, "Count ends ICE contract")
    second = feed("/two", article.replace("https://", "http://"), "County ends ICE contract")
    config = PipelineConfig(
        sources=[SourceConfig(id="one", kind="rss", url=first, prefiltered=True),
                 SourceConfig(id="two", kind="rss", url=second, prefiltered=True)],
        watchlists=load_watchlists(), subscriptions=[],
    )  # fmt: skip
    report = _poll(es, settings, config, NOW)
    assert report.sources["one"].new_items == 1 and report.sources["two"].duplicates == 1

    feed("/one", article, "County ends ICE contract")  # the outlet fixes its typo
    _poll(es, settings, config, NOW + timedelta(minutes=15))
    es.indices.refresh(index=settings.index("items"))
    (hit,) = es.search(index=settings.index("items"), query={"match_all": {}})["hits"]["hits"]
    assert hit["_source"]["title"] == "County ends ICE contract"
    assert hit["_source"]["previous_titles"] == ["Count ends ICE contract"]


def test_a_page_served_as_a_feed_says_not_a_feed_once(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    page = http_server.add(
        "/page", Route(body=b"<html><body><p>hello</p></body></html>", content_type="text/html")
    )
    config = PipelineConfig(sources=[SourceConfig(id="page", kind="rss", url=page)],
                            watchlists=load_watchlists(), subscriptions=[])  # fmt: skip
    error = _poll(es, settings, config, NOW).sources["page"].error or ""
    assert error.lower().count("not a feed") == 1, error
