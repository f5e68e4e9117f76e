"""The *muniwatch status* view shows what ops need, from the real Elasticsearch; unsubscribe works.

The FastAPI app is exercised through HTTP (Starlette's test client) against the per-test index
prefix on the local Elasticsearch; the figures come from documents written through the mappings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from pipeline.models import Rejected
from pipeline.ops import status as ops_status
from pipeline.settings import Settings
from pipeline.store.indices import ensure_indices
from pipeline.store.quarantine import quarantine
from tests.e2e.conftest import configure_airflow_environment

configure_airflow_environment()  # before Airflow is imported

from muniwatch_status import create_app  # noqa: E402

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 12, 15, 0, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)


def _item(n: int, *, status: str, indexed_at: datetime | None, relevant: bool | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "url": f"https://news.example/{n}",
        "canonical_url": f"https://news.example/{n}",
        "title": f"Item {n}",
        "source_id": "valley-courier",
        "status": status,
        "discovered_at": (NOW - timedelta(days=2)).isoformat(),
    }
    if indexed_at is not None:
        doc.update(indexed_at=indexed_at.isoformat(), alert_status="pending")
    if relevant is not None:
        doc["relevant"] = relevant
    return doc


@pytest.fixture()
def seeded(es: Elasticsearch, settings: Settings) -> Settings:
    ensure_indices(es, settings)
    docs = [
        _item(1, status="indexed", indexed_at=NOW - timedelta(hours=2), relevant=True),
        _item(2, status="indexed", indexed_at=NOW - timedelta(hours=3), relevant=False),
        _item(3, status="indexed", indexed_at=YESTERDAY, relevant=True),
        _item(4, status="pending", indexed_at=None, relevant=None),
        _item(5, status="failed", indexed_at=None, relevant=None),
    ]
    for n, doc in enumerate(docs):
        es.index(index=settings.index("items"), id=f"item-{n}", document=doc)
    es.index(
        index=settings.index("stories"),
        id="story-1",
        document={
            "story_id": "story-1",
            "title": "A story",
            "first_seen": (NOW - timedelta(days=30)).isoformat(),
            "first_indexed_at": YESTERDAY.isoformat(),
            "item_count": 2,
        },
    )
    for n, status in enumerate(["sent", "sent", "pending"]):
        es.index(
            index=settings.index("deliveries"),
            id=f"d{n}",
            document={
                "subscription_id": "ca-desk",
                "story_id": "story-1",
                "status": status,
                "sent_at": (NOW - timedelta(hours=1)).isoformat() if status == "sent" else None,
            },
        )
    es.index(
        index=settings.index("sources"),
        id="valley-courier",
        document={
            "source_id": "valley-courier",
            "kind": "rss",
            "health": "failing",
            "last_poll_at": (NOW - timedelta(minutes=5)).isoformat(),
            "last_success_at": (NOW - timedelta(hours=5)).isoformat(),
            "last_error_at": (NOW - timedelta(minutes=5)).isoformat(),
            "last_error": "HTTP 503 from news.example <script>",
            "consecutive_failures": 3,
            "entries_last_poll": 20,
            "new_items_last_poll": 0,
        },
    )
    quarantine(
        es, settings, [Rejected(stage="fetch", key="https://news.example/5", reason="timeout")], now=NOW
    )
    for alias in ("items", "stories", "deliveries", "sources", "quarantine"):
        es.indices.refresh(index=settings.index(alias))
    return settings


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(lambda: settings, clock=lambda: NOW, require_login=False))


def test_snapshot_counts_per_day_and_backlog(es: Elasticsearch, seeded: Settings) -> None:
    snapshot = ops_status.status_snapshot(es, seeded, now=NOW, days=7)
    days = {d.day: d for d in snapshot.days}
    assert len(snapshot.days) == 7 and snapshot.days[-1].day == "2025-06-12"
    assert (days["2025-06-12"].items_indexed, days["2025-06-12"].items_relevant) == (2, 1)
    assert (days["2025-06-11"].items_indexed, days["2025-06-11"].stories_started) == (1, 1)
    assert days["2025-06-12"].alerts_sent == 2, "pending deliveries are not counted as sent"
    assert snapshot.counts["pending"] == 1 and snapshot.counts["failed"] == 1
    assert snapshot.quarantine_open == 1
    assert [s["source_id"] for s in snapshot.sources] == ["valley-courier"]


def test_an_empty_installation_reads_as_zeros(es: Elasticsearch, settings: Settings) -> None:
    snapshot = ops_status.status_snapshot(es, settings, now=NOW)
    assert snapshot.totals == {
        "items_indexed": 0,
        "items_relevant": 0,
        "stories_started": 0,
        "alerts_sent": 0,
    }
    assert snapshot.sources == [] and snapshot.quarantine_open == 0


def test_status_page_shows_source_health_figures_and_escapes_errors(seeded: Settings) -> None:
    response = _client(seeded).get("/status")
    assert response.status_code == 200
    page = response.text
    assert "muniwatch status" in page and seeded.index_prefix in page
    assert "valley-courier" in page and "failing" in page
    assert "HTTP 503 from news.example &lt;script&gt;" in page, "error text is escaped, not markup"
    assert "open in quarantine" in page and "2025-06-11" in page

    as_json = _client(seeded).get("/status.json").json()
    assert as_json["totals"]["alerts_sent"] == 2
    assert as_json["counts"]["pending"] == 1


def test_status_needs_an_airflow_login_unsubscribe_does_not(seeded: Settings) -> None:
    client = TestClient(create_app(lambda: seeded, clock=lambda: NOW))
    assert client.get("/status").status_code == 401
    assert client.get("/status.json").status_code == 401
    assert client.get("/unsubscribe", params={"token": "x.y"}).status_code == 200


def test_one_click_unsubscribe(es: Elasticsearch, settings: Settings) -> None:
    alerts = pytest.importorskip(
        "pipeline.alerts.subscriptions", reason="pipeline.alerts (issue 6) not landed"
    )
    from pipeline.alerts.tokens import make_token, unsubscribe_secret
    from pipeline.config import SubscriptionConfig

    alerts.sync_subscriptions(es, settings, [SubscriptionConfig(id="ca-desk", email="desk@example.org")])
    token = make_token(unsubscribe_secret(settings), "ca-desk", "desk@example.org")
    client = _client(settings)

    # A GET (a mail scanner following the link) only shows the confirmation button.
    page = client.get("/unsubscribe", params={"token": token})
    assert page.status_code == 200 and '<form method="post"' in page.text
    subscription = alerts.get_subscription(es, settings, "ca-desk")
    assert subscription is not None and subscription.unsubscribed_at is None

    # RFC 8058 one-click: POST to the List-Unsubscribe URI with this exact body.
    done = client.post(
        "/unsubscribe",
        params={"token": token},
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Unsubscribed" in done.text
    subscription = alerts.get_subscription(es, settings, "ca-desk")
    assert subscription is not None and subscription.unsubscribed_at is not None

    forged = client.post("/unsubscribe", params={"token": token[:-3] + "AAA"})
    assert forged.status_code == 400
    assert client.post("/unsubscribe").status_code == 400


def test_status_page_lists_failing_sources_first_with_the_alarm_ops_were_sent(
    es: Elasticsearch, seeded: Settings
) -> None:
    ok = {"kind": "rss", "health": "ok", "last_poll_at": NOW.isoformat(), "last_success_at": NOW.isoformat()}
    es.index(index=seeded.index("sources"), id="aaa-fine", document={"source_id": "aaa-fine", **ok})
    es.update(
        index=seeded.index("sources"),
        id="valley-courier",
        doc={"alarm_reported_at": NOW.isoformat(), "alarm_reason": "3 failed polls in a row (HTTP 503)"},
        refresh=True,
    )
    page = _client(seeded).get("/status").text
    assert page.index("valley-courier") < page.index("aaa-fine"), "the broken source comes first"
    assert "3 failed polls in a row (HTTP 503)" in page


def test_a_malformed_unsubscribe_token_is_refused_before_anything_is_read_or_written(
    es: Elasticsearch, settings: Settings
) -> None:
    """Issue 17 case 9: a non-ASCII token made hmac.compare_digest raise (HTTP 500), and any POST
    wrote index templates to Elasticsearch before the token was checked."""
    from pipeline.alerts.subscriptions import sync_subscriptions
    from pipeline.config import SubscriptionConfig

    sync_subscriptions(es, settings, [SubscriptionConfig(id="ca-desk", email="desk@example.org")])
    client = _client(settings)
    for token in ("ca-desk." + "é" * 43, "ca-desk." + "A" * 42 + "\u0663", "ca-desk", "../x." + "A" * 43):
        answer = client.post("/unsubscribe", params={"token": token})
        assert answer.status_code == 400 and "not valid" in answer.text, token

    # On an empty prefix, a POST with a forged token leaves Elasticsearch untouched.
    fresh = settings.with_overrides(index_prefix=f"{settings.index_prefix}-untouched")
    answer = _client(fresh).post("/unsubscribe", params={"token": "ca-desk." + "A" * 43})
    assert answer.status_code == 400
    assert not es.indices.exists_index_template(name=f"{fresh.index_prefix}-*").body
    assert es.indices.resolve_index(name=f"{fresh.index_prefix}-*")["indices"] == []
