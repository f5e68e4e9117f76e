"""The 287g_list source kind end to end: `muniwatch run --once` (``run_once``) over ICE's eight real
workbooks served one version per poll from a loopback server, with the real Elasticsearch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import REPO_ROOT
from pipeline.runner import run_once
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index
from pipeline.stories.clustering import StoryCandidate, assign_stories
from pipeline.tasks import ConfigPaths
from tests.support.http import LoopbackHTTPServer, Route
from tests.support.shared_sources import ICE_287G
from tests.support.xlsx import xlsx_bytes

pytestmark = pytest.mark.integration

REAL = ICE_287G
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (participating, pending, day of the poll): the versions in date order.
VERSIONS = [
    ("05292025am", "05302025pm", datetime(2025, 5, 30, 18, tzinfo=UTC)),
    ("06272025am", "06272025am", datetime(2025, 6, 27, 12, tzinfo=UTC)),
    ("07092025am", "07092025am", datetime(2025, 7, 9, 12, tzinfo=UTC)),
    ("07182025pm", "07182025pm", datetime(2025, 7, 18, 20, tzinfo=UTC)),
]


def _paths(
    tmp_path: Path, participating: str, pending: str, subscriptions: str = "subscriptions: []\n"
) -> ConfigPaths:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{id: ice-287g-participating, kind: 287g_list, list: participating, url: '{participating}'}}\n"
        f"  - {{id: ice-287g-pending, kind: 287g_list, list: pending, url: '{pending}'}}\n",
        encoding="utf-8",
    )
    (tmp_path / "subscriptions.yaml").write_text(subscriptions, encoding="utf-8")
    return ConfigPaths(
        sources=tmp_path / "sources.yaml",
        watchlists=REPO_ROOT / "config" / "watchlists.yaml",
        subscriptions=tmp_path / "subscriptions.yaml",
    )


def _list_items(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    ensure_index(es, settings, "items")
    es.indices.refresh(index=settings.index("items"))
    hits = es.search(index=settings.index("items"), query={"term": {"source_kind": "287g_list"}}, size=2000)[
        "hits"
    ]["hits"]
    return [hit["_source"] for hit in hits]


@pytest.mark.skipif(not REAL.is_dir(), reason="real ICE workbooks not available")
def test_run_once_over_the_eight_real_workbooks_makes_one_item_per_change_and_nothing_on_reruns(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    participating = http_server.url("/participatingAgencies.xlsx")
    pending = http_server.url("/pendingAgencies.xlsx")
    paths = _paths(
        tmp_path,
        participating,
        pending,
        "subscriptions:\n  - {id: list-desk, email: list@example.org, filter: {source_kinds: [287g_list]}}\n",
    )
    per_poll = []
    for number, (part, pend, now) in enumerate(VERSIONS):
        for path, name in (("/participatingAgencies.xlsx", f"participatingAgencies{part}.xlsx"),
                           ("/pendingAgencies.xlsx", f"pendingAgencies{pend}.xlsx")):  # fmt: skip
            http_server.add(path, Route(body=(REAL / name).read_bytes(), content_type=XLSX, etag=f'"{name}"'))
        before = len(_list_items(es, settings))
        summary = run_once(settings, paths, now=now)
        assert summary.ok, summary.problems
        items = _list_items(es, settings)
        per_poll.append(len(items) - before)
        # Every list change goes through alerts; the list-changes-only subscription matches each.
        assert summary.reports["alerts"]["by_subscription"].get("list-desk", 0) == per_poll[-1]
        if number == 0:
            assert items == []  # the first poll is the baseline
    # Running again on the same version: a 304 for the conditional GET, nothing new.
    again = run_once(settings, paths, now=VERSIONS[-1][2])
    assert "304" in again.sources["ice-287g-participating"].note
    # The same workbook saved again (new ETag, same rows): read, and nothing new either.
    http_server.routes["/participatingAgencies.xlsx"].etag = '"re-saved"'
    resaved = run_once(settings, paths, now=VERSIONS[-1][2])
    assert resaved.ok and resaved.sources["ice-287g-participating"].fetched == 832
    assert resaved.emails_sent == 0 and len(_list_items(es, settings)) == sum(per_poll)
    # participating 103 + pending 36; 73 + 5; 34 + 9 (see tests/unit/test_ice287g.py)
    assert per_poll == [0, 139, 78, 43]
    items = _list_items(es, settings)
    assert Counter(i["record"]["change"] for i in items) == Counter(
        added=184, support_model_added=20, removed=6, pending_added=50
    )
    polk = [
        i for i in items if i["jurisdiction"]["key"] == "us-pa-county-butler" and i["event"] == "terminate"
    ]
    assert polk and polk[0]["title"].startswith("Butler County Sheriff's Office (PA) is no longer listed")
    first = items[0]
    assert first["relevant"] is True and first["stance"] == "neutral" and first["story_id"]
    assert first["record"]["url"] == participating or first["record"]["url"] == pending
    assert all(i["alert_status"] == "done" for i in items)
    # Colbert County's Task Force Model request (pending on 27 June) was granted by 9 July.
    (colbert,) = [
        i
        for i in items
        if i["record"]["agency"] == "Colbert County Sheriff's Office"
        and i["record"]["support_model"] == "Task Force Model"
        and i["record"]["list"] == "participating"
    ]
    assert colbert["record"]["from_pending"] is True and colbert["event"] == "renew_or_expand"
    # A news article on the same signing (tagged with the same county and event) joins its story.
    signed = datetime.fromisoformat(colbert["record"]["date_signed"]).replace(tzinfo=UTC)
    news = StoryCandidate(
        item_id="news-colbert",
        title="Colbert County sheriff expands 287(g) partnership with ICE",
        text="The sheriff signed a task force agreement.",
        jurisdiction_key=colbert["jurisdiction"]["key"],
        event="renew_or_expand",
        relevant=True,
        published_at=signed + timedelta(days=2),
    )
    joined = assign_stories(es, settings, [news], now=VERSIONS[-1][2])
    assert joined == {"news-colbert": colbert["story_id"]}
    health = es.get(index=settings.index("sources"), id="ice-287g-participating")["_source"]
    assert health["health"] == "ok" and health["polls_total"] == 6 and health["items_total"] == 34 + 73 + 103


def test_a_workbook_missing_a_column_is_a_source_error_and_makes_no_items(
    es: Elasticsearch, settings: Settings, http_server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    header = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED"]
    row = ["FLORIDA", "Polk County Sheriff's Office", "County", "Polk County", "Task Force Model"]
    url = http_server.add("/p.xlsx", Route(body=xlsx_bytes([header, [*row, "2/26/2025"]]), content_type=XLSX))
    pending = http_server.add("/q.xlsx", Route(body=xlsx_bytes([header[:5], row]), content_type=XLSX))
    paths = _paths(tmp_path, url, pending)
    assert run_once(settings, paths, now=VERSIONS[0][2]).ok
    http_server.add(
        "/p.xlsx", Route(body=xlsx_bytes([header[:5], row, ["TEXAS", *row[1:]]]), content_type=XLSX)
    )
    summary = run_once(settings, paths, now=VERSIONS[1][2])
    note = summary.sources["ice-287g-participating"]
    assert note.errors == 1
    assert "participating agencies workbook: missing column(s) SIGNED" in note.note
    assert _list_items(es, settings) == []
    health = es.get(index=settings.index("sources"), id="ice-287g-participating")["_source"]
    assert health["health"] == "failing" and "SIGNED" in health["last_error"]
