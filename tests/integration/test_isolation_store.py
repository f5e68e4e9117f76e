"""One item fails only itself in the store (issue 17, cases 1 and 5): a document Elasticsearch
refuses with the whole request is split out and quarantined, the rest are written; quarantine
writes in bulk; a 4 MB post is stored capped, saying so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from pipeline.limits import STORED_SUMMARY_CHARS, STORED_TEXT_CHARS
from pipeline.models import Article, FeedEntry, PostInfo, Rejected, item_id
from pipeline.settings import Settings
from pipeline.store.bulk import RetryPolicy, bulk_write_items
from pipeline.store.client import make_client
from pipeline.store.items import build_item_document
from pipeline.store.quarantine import open_records, quarantine
from tests.integration.test_indexing_writes import TAGS, document
from tests.support.es_proxy import SizeLimitingProxy

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=0.1)


@pytest.fixture()
def proxy(settings: Settings) -> Iterator[SizeLimitingProxy]:
    limiting = SizeLimitingProxy(settings.es_url, max_body_bytes=60_000)
    yield limiting
    limiting.close()


def test_a_document_too_large_for_elasticsearch_fails_alone_and_the_batch_is_written(
    es: Elasticsearch, settings: Settings, proxy: SizeLimitingProxy
) -> None:
    big = document(99)
    big["text"] = "The council voted. " * 5000  # ~95 KB: over this node's request limit
    batch = [document(n) for n in range(3)] + [big] + [document(n) for n in range(3, 6)]
    through_proxy = make_client(replace(settings, es_url=proxy.url))

    report = bulk_write_items(through_proxy, settings, batch, now=NOW, retry=FAST)

    big_id = item_id(str(big["canonical_url"]))
    assert report.written == 6 and report.failed_ids == {big_id}
    es.indices.refresh(index=settings.index("items"))
    stored = es.get(index=settings.index("items"), id=big_id)["_source"]
    assert stored["status"] == "failed" and "413" in stored["last_error"]
    (record,) = open_records(es, settings, "index")
    assert record["key"] == big["canonical_url"] and "even alone" in record["reason"]
    # Too large for this node even as a quarantine record: kept without it, saying so.
    assert record["payload"]["item_id"] == big_id and record["payload"]["payload_omitted_bytes"] > 60_000


def test_quarantine_writes_a_whole_feed_of_failures_in_one_request(
    es: Elasticsearch, settings: Settings, proxy: SizeLimitingProxy
) -> None:
    proxy.max_body_bytes = 10**9
    rejected = [
        Rejected(
            stage="fetch", key=f"https://dead.example/{n}", reason="HTTP 404 Not Found", source_id="dead"
        )
        for n in range(300)
    ]
    through_proxy = make_client(replace(settings, es_url=proxy.url))
    assert quarantine(through_proxy, settings, rejected, now=NOW) == 300
    writes = {k: v for k, v in proxy.requests.items() if k.startswith(("POST", "PUT"))}
    assert sum(v for k, v in writes.items() if "_bulk" in k) == 1, writes
    assert not [k for k in writes if "_update" in k or "_doc" in k], writes
    assert len(open_records(es, settings, "fetch")) == 300


def test_a_4_mb_post_is_stored_capped_and_says_so(es: Elasticsearch, settings: Settings) -> None:
    text = "Sheriff signs a 287(g) agreement with ICE. " * 100_000  # 4.3 MB
    url = "https://mastodon.example/@desk/1"
    entry = FeedEntry(
        source_id="masto", source_kind="rss", url=url, canonical_url=url, title="A long post", summary=text,
        post=PostInfo(platform="mastodon", post_id="1", author="desk", handle="@desk@mastodon.example",
                      text=text, linked_urls=[]),
    )  # fmt: skip
    article = Article(entry=entry, final_url=url, title="A long post", text=text, matched_rules=["w: ICE"])
    doc = build_item_document(article, TAGS, story_id="s", now=NOW)

    assert len(doc["text"]) <= STORED_TEXT_CHARS and len(doc["summary"]) <= STORED_SUMMARY_CHARS
    assert len(doc["post"]["text"]) <= STORED_SUMMARY_CHARS
    assert doc["text_truncated"] is True and doc["text_original_chars"] == len(text)
    report = bulk_write_items(es, settings, [doc], now=NOW)
    assert report.written == 1 and not report.failed_ids
