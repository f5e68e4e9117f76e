"""Source health alarms against loopback feeds and the real Elasticsearch: a broken source is
reported once per incident, with its reason; a recovery or a newly broken source starts a new one."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig, load_watchlists
from pipeline.fetch.client import SafeHTTPClient
from pipeline.ops.health import HealthThresholds, check_sources
from pipeline.ops.status import status_snapshot
from pipeline.settings import Settings
from pipeline.sources.polling import poll_sources
from tests.support.http import LoopbackHTTPServer, Route

pytestmark = pytest.mark.integration

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


def _poll(es: Elasticsearch, settings: Settings, config: PipelineConfig, at: datetime) -> None:
    client = SafeHTTPClient(settings, timeout=httpx.Timeout(2.0))
    poll_sources(es, settings, config, now=at, force=True, client=client)
    client.close()


def test_a_broken_source_is_reported_once_per_incident(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    good = (FEEDS / "polling/outlet-a.xml").read_bytes()
    ok_url = http_server.add("/ok.xml", Route(body=good, content_type="application/rss+xml"))
    gone_url = http_server.add("/gone.xml", Route(status=404, body=b"gone", content_type="text/plain"))
    sources = [
        SourceConfig(id="fine", kind="rss", url=ok_url, interval="10m"),
        SourceConfig(id="gone", kind="rss", url=gone_url, interval="10m"),
        SourceConfig(id="closed-port", kind="rss", url=_closed_port_url(), interval="10m"),
    ]
    config = PipelineConfig(sources=sources, watchlists=load_watchlists(), subscriptions=[])
    thresholds = HealthThresholds(failures=3, stale_factor=1000)

    # Polls far enough apart that the backoff never holds one back.
    times = [NOW + timedelta(days=day) for day in range(5)]
    caplog.set_level(logging.INFO, logger="pipeline.sources.polling.outcome")
    _poll(es, settings, config, times[0])
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.sources.polling.outcome"]
    assert len(lines) == 3, lines  # one line per source
    assert any(line.startswith("source gone: FAILED (HTTP 404)") for line in lines)
    assert any(line.startswith("source fine: fetched ") for line in lines)

    _poll(es, settings, config, times[1])
    early = check_sources(es, settings, config, now=times[1], thresholds=thresholds)
    assert early.alarms == [] and early.checked == 3  # two failures: below the threshold

    _poll(es, settings, config, times[2])
    first = check_sources(es, settings, config, now=times[2], thresholds=thresholds)
    assert first.new_incident
    assert [a.source_id for a in first.alarms] == ["gone", "closed-port"]
    message = first.message()
    assert "2 of 3 sources unhealthy" in message
    assert "- gone (new): 3 failed polls in a row (HTTP 404): HTTP 404" in message
    assert "closed-port (new): 3 failed polls in a row" in message

    # Clearing that run repeats its verdict; the next run sees the incident as already reported.
    assert check_sources(es, settings, config, now=times[2], thresholds=thresholds).new_incident

    # The same incident again: still listed, nothing new, so the task does not fail (no second e-mail).
    _poll(es, settings, config, times[3])
    again = check_sources(es, settings, config, now=times[3], thresholds=thresholds)
    assert not again.new_incident and [a.source_id for a in again.alarms] == ["gone", "closed-port"]

    # The status page lists the alarmed sources first, with the reason ops were sent.
    rows = status_snapshot(es, settings, now=times[3]).sources
    assert [r["source_id"] for r in rows][:2] == ["closed-port", "gone"]
    assert rows[1]["alarm_reason"].startswith("4 failed polls in a row (HTTP 404)")

    # One recovers: it loses its mark; when it breaks again, that is a new incident.
    http_server.routes["/gone.xml"] = Route(body=good, content_type="application/rss+xml")
    _poll(es, settings, config, times[4])
    recovered = check_sources(es, settings, config, now=times[4], thresholds=thresholds)
    assert recovered.recovered == ["gone"] and not recovered.new_incident
    http_server.routes["/gone.xml"] = Route(status=500, body=b"", content_type="text/plain")
    later = [times[4] + timedelta(days=day) for day in range(1, 4)]
    for moment in later:
        _poll(es, settings, config, moment)
    relapse = check_sources(es, settings, config, now=later[-1], thresholds=thresholds)
    assert relapse.new_incident
    assert {(a.source_id, a.new) for a in relapse.alarms} == {("gone", True), ("closed-port", False)}

    # A source taken out of the configuration is not watched any more: its alarm goes.
    fewer = PipelineConfig(sources=sources[:2], watchlists=config.watchlists, subscriptions=[])
    check_sources(es, settings, fewer, now=later[-1], thresholds=thresholds)
    rows = status_snapshot(es, settings, now=later[-1]).sources
    assert "closed-port" not in {r["source_id"] for r in rows if r.get("alarm_reported_at")}


def test_a_source_without_a_successful_poll_for_its_stale_limit_is_reported(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/a.xml", Route(body=(FEEDS / "polling/outlet-a.xml").read_bytes(),
                                          content_type="application/rss+xml"))  # fmt: skip
    config = PipelineConfig(
        sources=[SourceConfig(id="quiet", kind="rss", url=url, interval="1h")],
        watchlists=load_watchlists(),
        subscriptions=[],
    )
    _poll(es, settings, config, NOW)
    thresholds = HealthThresholds(failures=3, stale_factor=4)
    assert (
        check_sources(es, settings, config, now=NOW + timedelta(hours=3), thresholds=thresholds).alarms == []
    )
    stale = check_sources(es, settings, config, now=NOW + timedelta(hours=5), thresholds=thresholds)
    (alarm,) = stale.alarms
    assert alarm.new and alarm.reason.startswith("no successful poll for 5 h (interval 60 min, limit 4 h)")
