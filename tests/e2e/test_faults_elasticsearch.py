"""Elasticsearch killed (SIGKILL) in the middle of an enrich run, then restarted: after the retry
every item is indexed exactly once, none lost, none doubled.

The shared node on :9200 is never touched: this test starts a private node on :9250 with its own
data folder, through the same ``pipeline.local.es_local`` code as ``muniwatch es up``, and stops it after.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.enrich import enrich_pending
from pipeline.local import es_local
from pipeline.settings import Settings, load_settings
from pipeline.store.client import make_client
from pipeline.tasks import poll, prepare
from tests.support.builders import FeedItem, rss_feed, write_config
from tests.support.http import LoopbackHTTPServer

pytestmark = pytest.mark.e2e

PRIVATE_PORT = 9250
ITEMS = 24
NOW = datetime(2025, 6, 9, 15, 0, tzinfo=UTC)
WORDS = ("harbor", "budget", "orchard", "tunnel", "parade", "quarry", "museum", "ferry", "clinic", "mural")


def _page(n: int) -> bytes:
    # Distinct wording per page, so each item is its own story and nothing is merged away.
    filler = " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] + str(n * 100 + i) for i in range(80))
    html = (
        f"<html lang='en'><head><title>County {n} weighs ICE contract</title></head><body><article>"
        f"<h1>County {n} weighs ICE contract</h1><p>Commissioners in county number {n} debated the ICE "
        f"contract for the jail on Monday. {filler}</p><p>{filler[::-1]}</p></article></body></html>"
    )
    return html.encode()


@pytest.fixture(scope="module")
def private_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PRIVATE_PORT)) == 0:
            pytest.fail(f"port {PRIVATE_PORT} is taken: the private Elasticsearch for this test cannot start")
    settings = load_settings({}).with_overrides(
        es_url=f"http://127.0.0.1:{PRIVATE_PORT}", var_dir=tmp_path_factory.mktemp("private-es"),
        index_prefix="mwfault", allow_hosts=frozenset({"127.0.0.1"}),
        outbox=tmp_path_factory.mktemp("outbox"),
    )  # fmt: skip
    try:
        es_local.up(settings)
        yield settings
    finally:
        es_local.down(settings)


def _indexed(settings: Settings) -> int:
    es = make_client(settings)
    try:
        es.indices.refresh(index=settings.index("items"))
        return int(es.count(index=settings.index("items"), query={"term": {"status": "indexed"}})["count"])
    except Exception:
        return -1
    finally:
        es.close()


def test_elasticsearch_killed_mid_run_then_restarted_loses_and_doubles_nothing(
    private_node: Settings, http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = private_node
    items = []
    for n in range(ITEMS):
        http_server.add(f"/a/{n}.html", body=_page(n))
        items.append(FeedItem(f"County {n} weighs ICE contract", http_server.url(f"/a/{n}.html")))
    http_server.add("/feed.xml", body=rss_feed(items, title="f"), content_type="application/rss+xml")
    paths = write_config(tmp_path, sources=[{"id": "f", "kind": "rss", "url": http_server.url("/feed.xml")}])
    prepare(settings, paths)
    assert poll(settings, paths, now=NOW, force=True).new_items == ITEMS

    failure: list[BaseException] = []

    def first_run() -> None:
        es = make_client(settings)
        try:
            enrich_pending(es, settings, paths.load(), now=NOW, batch_size=3, processes=1)
        except BaseException as error:  # the node dies under it: that is the point
            failure.append(error)

    runner = threading.Thread(target=first_run)
    runner.start()
    deadline = time.monotonic() + 120
    while _indexed(settings) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = es_local._our_pid(es_local.node_dir(settings))
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    runner.join(timeout=180)
    assert not runner.is_alive()
    assert failure, "the run should have failed while Elasticsearch was dead"

    es_local.up(settings)
    es = make_client(settings)
    es.cluster.health(wait_for_status="yellow", timeout="60s")
    partial = _indexed(settings)
    assert 3 <= partial < ITEMS  # some batches were written before the kill, not all

    report = enrich_pending(es, settings, paths.load(), now=NOW, processes=1)

    assert report.failed == 0 and report.indexed == ITEMS - partial
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), size=100, source_includes=["canonical_url", "status"])[
        "hits"
    ]
    urls = [hit["_source"]["canonical_url"] for hit in hits["hits"]]
    assert hits["total"]["value"] == ITEMS and len(set(urls)) == ITEMS
    assert {hit["_source"]["status"] for hit in hits["hits"]} == {"indexed"}
    # Every item points at a story that exists.
    story_ids = {
        hit["_source"]["story_id"]
        for hit in es.search(index=settings.index("items"), size=100)["hits"]["hits"]
    }
    es.indices.refresh(index=settings.index("stories"))
    found = es.mget(index=settings.index("stories"), ids=sorted(story_ids))["docs"]
    assert all(doc.get("found") for doc in found)
    es.close()
