"""Story grouping on the fixture articles in tests/fixtures/stories/ (see its README).

Each fixture says which story it belongs to (``expect_story``); the tests run the same steps as
the enrich batch (assign → build documents → bulk write → update stories) on the real
Elasticsearch, in one batch and one by one in both orders, and compare the partition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.models import Article, FeedEntry, PostInfo, item_id
from pipeline.settings import Settings
from pipeline.store.bulk import bulk_write_items
from pipeline.store.items import build_item_document
from pipeline.stories.clustering import StoryCandidate, assign_stories, story_id_for, update_stories

pytestmark = pytest.mark.integration

NOW = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)


def load_fixtures(fixtures_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted((fixtures_dir / "stories").glob("*.json"))
    ]


def _article(fixture: dict[str, Any]) -> Article:
    post = None
    if fixture["kind"] == "post":
        post = PostInfo(
            platform="mastodon",
            post_id=fixture["id"],
            author="Reporter",
            handle="hvreporter",
            text=fixture["text"],
            linked_urls=fixture["linked_urls"],
        )
    entry = FeedEntry(
        source_id=fixture["source_id"],
        source_kind="rss",
        url=fixture["url"],
        canonical_url=fixture["url"],
        title=fixture["title"],
        post=post,
    )
    return Article(
        entry=entry,
        final_url=fixture["url"],
        title=fixture["title"],
        text=fixture["text"],
        published_at=datetime.fromisoformat(fixture["published_at"]),
        matched_rules=["ice: ICE"],
    )


def _candidate(article: Article, fixture: dict[str, Any]) -> StoryCandidate:
    """What clustering sees of an analysed fixture article."""
    return StoryCandidate(
        item_id=article.id,
        title=article.title,
        text=article.text,
        jurisdiction_key=fixture["jurisdiction_key"],
        event=fixture["event"],
        relevant=fixture["relevant"],
        published_at=article.published_at,
        linked_urls=fixture["linked_urls"],
    )


def _tags(fixture: dict[str, Any]) -> dict[str, Any]:
    return {
        "relevant": fixture["relevant"],
        "jurisdiction": fixture["jurisdiction"],
        "other_jurisdictions": [],
        "stance": fixture["stance"],
        "stance_confidence": 0.8 if fixture["stance"] else None,
        "event": fixture["event"],
        "evidence": {"event": fixture.get("event_sentence", "")},
        "tagger_version": "fixture",
    }


def process(es: Elasticsearch, settings: Settings, batch: Sequence[dict[str, Any]]) -> dict[str, str]:
    """What the enrich step does with one batch of analysed items."""
    articles = [_article(f) for f in batch]
    candidates = [_candidate(a, f) for a, f in zip(articles, batch, strict=True)]
    stories = assign_stories(es, settings, candidates, now=NOW)
    documents = [
        build_item_document(a, _tags(f), story_id=stories[a.id], now=NOW)
        for a, f in zip(articles, batch, strict=True)
    ]
    report = bulk_write_items(es, settings, documents, now=NOW)
    assert not report.failed_ids
    update_stories(es, settings, sorted(set(stories.values())), now=NOW)
    return stories


def stored_partition(
    es: Elasticsearch, settings: Settings, fixtures: Iterable[dict[str, Any]]
) -> dict[str, str]:
    ids = {item_id(f["url"]): f["id"] for f in fixtures}
    docs = es.mget(index=settings.index("items"), ids=list(ids), source_includes=["story_id"])["docs"]
    return {ids[d["_id"]]: d["_source"]["story_id"] for d in docs}


def assert_grouped_as_expected(stories: dict[str, str], fixtures: Sequence[dict[str, Any]]) -> None:
    expected: dict[str, set[str]] = {}
    for f in fixtures:
        expected.setdefault(f["expect_story"], set()).add(f["id"])
    actual: dict[str, set[str]] = {}
    for fixture_id, story in stories.items():
        actual.setdefault(story, set()).add(fixture_id)
    assert sorted(map(sorted, actual.values())) == sorted(map(sorted, expected.values()))


def by_time(fixtures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(fixtures, key=lambda f: f["published_at"])


def test_one_batch_groups_copies_rewrites_posts_and_follow_ups(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    fixtures = load_fixtures(fixtures_dir)
    process(es, settings, fixtures)
    partition = stored_partition(es, settings, fixtures)
    assert_grouped_as_expected(partition, fixtures)
    # The story is named after its first item, whatever order the batch came in.
    assert partition["a1-wire"] == story_id_for(item_id(by_time(fixtures)[1]["url"]))


@pytest.mark.parametrize("order", ["oldest first", "newest first"])
def test_items_arriving_one_by_one_end_in_the_same_stories(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path, order: str
) -> None:
    fixtures = by_time(load_fixtures(fixtures_dir))
    if order == "newest first":
        fixtures.reverse()
    for fixture in fixtures:
        process(es, settings, [fixture])
    assert_grouped_as_expected(stored_partition(es, settings, fixtures), fixtures)
    # Every story document lists exactly the items that point at it; absorbed stories are gone.
    partition = stored_partition(es, settings, fixtures)
    es.indices.refresh(index=settings.index("stories"))
    stories = es.search(index=settings.index("stories"), size=100)["hits"]["hits"]
    assert sorted(s["_id"] for s in stories) == sorted(set(partition.values()))
    for story in stories:
        members = sorted(item_id(f["url"]) for f in fixtures if partition[f["id"]] == story["_id"])
        assert sorted(story["_source"]["item_ids"]) == members


def test_processing_items_again_keeps_their_story_and_documents(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    fixtures = load_fixtures(fixtures_dir)
    process(es, settings, fixtures)
    before = stored_partition(es, settings, fixtures)
    process(es, settings, list(reversed(fixtures))[:4])
    process(es, settings, fixtures)
    assert stored_partition(es, settings, fixtures) == before
    assert es.count(index=settings.index("items"))["count"] == len(fixtures)
    assert es.count(index=settings.index("stories"))["count"] == len(set(before.values()))


def test_story_document_sums_up_its_items(es: Elasticsearch, settings: Settings, fixtures_dir: Path) -> None:
    fixtures = load_fixtures(fixtures_dir)
    process(es, settings, fixtures)
    story_id = stored_partition(es, settings, fixtures)["a1-wire"]
    story = es.get(index=settings.index("stories"), id=story_id)["_source"]
    members = [f for f in fixtures if f["expect_story"] == "A"]
    assert story["item_count"] == len(members) == 7
    assert story["relevant_item_count"] == sum(f["relevant"] for f in members)
    assert story["jurisdiction"]["label"] == "Harbor Vale, CA"
    assert story["jurisdiction"]["location"] == {"lat": 36.61, "lon": -121.9}
    assert story["event"] == "terminate"
    assert "voted 4-1" in story["event_sentence"]
    assert story["stance_counts"] == {"pro_cooperation": 0, "anti_cooperation": 1, "neutral": 5}
    assert story["title"] == "Harbor Vale votes to end ICE jail contract"
    assert set(story["source_ids"]) == {f["source_id"] for f in members}
    assert set(story["urls"]) == {f["url"] for f in members}
    assert story["first_seen"].startswith("2025-03-04T05:10")
    assert story["last_seen"].startswith("2025-03-06T15:00")
    assert story["relevant"] is True
    assert story["items"][0]["title"] == "Harbor Vale votes to end ICE jail contract"
