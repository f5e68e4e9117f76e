"""`muniwatch run --once` end to end on loopback: feeds and pages from a local HTTP server, the
real Elasticsearch, a real SMTP server. The issue's bar: every new matching article is fetched
exactly once, a second run fetches nothing new and gets 304s back, one e-mail per story."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.local.demo import DEMO_DIR
from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.tasks import ConfigPaths
from tests.support.builders import write_config
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.e2e

NOW = datetime(2025, 6, 12, 18, 0, tzinfo=UTC)
FEEDS = {
    "/feeds/ledger.xml": ("feeds/foothill-ledger.xml", "application/rss+xml"),
    "/feeds/wire.atom": ("feeds/garden-state-wire.atom", "application/atom+xml"),
    "/feeds/review.xml": ("feeds/civic-safety-review.xml", "application/rss+xml"),
    "/@dreyes.rss": ("feeds/reporter-social.rss", "application/rss+xml"),
}
RELEVANT_PAGES = [
    "/pages/glendale-ends-ice-contract.html",
    "/pages/glendale-cuts-ties-opinion.html",
    "/pages/hudson-county-extends-ice-contract.html",
    "/pages/frederick-renews-287g.html",
]
IRRELEVANT_PAGES = ["/pages/glendale-ice-rink.html", "/pages/sussex-ice-storm.html"]


def _serve_demo_corpus(server: LoopbackHTTPServer) -> None:
    for path, (file, content_type) in FEEDS.items():
        body = (DEMO_DIR / file).read_bytes().replace(b"{{BASE}}", server.base_url.encode())
        server.add(path, Route(body=body, content_type=content_type, etag=f'"{file}-v1"'))
    for path in RELEVANT_PAGES + IRRELEVANT_PAGES:
        server.add(path, Route(body=(DEMO_DIR / path.lstrip("/")).read_bytes()))


def _config(tmp_path: Path, server: LoopbackHTTPServer) -> ConfigPaths:
    sources = [{"id": f"src-{n}", "kind": "rss", "url": server.url(path)} for n, path in enumerate(FEEDS)]
    watchlist = {"id": "ice", "rules": ['"ICE contract"', "287(g)", "ICE AND (detainer OR jail OR contract)"]}
    subscriptions = [
        {"id": "ca-desk", "email": "ca-desk@example.org", "mode": "immediate", "filter": {"states": ["CA"]}},
        {
            "id": "renewals",
            "email": "renewals@example.org",
            "mode": "immediate",
            "filter": {"events": ["renew_or_expand"]},
        },
    ]
    return write_config(tmp_path, sources=sources, watchlists=[watchlist], subscriptions=subscriptions)


def test_two_runs_fetch_each_article_once_and_alert_once(
    settings: Settings,
    es: Elasticsearch,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
) -> None:
    _serve_demo_corpus(http_server)
    paths = _config(tmp_path, http_server)
    settings = settings.with_overrides(smtp_url=smtp_server.url)

    first = run_once(settings, paths, now=NOW)
    assert first.ok, first.problems
    totals = {
        name: sum(getattr(s, name) for s in first.sources.values())
        for name in ("fetched", "matched", "indexed", "errors")
    }
    # 7 feed entries; the rink and the ice storm do not match; the post and 4 articles do.
    assert totals == {"fetched": 7, "matched": 5, "indexed": 5, "errors": 0}
    for page in RELEVANT_PAGES:
        assert len(http_server.seen(page)) == 1, f"{page} fetched {len(http_server.seen(page))} times"
    for page in IRRELEVANT_PAGES:
        assert http_server.seen(page) == [], "a page that matched no rule was fetched"

    es.indices.refresh(index=settings.index("items"))
    items = es.search(index=settings.index("items"), size=50)["hits"]["hits"]
    assert len(items) == 5  # one document per canonical URL (tracking params and #fragments dropped)
    glendale = [
        h["_source"] for h in items if (h["_source"].get("jurisdiction") or {}).get("name") == "Glendale"
    ]
    assert len(glendale) == 3 and {g["jurisdiction"]["state"] for g in glendale} == {"CA"}
    assert len({g["story_id"] for g in glendale}) == 1, "copies and the post must share a story"

    # One e-mail per story per subscription: the three Glendale items are one story for the CA desk;
    # the renewals desk gets Hudson County's extension and Frederick County's 287(g) renewal.
    messages = smtp_server.wait_for(3)
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert len(messages) == 3, subjects
    assert any(s.startswith("Glendale, CA") for s in subjects)
    assert any(s.startswith("Hudson County, NJ") for s in subjects)
    assert any(s.startswith("Frederick County, MD") for s in subjects)
    recipients = sorted(rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts)
    assert recipients == ["ca-desk@example.org", "renewals@example.org", "renewals@example.org"]

    second = run_once(settings, paths, now=NOW + timedelta(minutes=20))
    assert second.ok, second.problems
    assert sum(s.indexed for s in second.sources.values()) == 0
    for path in FEEDS:
        statuses = [r.status for r in http_server.seen(path)]
        assert statuses == [200, 304], f"{path}: {statuses}"
        assert http_server.seen(path)[1].headers.get("if-none-match")
    for page in RELEVANT_PAGES:
        assert len(http_server.seen(page)) == 1
    assert len(smtp_server.messages) == 3, "the second run sent e-mail again"


def test_make_demo_writes_a_story_alert_offline(tmp_path: Path, es_session_settings: Settings) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "MUNIWATCH_INDEX_PREFIX": f"{es_session_settings.index_prefix}-demo",
        "MUNIWATCH_OUTBOX": str(tmp_path / "outbox"),
        "MUNIWATCH_VAR_DIR": str(tmp_path / "var"),
        "MUNIWATCH_UNSUBSCRIBE_SECRET": "demo-test",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "total" in result.stdout
    emails = list((tmp_path / "outbox").glob("*.eml"))
    assert emails, result.stdout
    assert any("Subject: Glendale, CA" in e.read_text() for e in emails)
