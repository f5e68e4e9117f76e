"""Faults on real servers: bad sources do not hurt good ones, SMTP outages lose and double
nothing, a crash between indexing and alerting is healed by the next run.

Elasticsearch killed mid-run is in tests/e2e/test_faults_elasticsearch.py (it starts a private
node, which takes a while).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline import tasks
from pipeline.fetch.client import SafeHTTPClient
from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.sources.polling import poll_sources, source_health
from tests.support.builders import CA_DESK, FeedItem, rss_feed, write_config
from tests.support.http import LoopbackHTTPServer
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 9, 15, 0, tzinfo=UTC)
PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2025-06-09T12:00:00Z"></head><body><article>
<h1>{title}</h1><p>{city_upper}, Calif. — The city of {city} has ended its contract with U.S. Immigration and
Customs Enforcement to hold federal immigration detainees in the city jail, officials said on Monday,
closing an arrangement that began more than a decade ago.</p><p>Under the contract the police department
housed people detained by ICE for up to 72 hours. The council asked for a review of the jail contract
this spring after residents raised concerns at several meetings.</p><p>"Our officers do not enforce
federal immigration law," the city said in a statement about the ICE contract.</p></article></body></html>"""


OTHER_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2025-06-09T12:00:00Z"></head><body><article>
<h1>{title}</h1><p>{city_upper}, Calif. — Supervisors in {city} voted 4-1 on Tuesday to renew the county's
agreement to rent jail beds to federal immigration authorities for another five years.</p><p>The sheriff
said the revenue pays for two deputies; opponents, who filled the chamber, said renewing the ICE contract
undermines trust among immigrant families and promised to keep organising.</p><p>The renewal takes effect
in July and includes a clause requiring quarterly reports on detainee numbers.</p></article></body></html>"""


def feed(server: LoopbackHTTPServer, entries: list[tuple[str, str]]) -> bytes:
    published = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)
    return rss_feed(
        FeedItem(title, server.url(path), guid=path, published=published) for title, path in entries
    )


def publish(server: LoopbackHTTPServer, path: str, city: str, *, renew: bool = False) -> tuple[str, str]:
    title = f"{city} renews ICE contract for jail beds" if renew else f"{city} ends ICE contract at city jail"
    page = OTHER_PAGE if renew else PAGE
    server.add(path, body=page.format(title=title, city=city, city_upper=city.upper()).encode())
    return title, path


def test_hanging_failing_throttled_and_garbage_sources_do_not_stop_the_good_one(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    good = [publish(http_server, "/good/1.html", "Glendale")]
    http_server.add("/good.xml", body=feed(http_server, good), content_type="application/rss+xml")
    http_server.add(
        "/hang.xml", body=feed(http_server, good), delay_s=8.0, content_type="application/rss+xml"
    )
    http_server.add("/500.xml", status=500, body=b"boom")
    http_server.add("/429.xml", status=429, headers={"Retry-After": "120"}, body=b"slow down")
    garbage = os.urandom(4096)
    http_server.add("/garbage.xml", body=garbage, content_type="application/rss+xml")
    names = ("good", "hang", "500", "429", "garbage")
    sources = [{"id": f"src-{n}", "kind": "rss", "url": http_server.url(f"/{n}.xml")} for n in names]
    paths = write_config(tmp_path, sources=sources, subscriptions=[CA_DESK])
    # The same client as production with short limits, so the hanging source costs seconds, not a minute.
    client = SafeHTTPClient(settings, timeout=httpx.Timeout(2.0), total_timeout_s=3.0)

    report = poll_sources(es, settings, paths.load(), now=NOW, force=True, client=client)
    client.close()

    assert report.sources["src-good"].new_items == 1 and not report.sources["src-good"].error
    health = {row["source_id"]: row for row in source_health(es, settings, now=NOW)}
    assert health["src-good"]["last_error"] is None
    reasons = {n: str(health[f"src-{n}"]["last_error"]) for n in names[1:]}
    assert "timed out" in reasons["hang"]
    assert "HTTP 500" in reasons["500"]
    assert "HTTP 429" in reasons["429"] and "120" in reasons["429"]
    assert "not a feed" in reasons["garbage"]
    # The throttled source is left alone until the server's Retry-After has passed.
    assert health["src-429"]["backoff_until"] >= (NOW + timedelta(seconds=120)).isoformat()
    assert all(health[f"src-{n}"]["health"] != "ok" for n in names[1:])


def test_smtp_down_during_a_run_then_back_sends_each_email_once(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
) -> None:  # fmt: skip
    entries = [
        publish(http_server, "/a/1.html", "Glendale"),
        publish(http_server, "/a/2.html", "Fresno", renew=True),
    ]
    http_server.add("/feed.xml", body=feed(http_server, entries), content_type="application/rss+xml")
    source = {"id": "ca", "kind": "rss", "url": http_server.url("/feed.xml"), "home_state": "CA"}
    paths = write_config(tmp_path, sources=[source], subscriptions=[CA_DESK])
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    smtp_server.stop()

    down = run_once(smtp_settings, paths, now=NOW)
    assert down.sources["ca"].indexed == 2
    assert down.reports["alerts"]["emails_sent"] == 0
    assert down.reports["alerts"]["emails_deferred"] == 2

    smtp_server.start()
    later = NOW + timedelta(minutes=10)
    run_once(smtp_settings, paths, now=later)
    run_once(smtp_settings, paths, now=later + timedelta(minutes=10))

    messages = smtp_server.wait_for(2, timeout=5.0)
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert len(messages) == 2, subjects
    assert any("Glendale" in s for s in subjects) and any("Fresno" in s for s in subjects)


def test_crash_between_indexing_and_alerting_alerts_exactly_once_on_the_next_run(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
) -> None:  # fmt: skip
    entries = [publish(http_server, "/a/1.html", "Glendale")]
    http_server.add("/feed.xml", body=feed(http_server, entries), content_type="application/rss+xml")
    source = {"id": "ca", "kind": "rss", "url": http_server.url("/feed.xml"), "home_state": "CA"}
    paths = write_config(tmp_path, sources=[source], subscriptions=[CA_DESK])
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    # The run that "crashes": prepare, poll and enrich complete, the process dies before alerts.
    tasks.prepare(smtp_settings, paths)
    tasks.poll(smtp_settings, paths, now=NOW, force=True)
    assert tasks.enrich(smtp_settings, paths, now=NOW).indexed == 1
    assert smtp_server.messages == []

    first = run_once(smtp_settings, paths, now=NOW + timedelta(minutes=5))
    second = run_once(smtp_settings, paths, now=NOW + timedelta(minutes=10))

    assert first.reports["alerts"]["emails_sent"] == 1
    assert second.reports["alerts"]["emails_sent"] == 0
    assert len(smtp_server.wait_for(1)) == 1
    assert "Glendale" in str(smtp_server.messages[0]["Subject"])
