"""The items mapping on the real server: every DESIGN field survives with its type, and a
document that does not fit is rejected, quarantined, counted and replayable."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.models import Article, FeedEntry, PostInfo, item_id
from pipeline.settings import Settings
from pipeline.store.bulk import bulk_write_items
from pipeline.store.indices import ensure_index, load_template
from pipeline.store.items import build_item_document
from pipeline.store.quarantine import open_records, replay
from tests.support.builders import harbor_vale_tags

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)
URL = "https://news.example/harbor-vale-ice"
TAGS = harbor_vale_tags(
    id="x",
    other_jurisdictions=[{"name": "Pinecrest County", "type": "county", "state": "CA"}],
    stance="anti_cooperation",
    stance_confidence=0.81,
    evidence={
        "jurisdiction": "Harbor Vale City Council",
        "stance": ["no amount of money"],
        "event": "voted to end",
    },
    tagger_version="tagger-2025.06",
)
# DESIGN "Elasticsearch": item fields and the type each must have in the mapping.
DESIGN_FIELDS = {
    "url": "keyword",
    "canonical_url": "keyword",
    "title": "text",
    "text": "text",
    "published_at": "date",
    "source_id": "keyword",
    "relevant": "boolean",
    "jurisdiction.name": "text",
    "jurisdiction.type": "keyword",
    "jurisdiction.state": "keyword",
    "jurisdiction.key": "keyword",
    "jurisdiction.location": "geo_point",
    "other_jurisdictions.name": "text",
    "other_jurisdictions.state": "keyword",
    "stance": "keyword",
    "stance_confidence": "float",
    "event": "keyword",
    "story_id": "keyword",
    "matched_rules": "keyword",
    "tagger_version": "keyword",
    "ingested_at": "date",
    # lifecycle fields other steps rely on
    "status": "keyword",
    "indexed_at": "date",
    "alert_status": "keyword",
    "alerted_at": "date",
    "discovered_at": "date",
    "attempts": "integer",
    "post.linked_url": "keyword",
    "home_state": "keyword",
}


def article(url: str = URL, post: PostInfo | None = None) -> Article:
    entry = FeedEntry(
        source_id="hv-herald",
        source_kind="rss",
        url=url + "?utm_medium=rss",
        canonical_url=url,
        title="Council ends ICE jail deal",
        home_state="CA",
        post=post,
    )
    return Article(
        entry=entry,
        final_url=url,
        title="Council ends ICE jail deal",
        text="The Harbor Vale City Council voted to end the ICE jail contract.",
        published_at=datetime(2025, 6, 9, 21, 30, tzinfo=UTC),
        site_name="Herald",
        language="en",
    )


def flat_types(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(flat_types(spec["properties"], f"{path}."))
        else:
            out[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def test_every_design_field_survives_with_its_type(es: Elasticsearch, settings: Settings) -> None:
    index = ensure_index(es, settings, "items")
    matched = article()
    matched.matched_rules = ["ice-cooperation: ICE"]
    document = build_item_document(matched, TAGS, story_id="s-1", now=NOW)
    assert bulk_write_items(es, settings, [document], now=NOW).created == 1
    live = flat_types(es.indices.get_mapping(index=index)[index]["mappings"]["properties"])
    assert {field: live.get(field) for field in DESIGN_FIELDS} == DESIGN_FIELDS
    assert live["title.keyword"] == "keyword" and live["jurisdiction.name.keyword"] == "keyword"

    stored = es.get(index=settings.index("items"), id=item_id(URL))["_source"]
    assert stored["url"] == URL and stored["canonical_url"] == URL
    assert stored["published_at"] == "2025-06-09T21:30:00+00:00"
    assert stored["jurisdiction"] == {
        "name": "Harbor Vale",
        "type": "city",
        "state": "CA",
        "key": "us-ca-city-harbor-vale",
        "label": "Harbor Vale, CA",
        "location": {"lat": 36.61, "lon": -121.9},
    }
    assert stored["other_jurisdictions"] == [
        {"name": "Pinecrest County", "type": "county", "state": "CA", "label": "Pinecrest County, CA"}
    ]
    assert (stored["relevant"], stored["stance"], stored["stance_confidence"], stored["event"]) == (
        True,
        "anti_cooperation",
        0.81,
        "terminate",
    )
    assert (stored["story_id"], stored["matched_rules"], stored["watchlists"]) == (
        "s-1",
        ["ice-cooperation: ICE"],
        ["ice-cooperation"],
    )
    assert (stored["tagger_version"], stored["ingested_at"], stored["status"], stored["alert_status"]) == (
        "tagger-2025.06",
        NOW.isoformat(),
        "indexed",
        "pending",
    )

    # ...and each type does what an analyst expects of it.
    def hits(query: dict[str, Any]) -> int:
        return int(es.count(index=settings.index("items"), query=query)["count"])

    assert (
        hits({"geo_distance": {"distance": "20km", "jurisdiction.location": {"lat": 36.6, "lon": -121.95}}})
        == 1
    )
    assert hits({"range": {"published_at": {"gte": "2025-06-09", "lt": "2025-06-10"}}}) == 1
    assert hits({"term": {"jurisdiction.name.keyword": "HARBOR VALE"}}) == 1
    assert hits({"match": {"text": "contract"}}) == 1
    assert hits({"term": {"relevant": True}}) == 1
    buckets = es.search(
        index=settings.index("items"), size=0, aggs={"places": {"terms": {"field": "jurisdiction.label"}}}
    )["aggregations"]["places"]
    assert buckets["buckets"] == [{"key": "Harbor Vale, CA", "doc_count": 1}]


def test_a_post_keeps_its_links(es: Elasticsearch, settings: Settings) -> None:
    post = PostInfo(
        platform="mastodon",
        post_id="42",
        author="A Reporter",
        handle="areporter",
        text="Vote tonight https://news.example/harbor-vale-ice",
        linked_urls=[URL],
    )
    document = build_item_document(
        article("https://social.example/@areporter/42", post), TAGS, story_id="s-1", now=NOW
    )
    bulk_write_items(es, settings, [document], now=NOW)
    stored = es.get(index=settings.index("items"), id=item_id("https://social.example/@areporter/42"))[
        "_source"
    ]
    assert stored["kind"] == "post"
    assert stored["post"]["linked_url"] == [URL]
    assert item_id(URL) in stored["post"]["linked_item_ids"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(sentiment="angry"), "strict_dynamic_mapping_exception"),
        (lambda d: d.update(stance_confidence="very"), "document_parsing_exception"),
    ],
    ids=["unexpected field", "wrong type"],
)
def test_a_document_that_does_not_fit_is_quarantined_not_lost(
    es: Elasticsearch, settings: Settings, change: Any, reason: str
) -> None:
    good = build_item_document(article("https://news.example/good"), TAGS, story_id="s-1", now=NOW)
    bad = build_item_document(article(), TAGS, story_id="s-1", now=NOW)
    change(bad)
    report = bulk_write_items(es, settings, [good, copy.deepcopy(bad)], now=NOW)
    assert report.written == 1 and report.failed_ids == {item_id(URL)}
    assert reason in report.rejected[0].reason
    es.indices.refresh(index=settings.index("quarantine"))
    records = open_records(es, settings, "index")
    assert [r["key"] for r in records] == [URL]
    assert reason in records[0]["reason"]
    assert records[0]["payload"]["document"]["title"] == "Council ends ICE jail deal"
    # The item itself says it failed and why, for the ops view.
    marker = es.get(index=settings.index("items"), id=item_id(URL))["_source"]
    assert marker["status"] == "failed" and reason in marker["last_error"]


def test_replay_writes_the_quarantined_document_once_the_mapping_takes_it(
    es: Elasticsearch, settings: Settings
) -> None:
    bad = build_item_document(article(), TAGS, story_id="s-1", now=NOW)
    bad["sentiment"] = "angry"
    bulk_write_items(es, settings, [bad], now=NOW)
    es.indices.refresh(index=settings.index("quarantine"))
    assert replay(es, settings, "index", now=NOW) == (0, 1)  # still does not fit: stays quarantined
    index = ensure_index(es, settings, "items")
    es.indices.put_mapping(index=index, properties={"sentiment": {"type": "keyword"}})
    es.indices.refresh(index=settings.index("quarantine"))
    assert replay(es, settings, "index", now=NOW) == (1, 0)
    stored = es.get(index=settings.index("items"), id=item_id(URL))["_source"]
    assert stored["status"] == "indexed" and stored["sentiment"] == "angry"
    es.indices.refresh(index=settings.index("quarantine"))
    assert open_records(es, settings, "index") == []


def test_new_template_fields_reach_an_existing_index(es: Elasticsearch, settings: Settings) -> None:
    mappings = copy.deepcopy(load_template("items")["template"]["mappings"])
    del mappings["properties"]["lsh_bands"]
    old = f"{settings.index('items')}-v1"
    es.indices.create(
        index=old,
        settings=load_template("items")["template"]["settings"],
        mappings=mappings,
        aliases={settings.index("items"): {"is_write_index": True}},
    )
    assert ensure_index(es, settings, "items") == old
    properties = es.indices.get_mapping(index=old)[old]["mappings"]["properties"]
    assert properties["lsh_bands"] == {"type": "keyword"}
