"""The trimmed reads behind clustering and story documents give what the full reads gave.

The candidate ``msearch`` asks Elasticsearch for hit fields only (``filter_path``): a query
without hits must still answer in its own place, or every later item of the batch would get
another item's candidates. Story documents read the items without their signatures and take
the first item's signature in a second read: the story document still carries it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.settings import Settings
from pipeline.store.bulk import bulk_write_items
from pipeline.store.items import build_item_document
from pipeline.stories.candidates import search_candidates
from pipeline.stories.clustering import assign_stories, update_stories
from tests.integration.test_stories_grouping import NOW, _article, _candidate, _tags, load_fixtures

pytestmark = pytest.mark.integration


def _write_fixtures(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> dict[str, dict[str, object]]:
    documents = {}
    for fixture in sorted(load_fixtures(fixtures_dir), key=lambda f: f["published_at"]):
        article = _article(fixture)
        story = assign_stories(es, settings, [_candidate(article, fixture)], now=NOW)[article.id]
        document = build_item_document(article, _tags(fixture), story_id=story, now=NOW)
        assert not bulk_write_items(es, settings, [document], now=NOW).failed_ids
        documents[article.id] = document
    return documents


def test_a_query_without_hits_keeps_the_others_in_their_places(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    documents = _write_fixtures(es, settings, fixtures_dir)
    first, second = list(documents)[:2]
    alias = settings.index("items")
    nothing = {"ids": {"values": ["no-such-item"]}}
    results = search_candidates(
        es, alias, [nothing, {"ids": {"values": [first]}}, nothing, {"ids": {"values": [second]}}, nothing]
    )
    assert [[hit_id for hit_id, _ in hits] for hits in results] == [[], [first], [], [second], []]
    assert results[1][0][1] == documents[first]["story_id"]


def test_a_story_document_carries_its_first_items_signature(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    documents = _write_fixtures(es, settings, fixtures_dir)
    stories = sorted({str(d["story_id"]) for d in documents.values()})
    update_stories(es, settings, stories, now=NOW)
    for story in stories:
        members = [d for d in documents.values() if d["story_id"] == story]
        stored = es.get(index=settings.index("stories"), id=story)["_source"]
        first = next(d for d in members if d["url"] == stored["items"][0]["url"])
        assert stored["minhash"] == first["minhash"]
        assert stored["lsh_bands"] == first["lsh_bands"]
        assert stored["item_count"] == len(members)
