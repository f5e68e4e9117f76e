"""Issue 17's bar: a run with one poisoned source, one poisoned subscription and one poisoned item
beside healthy ones delivers every healthy alert (loopback feeds and pages, the real
Elasticsearch, a real SMTP server)."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.store.quarantine import open_records
from tests.e2e.test_run_once import _config, _serve_demo_corpus
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 6, 12, 18, 0, tzinfo=UTC)
# ~1.6 MB of post: over the stored and the tagged caps (tagging it whole took tens of seconds).
HUGE_POST = "Travis County commissioners voted to end the county jail's ICE contract. " * 22_000


def _poison(server: LoopbackHTTPServer, es: Elasticsearch, settings: Settings) -> None:
    # The source: a server answering 304 to a request that asked nothing conditionally.
    server.add("/feeds/broken.xml", Route(status=304, body=b""))
    # The item: a Mastodon post far too long to store or tag whole.
    post = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>flood</title><item>'
        f"<link>{server.base_url}/@flood/111</link><guid>{server.base_url}/@flood/111</guid>"
        f"<pubDate>Thu, 12 Jun 2025 16:00:00 GMT</pubDate>"
        f"<description>{escape('<p>' + HUGE_POST + '</p>')}</description></item></channel></rss>"
    )
    server.add("/@flood.rss", Route(body=post.encode(), content_type="application/rss+xml"))
    # The subscription: stored before addresses were checked at the door (ASCII only now).
    doc = {"id": "accented", "email": "dèsk@example.org", "mode": "immediate", "active": True,
           "origin": "cli", "filter": {"states": ["CA"]}, "timezone": "UTC", "digest_hour": 7,
           "created_at": "2025-06-01T00:00:00+00:00"}  # fmt: skip
    es.index(index=settings.index("subscriptions"), id="accented", document=doc, refresh=True)


def test_every_healthy_alert_goes_out_beside_a_poisoned_source_subscription_and_item(
    settings: Settings,
    es: Elasticsearch,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
) -> None:
    from pipeline.store.indices import ensure_indices

    settings = settings.with_overrides(smtp_url=smtp_server.url)
    ensure_indices(es, settings)
    _serve_demo_corpus(http_server)
    _poison(http_server, es, settings)
    paths = _config(tmp_path, http_server)  # the healthy feeds and subscriptions of test_run_once
    sources = yaml.safe_load(paths.sources.read_text(encoding="utf-8"))
    for source_id, path in (("broken", "/feeds/broken.xml"), ("flood", "/@flood.rss")):
        sources["sources"].append({"id": source_id, "kind": "rss", "url": http_server.url(path)})
    paths.sources.write_text(yaml.safe_dump(sources), encoding="utf-8")

    summary = run_once(settings, paths, now=NOW)

    # Every healthy alert, exactly as a clean run sends them (tests/e2e/test_run_once.py).
    messages = smtp_server.wait_for(3)
    subjects = sorted(str(m["Subject"]) for m in messages)
    recipients = sorted(rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts)
    assert recipients == ["ca-desk@example.org", "renewals@example.org", "renewals@example.org"], subjects
    assert [s.split(":")[0].split(" —")[0][:12] for s in subjects] == [
        "Frederick Co",
        "Glendale, CA",
        "Hudson Count",
    ]
    # The poisoned source failed alone, with its reason.
    broken = summary.sources["broken"]
    assert broken.errors == 1 and "without validators" in broken.note, summary.to_dict()
    assert all(s.errors == 0 for sid, s in summary.sources.items() if sid != "broken"), summary.to_dict()
    # The poisoned item was stored capped, saying so, and tagged.
    es.indices.refresh(index=settings.index("items"))
    (post,) = es.search(index=settings.index("items"), query={"term": {"source_id": "flood"}})["hits"]["hits"]
    assert post["_source"]["text_truncated"] is True and post["_source"]["status"] == "indexed"
    assert post["_source"]["text_original_chars"] >= len(HUGE_POST.strip())
    # The poisoned subscription failed alone: its items are kept for it, with the reason.
    failed = {r["payload"]["subscription_id"] for r in open_records(es, settings, "match")}
    failed |= {r["payload"]["subscription_id"] for r in open_records(es, settings, "alert")}
    assert failed == {"accented"}
    # ... and the run says so: set aside, not lost (exit code 1).
    assert [p for p in summary.problems if p.startswith("alerts:")], summary.problems
