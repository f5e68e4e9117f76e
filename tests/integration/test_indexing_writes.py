"""Writing item documents: one document per article whatever happens, retries, clear failures."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch

from pipeline.models import Article, FeedEntry, item_id
from pipeline.settings import Settings
from pipeline.store.bulk import IndexingUnavailable, RetryPolicy, bulk_write_items
from pipeline.store.client import make_client
from pipeline.store.indices import current_index, ensure_index
from pipeline.store.items import build_item_document
from tests.support.builders import harbor_vale_tags

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=4, base_delay_s=0.05, max_delay_s=0.2)
TAGS = harbor_vale_tags(evidence={"jurisdiction": "Harbor Vale", "stance": [], "event": "voted to end"})


def document(n: int, *, title: str = "Council ends jail contract", now: datetime = NOW) -> dict[str, object]:
    url = f"https://news.example/story-{n}"
    entry = FeedEntry(
        source_id="news", source_kind="rss", url=url + "?utm_source=x", canonical_url=url, title=title
    )
    article = Article(
        entry=entry,
        final_url=url,
        title=title,
        text=f"Story number {n}. The council voted to end it.",
        published_at=NOW - timedelta(hours=n),
        matched_rules=["ice-cooperation: ICE"],
    )
    return build_item_document(article, TAGS, story_id=f"story-{n}", now=now)


def count(es: Elasticsearch, settings: Settings) -> int:
    es.indices.refresh(index=settings.index("items"))
    return int(es.count(index=settings.index("items"))["count"])


def test_writing_the_same_items_again_updates_them_in_place(es: Elasticsearch, settings: Settings) -> None:
    first = bulk_write_items(es, settings, [document(n) for n in range(5)], now=NOW)
    assert (first.created, first.updated, first.failed_ids) == (5, 0, set())
    later = NOW + timedelta(hours=1)
    second = bulk_write_items(
        es, settings, [document(n, title="Updated title", now=later) for n in range(5)], now=later
    )
    assert (second.created, second.updated) == (0, 5)
    assert count(es, settings) == 5
    stored = es.get(index=settings.index("items"), id=item_id("https://news.example/story-3"))["_source"]
    assert stored["title"] == "Updated title"
    assert stored["indexed_at"] == later.isoformat()


def test_an_enriched_item_lands_on_its_pending_document(es: Elasticsearch, settings: Settings) -> None:
    ensure_index(es, settings, "items")
    doc_id = item_id("https://news.example/story-1")
    es.create(
        index=settings.index("items"),
        id=doc_id,
        refresh=True,
        document={
            "url": "https://news.example/story-1?utm_source=x",
            "canonical_url": "https://news.example/story-1",
            "status": "pending",
            "discovered_at": "2025-06-10T07:00:00+00:00",
            "source_ids": ["news", "other-feed"],
        },
    )
    bulk_write_items(es, settings, [document(1)], now=NOW)
    assert count(es, settings) == 1
    stored = es.get(index=settings.index("items"), id=doc_id)["_source"]
    assert stored["status"] == "indexed" and stored["alert_status"] == "pending"
    # What polling wrote and enrichment does not know about is kept.
    assert stored["discovered_at"] == "2025-06-10T07:00:00+00:00"
    assert stored["source_ids"] == ["news", "other-feed"]


def test_concurrent_writers_leave_exactly_one_document_per_item(
    es: Elasticsearch, settings: Settings
) -> None:
    ensure_index(es, settings, "items")
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        client = make_client(settings)
        try:
            for round_ in range(3):
                batch = [document(n, title=f"writer {seed} round {round_}") for n in range(20)]
                report = bulk_write_items(client, settings, batch[seed % 3 :] + batch[: seed % 3], now=NOW)
                assert not report.failed_ids
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert count(es, settings) == 20
    ids = {hit["_id"] for hit in es.search(index=settings.index("items"), size=100)["hits"]["hits"]}
    assert ids == {item_id(f"https://news.example/story-{n}") for n in range(20)}


def test_items_refused_with_429_are_retried_until_accepted(es: Elasticsearch, settings: Settings) -> None:
    index = ensure_index(es, settings, "items")
    # The flood-stage block answers 429 per item, as an overloaded node does.
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    lifted = threading.Timer(
        1.0,
        lambda: es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None}),
    )
    lifted.start()
    try:
        started = time.monotonic()
        report = bulk_write_items(
            es,
            settings,
            [document(n) for n in range(3)],
            now=NOW,
            retry=RetryPolicy(attempts=8, base_delay_s=0.2, max_delay_s=1.0),
        )
    finally:
        lifted.join()
    assert time.monotonic() - started >= 1.0
    assert report.retried >= 3 and report.created == 3 and not report.failed_ids
    assert count(es, settings) == 3


def test_items_still_refused_after_every_retry_fail_the_task(es: Elasticsearch, settings: Settings) -> None:
    index = ensure_index(es, settings, "items")
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    try:
        with pytest.raises(
            IndexingUnavailable, match=r"still refused after 4 attempts .*cluster_block_exception"
        ):
            bulk_write_items(es, settings, [document(1)], now=NOW, retry=FAST)
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_elasticsearch_raises_a_clear_error(settings: Settings) -> None:
    down = settings.with_overrides(es_url=f"http://elastic:secret@127.0.0.1:{_free_port()}")
    client = make_client(down)
    with pytest.raises(IndexingUnavailable) as raised:
        bulk_write_items(client, down, [document(1)], now=NOW, retry=FAST)
    message = str(raised.value)
    assert "did not accept the item batch after 4 attempts" in message
    assert "secret" not in message and "127.0.0.1" in message


class _Forwarder:
    """A TCP relay to the real Elasticsearch that starts listening only when asked to."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: socket.socket | None = None

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def test_briefly_unreachable_elasticsearch_is_retried(es: Elasticsearch, settings: Settings) -> None:
    ensure_index(es, settings, "items")
    port = _free_port()
    target = urlsplit(settings.es_url)
    relay = _Forwarder(port, (target.hostname or "127.0.0.1", target.port or 9200))
    later = settings.with_overrides(es_url=f"http://127.0.0.1:{port}")
    client = make_client(later)
    timer = threading.Timer(1.0, relay.start)
    timer.start()
    try:
        report = bulk_write_items(
            client,
            later,
            [document(n) for n in range(2)],
            now=NOW,
            retry=RetryPolicy(attempts=8, base_delay_s=0.25, max_delay_s=1.0),
        )
    finally:
        timer.join()
        relay.close()
        client.close()
    assert report.created == 2
    assert count(es, settings) == 2
    assert current_index(es, settings, "items") == f"{settings.index('items')}-v1"
