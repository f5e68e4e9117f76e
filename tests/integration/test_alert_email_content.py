"""What a reporter reads, end to end (real Elasticsearch, real SMTP on loopback): the decision's date,
each article's outlet and date, the lead's own first sentences, clean links, the framing worded as the
coverage's voice, the place with state and type, and primary records (a council vote, a 287(g) list
change) as sentences. The record documents follow the ``record`` contract of the records branch."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.subscriptions import add_subscription
from pipeline.config import SubscriptionConfig
from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 10, 18, 0, tzinfo=UTC)
# The fields of ``record`` the records branch maps (keyword / date); put here so this test can index them.
RECORD_MAPPING = {
    "properties": {
        **{name: {"type": "keyword"} for name in (
            "kind", "change", "list", "agency", "support_model", "matter_id", "matter_file", "matter_name",
            "matter_type", "matter_status", "body", "url")},
        **{name: {"type": "date"} for name in ("date_signed", "intro_date", "agenda_date", "passed_date")},
    }
}  # fmt: skip
GLENDALE = {"name": "Glendale", "type": "city", "state": "CA", "key": "us-ca-glendale",
            "location": {"lat": 34.14, "lon": -118.25}}  # fmt: skip
POLK = {"name": "Polk County", "type": "county", "state": "FL", "key": "us-fl-polk-county",
        "location": {"lat": 27.95, "lon": -81.7}}  # fmt: skip
ARTICLE_TEXT = (
    "By Ana Ruiz, Staff Writer\n"
    "Sign up for our newsletter\n"
    "The Glendale City Council voted 4-1 on Monday to end the city's contract to hold ICE detainees. "
    "The jail will stop taking federal detainees within 90 days. "
    "Council members heard two hours of comment.\n"
)


def _item(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "canonical_url": url.split("?")[0].split("#")[0],
        "url": url,
        "relevant": True,
        "status": "indexed",
        "indexed_at": "2025-06-10T17:00:00Z",
        "alert_status": "pending",
        "matched_rules": ['ice: "ICE contract"'],
        **fields,
    }


DOCUMENTS = [
    _item(
        "https://www.valley-ledger.example/2025/06/10/glendale-ends-ice-contract?utm_source=rss&utm_medium=feed#comments",
        title="Glendale ends ICE jail contract", text=ARTICLE_TEXT, site_name="Valley Ledger",
        published_at="2025-06-10T14:00:00Z", source_id="valley-ledger", source_kind="rss", kind="article",
        jurisdiction=GLENDALE, stance="neutral", event="terminate", story_id="story-glendale",
        evidence={"event": ARTICLE_TEXT.splitlines()[2].split(". ")[0] + "."},
    ),
    _item(
        "https://glendale.legistar.example/LegislationDetail.aspx?ID=4242&fbclid=abc",
        title="Termination of the ICE detention agreement", text="", source_id="glendale-council",
        source_kind="legistar", kind="article", published_at="2025-06-09T23:00:00Z", jurisdiction=GLENDALE,
        stance="neutral", event="terminate", story_id="story-glendale",
        record={"kind": "legistar", "matter_id": "4242", "matter_file": "2025-123",
                "matter_name": "Termination of the ICE detention agreement", "matter_type": "Resolution",
                "matter_status": "Adopted", "body": "Glendale City Council", "passed_date": "2025-06-09",
                "url": "https://glendale.legistar.example/LegislationDetail.aspx?ID=4242"},
    ),
    _item(
        "https://www.ice.example/identify-and-arrest/287g#polk-county-sheriffs-office",
        title="Polk County Sheriff's Office: 287(g) Task Force Model", text="",
        source_id="ice-287g-participating",
        source_kind="287g_list", kind="article", published_at="2025-06-10T12:00:00Z", jurisdiction=POLK,
        stance="neutral", event="sign_or_join", story_id="story-polk",
        record={"kind": "287g", "change": "added", "list": "participating",
                "agency": "Polk County Sheriff's Office", "support_model": "Task Force Model",
                "date_signed": "2025-02-26"},
    ),
]  # fmt: skip


def test_email_tells_when_who_reported_what_and_the_records(
    es: Elasticsearch, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    ensure_index(es, smtp_settings, "items")
    es.indices.put_mapping(index=smtp_settings.index("items"), properties={"record": RECORD_MAPPING})
    for doc in DOCUMENTS:
        es.index(index=smtp_settings.index("items"), id=item_id(doc["canonical_url"]), document=doc)
    es.indices.refresh(index=smtp_settings.index("items"))
    config = SubscriptionConfig.model_validate({"id": "everything", "email": "desk@example.org"})
    add_subscription(es, smtp_settings, config, now=datetime(2025, 6, 1, tzinfo=UTC))

    report = run_alerts(es, smtp_settings, now=NOW, digests=False)

    assert report.emails_sent == 2
    messages = {str(m["X-Muniwatch-Story"]).strip(): m for m in smtp_server.wait_for(2)}
    glendale, polk = messages["story-glendale"], messages["story-polk"]
    for message, checks in (
        (glendale, [
            "Glendale (city, California)",
            "Monday, 9 June 2025",
            "from the primary record, Legistar, Glendale City Council",  # the record's own date comes first
            "Glendale City Council passed File 2025-123 “Termination of the ICE detention agreement” "
            "on 9 June 2025.",
            "The Glendale City Council voted 4-1 on Monday to end the city's contract to hold ICE detainees. "
            "The jail will stop taking federal detainees within 90 days.",
            "Valley Ledger, 10 June 2025",
            "https://www.valley-ledger.example/2025/06/10/glendale-ends-ice-contract",
            "https://glendale.legistar.example/LegislationDetail.aspx?ID=4242",
            "the articles’ own voice, not the position of the jurisdiction",
        ]),
        (polk, [
            "Polk County (county, Florida)",
            "Wednesday, 26 February 2025",
            "Polk County Sheriff's Office (FL) signed a 287(g) Task Force Model agreement "
            "on 26 February 2025.",
            "https://www.ice.example/identify-and-arrest/287g",
        ]),
    ):  # fmt: skip
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None and html is not None
        # the HTML part as a browser shows it (Jinja writes ' as &#39;)
        for body in (text.get_content(), unescape(html.get_content())):
            for expected in checks:
                assert expected in body, (expected, body[:3000])
            for tracking in ("utm_", "fbclid", "#comments", "#polk", "By Ana Ruiz", "newsletter"):
                assert tracking not in body
