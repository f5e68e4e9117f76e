"""``reindex_items``: a new index version, re-tagged, swapped in while writes and reads go on."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.models import Article, FeedEntry, item_id
from pipeline.settings import Settings
from pipeline.store.bulk import bulk_write_items
from pipeline.store.client import make_client
from pipeline.store.indices import alias_indices, current_index
from pipeline.store.items import build_item_document
from pipeline.store.reindex import ReindexError, reindex_items
from tests.support.builders import harbor_vale_tags

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)
TAGS = harbor_vale_tags(stance_confidence=0.6, tagger_version="old")


def document(n: int, title: str) -> dict[str, Any]:
    url = f"https://news.example/item-{n}"
    entry = FeedEntry(source_id="news", source_kind="rss", url=url, canonical_url=url, title=title)
    article = Article(
        entry=entry,
        final_url=url,
        title=title,
        text=f"Item {n} about the jail contract.",
        published_at=NOW - timedelta(minutes=n),
    )
    return build_item_document(article, TAGS, story_id=f"story-{n % 7}", now=NOW)


def new_tagger(source: Mapping[str, Any]) -> dict[str, Any]:
    return {"tagger_version": "new", "stance": "anti_cooperation"}


def titles(es: Elasticsearch, settings: Settings) -> dict[str, tuple[str, str]]:
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), size=2000, source_includes=["title", "tagger_version"])
    return {h["_id"]: (h["_source"]["title"], h["_source"]["tagger_version"]) for h in hits["hits"]["hits"]}


def test_reindex_retags_into_a_new_version_and_swaps_the_alias(es: Elasticsearch, settings: Settings) -> None:
    bulk_write_items(es, settings, [document(n, f"item {n}") for n in range(50)], now=NOW)
    report = reindex_items(es, settings, retag=new_tagger, now=NOW, batch_size=20)
    assert (report.copied, report.retagged, report.caught_up) == (50, 50, 0)
    assert report.new_index == f"{settings.index('items')}-v2"
    assert alias_indices(es, settings, "items") == {report.new_index: True}
    assert current_index(es, settings, "items") == report.new_index
    stored = titles(es, settings)
    assert len(stored) == 50 and {version for _, version in stored.values()} == {"new"}
    # Stories whose items changed stance are recomputed from the new index.
    assert report.stories_updated == 7
    story = es.get(index=settings.index("stories"), id="story-0")["_source"]
    assert story["stance_counts"]["anti_cooperation"] == story["item_count"]
    # The old index is kept for a rollback, untouched.
    assert es.count(index=report.old_index)["count"] == 50
    # A second reindex moves on to v3.
    assert reindex_items(es, settings, retag=None, now=NOW).new_index == f"{settings.index('items')}-v3"


def test_no_write_is_lost_and_reads_never_fail_during_the_swap(es: Elasticsearch, settings: Settings) -> None:
    bulk_write_items(es, settings, [document(n, f"item {n}") for n in range(300)], now=NOW)
    last_write: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    problems: list[str] = []
    counts: list[int] = []

    def write(client: Elasticsearch, numbers: range, label: str) -> None:
        docs = [document(n, f"{label} {n}") for n in numbers]
        report = bulk_write_items(client, settings, docs, now=NOW, refresh=False)
        with lock:
            for doc in docs:
                if item_id(doc["canonical_url"]) in report.written_ids:
                    last_write[item_id(doc["canonical_url"])] = doc["title"]

    def writer() -> None:  # updates existing items and adds new ones, all the time
        client = make_client(settings)
        round_ = 0
        try:
            while not stop.is_set():
                round_ += 1
                write(client, range(round_ * 7 % 300, round_ * 7 % 300 + 5), f"live {round_}")
                write(client, range(1000 + round_ * 3, 1000 + round_ * 3 + 3), f"new {round_}")
        except Exception as error:
            problems.append(f"writer: {error}")
        finally:
            client.close()

    def reader() -> None:
        client = make_client(settings)
        try:
            while not stop.is_set():
                counts.append(int(client.count(index=settings.index("items"))["count"]))
        except Exception as error:
            problems.append(f"reader: {error}")
        finally:
            client.close()

    def during(phase: str) -> None:
        # Deterministic writes in each window, besides the free-running writer:
        # "copied" → lands in the old index after its copy; "swapped" → lands in the new index.
        write(es, range(10, 20), f"at {phase}")
        write(
            es,
            range(2000 if phase == "copied" else 3000, (2000 if phase == "copied" else 3000) + 10),
            f"at {phase}",
        )

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    try:
        report = reindex_items(es, settings, retag=new_tagger, now=NOW, batch_size=50, on_phase=during)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not problems
    assert alias_indices(es, settings, "items") == {report.new_index: True}
    stored = titles(es, settings)
    expected = {item_id(f"https://news.example/item-{n}") for n in range(300)} | set(last_write)
    assert set(stored) == expected  # nothing lost, nothing extra
    assert {i: title for i, (title, _) in stored.items() if i in last_write} == last_write  # newest write won
    assert report.caught_up >= 10  # the items written during the copy came across
    assert report.kept_newer >= 10  # ...except where a write after the swap was newer
    assert min(counts) >= 300  # readers saw every copied item throughout


def test_an_unfinished_swap_is_reported_not_guessed(es: Elasticsearch, settings: Settings) -> None:
    bulk_write_items(es, settings, [document(1, "one")], now=NOW)
    es.indices.create(index=f"{settings.index('items')}-v7", aliases={settings.index("items"): {}})
    with pytest.raises(ReindexError, match="an earlier reindex did not finish"):
        reindex_items(es, settings, retag=None, now=NOW)


def test_reindex_command_retags_with_the_current_tagger(
    es: Elasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main
    from pipeline.tagging import TagInput, tag_item

    url = "https://news.example/glendale"
    entry = FeedEntry(source_id="news", source_kind="rss", url=url, canonical_url=url, title="t")
    text = "The Glendale City Council in California voted to end its contract with ICE to hold detainees."
    article = Article(
        entry=entry, final_url=url, title="Glendale ends ICE jail contract", text=text, published_at=NOW
    )
    stale = {"relevant": False, "tagger_version": "0.0.1"}
    bulk_write_items(es, settings, [build_item_document(article, stale, story_id="s", now=NOW)], now=NOW)
    monkeypatch.setenv("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)
    monkeypatch.setenv("MUNIWATCH_ES_URL", settings.es_url)
    assert main(["reindex", "--batch-size", "10"]) == 0
    out = capsys.readouterr().out
    assert (
        f"{settings.index('items')}-v1 -> {settings.index('items')}-v2; copied 1 items (1 re-tagged)" in out
    )
    stored = es.get(index=settings.index("items"), id=item_id(url))["_source"]
    expected = tag_item(TagInput(id=url, title=article.title, text=text, url=url))
    assert stored["tagger_version"] == expected.tagger_version != "0.0.1"
    assert stored["relevant"] is expected.relevant is True
    assert stored["jurisdiction"]["key"] == "us-ca-city-glendale"
