"""X accounts and searches through tweepy, against the fake X API on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tweepy
import yaml
from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig, load_watchlists
from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.sources.polling import poll_sources
from pipeline.sources.x import make_x_client
from tests.support.fake_x import FakeXAPI

pytestmark = pytest.mark.integration

DATA = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "x" / "timeline.yaml").read_text("utf-8")
)
NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
WATCHLISTS = load_watchlists()


def _tweet_args(tweet: dict[str, Any]) -> dict[str, Any]:
    return {"created_at": tweet["created_at"], "urls": tweet.get("urls")}


@pytest.fixture()
def fake_x() -> Iterator[FakeXAPI]:
    fake = FakeXAPI(token="test-token")
    for user in DATA["users"]:
        fake.add_user(user["username"], user["name"])
    for username, tweets in DATA["timeline"].items():
        for tweet in tweets:
            fake.add_tweet(username, tweet["text"], **_tweet_args(tweet))
    for tweet in DATA["search"]:
        fake.add_search_result(tweet["username"], tweet["text"], **_tweet_args(tweet))
    yield fake
    fake.close()


@pytest.fixture()
def x_settings(settings: Settings) -> Settings:
    return settings.with_overrides(x_bearer_token="test-token")


def _client(settings: Settings, fake: FakeXAPI) -> tweepy.Client:
    return make_x_client(settings, session=fake.session())


def _config(*sources: SourceConfig) -> PipelineConfig:
    return PipelineConfig(sources=list(sources), watchlists=WATCHLISTS, subscriptions=[])


def _items(es: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), query={"match_all": {}}, size=100)["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def _state(es: Elasticsearch, settings: Settings, source_id: str) -> dict[str, Any]:
    return dict(es.get(index=settings.index("sources"), id=source_id)["_source"])


ACCOUNT = SourceConfig(id="x-desk", kind="x_account", handle="deskreporter", home_state="CA")


def test_account_tweets_become_post_items_with_their_articles(
    es: Elasticsearch, x_settings: Settings, fake_x: FakeXAPI
) -> None:
    report = poll_sources(es, x_settings, _config(ACCOUNT), now=NOW, x_client=_client(x_settings, fake_x))
    result = report.sources["x-desk"]
    assert (result.entries, result.matched, result.new_items, result.error) == (3, 1, 2, None)

    first_id = fake_x.timelines["1000"][0]["id"]
    items = _items(es, x_settings)
    post = items[item_id(f"https://x.com/deskreporter/status/{first_id}")]
    assert post["kind"] == "post" and post["url"] == f"https://x.com/deskreporter/status/{first_id}"
    assert post["post"]["platform"] == "x" and post["post"]["handle"] == "deskreporter"
    assert post["post"]["author"] == "Desk Reporter" and post["post"]["post_id"] == first_id
    assert post["post"]["text"].startswith("BREAKING: the city of Westfield")
    assert post["published_at"].startswith("2025-06-09T20:15:00") and post["home_state"] == "CA"
    article_canonical = "https://westfield-news.example/2025/06/09/ice-contract-ended"
    assert post["post"]["linked_urls"] == [article_canonical]
    article = items[item_id(article_canonical)]
    assert article["kind"] == "article" and article["status"] == "pending"
    assert article["url"].endswith("ice-contract-ended/?utm_source=twitter")

    # The bearer token was sent, the first poll read one page, the cursor is the newest tweet.
    timeline_calls = fake_x.seen("/tweets")
    assert len(timeline_calls) == 1 and "since_id" not in timeline_calls[0].params
    assert timeline_calls[0].headers["authorization"] == "Bearer test-token"
    assert _state(es, x_settings, "x-desk")["cursor"] == fake_x.timelines["1000"][-1]["id"]


def test_next_poll_asks_since_the_cursor_and_follows_pages(
    es: Elasticsearch, x_settings: Settings, fake_x: FakeXAPI
) -> None:
    config = _config(ACCOUNT)
    poll_sources(es, x_settings, config, now=NOW, x_client=_client(x_settings, fake_x))
    cursor = _state(es, x_settings, "x-desk")["cursor"]
    for tweet in DATA["later"]["deskreporter"]:
        fake_x.add_tweet("deskreporter", tweet["text"], **_tweet_args(tweet))
    fake_x.page_size = 2

    later = NOW + timedelta(hours=8)
    report = poll_sources(es, x_settings, config, now=later, x_client=_client(x_settings, fake_x))
    result = report.sources["x-desk"]
    expected = sum(t["matches"] for t in DATA["later"]["deskreporter"])
    assert (result.entries, result.matched, result.new_items) == (5, expected, expected)
    calls = fake_x.seen("/tweets")[1:]
    assert [c.params.get("since_id") for c in calls] == [cursor] * 3
    assert [c.params.get("pagination_token") for c in calls] == [None, "p2", "p4"]
    assert _state(es, x_settings, "x-desk")["cursor"] == fake_x.timelines["1000"][-1]["id"]

    again = poll_sources(
        es, x_settings, config, now=later + timedelta(hours=1), x_client=_client(x_settings, fake_x)
    )
    assert again.sources["x-desk"].entries == 0 and again.new_items == 0


def test_search_source_sends_the_query_and_skips_links_back_into_x(
    es: Elasticsearch, x_settings: Settings, fake_x: FakeXAPI
) -> None:
    source = SourceConfig(id="x-search", kind="x_search", query='"ICE contract" -is:retweet')
    fake_x.page_size = 1
    report = poll_sources(es, x_settings, _config(source), now=NOW, x_client=_client(x_settings, fake_x))
    # First poll reads one page only (no backfill); the page holds the newest result.
    assert report.sources["x-search"].entries == 1
    (call,) = fake_x.seen("/search/recent")
    assert call.params["query"] == '"ICE contract" -is:retweet'
    items = _items(es, x_settings)
    (post,) = items.values()
    assert post["post"]["handle"] == "deskreporter" and post["post"]["linked_urls"] == []

    fake_x.page_size = None
    poll_sources(
        es, x_settings, _config(source), now=NOW + timedelta(hours=1), x_client=_client(x_settings, fake_x)
    )
    assert item_id("https://county-paper.example/news/ice-contract-approved") not in _items(es, x_settings)
    # Older results than the cursor are not asked for again: since_id is the newest id.
    assert fake_x.seen("/search/recent")[-1].params["since_id"] == fake_x.search_results[-1]["id"]


def test_rate_limit_backs_the_source_off_until_the_reset(
    es: Elasticsearch, x_settings: Settings, fake_x: FakeXAPI
) -> None:
    fake_x.rate_limited = 1
    fake_x.rate_limit_reset = int((NOW + timedelta(minutes=45)).timestamp())
    report = poll_sources(es, x_settings, _config(ACCOUNT), now=NOW, x_client=_client(x_settings, fake_x))
    result = report.sources["x-desk"]
    assert result.status == 429 and "rate limit" in (result.error or "") and result.retry_after_s == 2700.0
    state = _state(es, x_settings, "x-desk")
    assert state["backoff_until"].startswith("2025-06-10T12:45:00") and state["consecutive_failures"] == 1

    early = poll_sources(es, x_settings, _config(ACCOUNT), now=NOW + timedelta(minutes=30), force=True,
                         x_client=_client(x_settings, fake_x))  # fmt: skip
    assert "backing off" in (early.sources["x-desk"].skipped or "")
    after = poll_sources(es, x_settings, _config(ACCOUNT), now=NOW + timedelta(minutes=46),
                         x_client=_client(x_settings, fake_x))  # fmt: skip
    assert after.sources["x-desk"].new_items == 2
    assert _state(es, x_settings, "x-desk")["consecutive_failures"] == 0


def test_bad_token_and_unknown_account_are_reported(
    es: Elasticsearch, x_settings: Settings, fake_x: FakeXAPI
) -> None:
    wrong = make_x_client(x_settings.with_overrides(x_bearer_token="wrong"), session=fake_x.session())
    report = poll_sources(es, x_settings, _config(ACCOUNT), now=NOW, x_client=wrong)
    assert "bearer token" in (report.sources["x-desk"].error or "")
    ghost = SourceConfig(id="x-ghost", kind="x_account", handle="nobodyhere")
    report = poll_sources(es, x_settings, _config(ghost), now=NOW, x_client=_client(x_settings, fake_x))
    assert "@nobodyhere not found" in (report.sources["x-ghost"].error or "")
