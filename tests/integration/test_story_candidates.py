"""Story candidate search: found the same way whether or not the cheap doc-value path can be used.

The candidate search reads item ids from the ``canonical_url`` doc value; an item whose canonical
URL is longer than the mapping's ``ignore_above`` has none and must still be found (the search
falls back to stored ``_id``s). A ``KnownItems`` shared across batches gives the same stories as
reading every candidate from Elasticsearch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.settings import Settings
from pipeline.store.bulk import bulk_write_items
from pipeline.store.items import build_item_document
from pipeline.stories.candidates import KnownItem
from pipeline.stories.clustering import KnownItems, assign_stories
from tests.integration.test_stories_grouping import (
    NOW,
    _article,
    _candidate,
    _tags,
    assert_grouped_as_expected,
    load_fixtures,
)

pytestmark = pytest.mark.integration


def _index(es: Elasticsearch, settings: Settings, fixture: dict[str, Any], known: KnownItems | None) -> str:
    article = _article(fixture)
    story = assign_stories(es, settings, [_candidate(article, fixture)], now=NOW, known=known)[article.id]
    document = build_item_document(article, _tags(fixture), story_id=story, now=NOW)
    assert not bulk_write_items(es, settings, [document], now=NOW).failed_ids
    return story


def _fixture(fixtures_dir: Path, name: str) -> dict[str, Any]:
    return next(f for f in load_fixtures(fixtures_dir) if f["id"] == name)


def test_an_item_with_a_url_too_long_for_doc_values_is_still_a_candidate(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path
) -> None:
    wire = _fixture(fixtures_dir, "a1-wire")
    wire = {**wire, "url": wire["url"] + "?" + "x" * 5000}  # beyond ignore_above: 4096
    copy = _fixture(fixtures_dir, "a2-copy-valley-times")
    first = _index(es, settings, wire, None)
    assert _index(es, settings, copy, None) == first


@pytest.mark.parametrize("shared", [False, True])
def test_a_run_wide_cache_of_known_items_gives_the_same_stories(
    es: Elasticsearch, settings: Settings, fixtures_dir: Path, shared: bool
) -> None:
    known = KnownItems() if shared else None
    fixtures = sorted(load_fixtures(fixtures_dir), key=lambda f: f["published_at"])
    stories = {f["id"]: _index(es, settings, f, known) for f in fixtures}
    assert_grouped_as_expected(stories, fixtures)


def test_known_items_forget_everything_past_their_limit() -> None:
    known = KnownItems(limit=2)
    known.add(_known("a"))
    known.add(_known("b"))
    known.add(_known("c"))
    assert "c" in known and "a" not in known
    assert known.get("c", "story-x").story_id == "story-x"


def _known(item_id: str) -> KnownItem:
    return KnownItem(
        item_id=item_id,
        story_id="",
        minhash=(),
        jurisdiction_key=None,
        event=None,
        relevant=False,
        published_at=None,
        linked_item_ids=(),
    )
