"""One subscription and one delivery fail only themselves (issue 17, cases 2 and 3), through a real
SMTP server: an address that cannot be sent as ASCII and a query Elasticsearch refuses, stored as
an older version (or a direct write) could have left them, beside a healthy subscription."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.subscriptions import SubscriptionError, add_subscription, sync_subscriptions
from pipeline.config import SubscriptionConfig
from pipeline.settings import Settings
from pipeline.store.quarantine import open_records
from tests.integration.test_alerts_fixtures import SUBSCRIBED_AT, T0, index_items, index_stories
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

# 30 chained NEARs: parses, but Elasticsearch refuses the query (and with it the whole _msearch).
REFUSED_QUERY = " NEAR/3 ".join(["Glendale", *[f"w{i}" for i in range(30)]])


def store_poisoned(es: Elasticsearch, settings: Settings) -> None:
    """Subscriptions written past today's checks (an older version, a hand edit of the index)."""
    for sub_id, email, query in (
        ("accented", "dèsk@example.org", None),
        ("homoglyph", "desk@ex\u0430mple.org", None),
        ("deep-near", "near@example.org", REFUSED_QUERY),
    ):
        doc = {"id": sub_id, "email": email, "mode": "immediate", "active": True, "origin": "config",
               "filter": {"query": query, "jurisdictions": [], "states": [], "stances": [], "events": []},
               "timezone": "UTC", "digest_hour": 7, "created_at": SUBSCRIBED_AT.isoformat()}  # fmt: skip
        es.index(index=settings.index("subscriptions"), id=sub_id, document=doc, refresh=True)


def test_poisoned_subscriptions_fail_alone_and_the_healthy_one_is_alerted(
    es: Elasticsearch, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    sync_subscriptions(es, smtp_settings, [SubscriptionConfig(id="healthy", email="desk@example.org")],
                       now=SUBSCRIBED_AT)  # fmt: skip
    store_poisoned(es, smtp_settings)
    item_ids = set(index_items(es, smtp_settings).values())
    index_stories(es, smtp_settings)

    report = run_alerts(es, smtp_settings, now=T0, digests=False)

    messages = smtp_server.wait_for(report.emails_sent)
    recipients = {rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts}
    assert report.emails_sent >= 1 and recipients == {"desk@example.org"}, report.errors
    assert len(messages) == report.emails_sent
    # Each poisoned subscription failed alone, kept with its reason: the refused query and an
    # address that cannot even be rendered as a subscription's items (stage match, replayable),
    # an address refused at RCPT as a failed delivery (stage alert, replayable).
    matches = {r["payload"]["subscription_id"]: r for r in open_records(es, smtp_settings, "match")}
    failed_deliveries = open_records(es, smtp_settings, "alert")
    deliveries = {r["payload"]["subscription_id"]: r for r in failed_deliveries}
    assert set(matches) | set(deliveries) == {"deep-near", "accented", "homoglyph"}
    assert "deep-near" in matches and "Elasticsearch refused the query" in matches["deep-near"]["reason"]
    assert set(matches["deep-near"]["payload"]["item_ids"]) <= item_ids
    assert report.subscriptions_failed == len(matches) and report.emails_failed == len(failed_deliveries)
    # The run went through: every item is done, and a second run sends nothing again.
    es.indices.refresh(index=smtp_settings.index("items"))
    pending = es.count(index=smtp_settings.index("items"), query={"term": {"alert_status": "pending"}})
    assert pending["count"] == 0
    again = run_alerts(es, smtp_settings, now=T0, digests=False)
    assert again.emails_sent == 0


def test_a_query_elasticsearch_refuses_is_refused_when_added(es: Elasticsearch, settings: Settings) -> None:
    # The static limits would stop this one at the door too; here Elasticsearch itself is asked.
    config = SubscriptionConfig.model_construct(
        id="deep", email="desk@example.org", mode="immediate",
        filter=SubscriptionConfig.model_fields["filter"].default.model_copy(update={"query": REFUSED_QUERY}),
        timezone="UTC", digest_hour=7,
    )  # fmt: skip
    with pytest.raises(SubscriptionError, match="Elasticsearch refuses the query"):
        add_subscription(es, settings, config, now=SUBSCRIBED_AT)
    assert sync_subscriptions(es, settings, [config], now=SUBSCRIBED_AT)["refused"] == 1
