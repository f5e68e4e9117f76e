"""Alerts end to end on the real Elasticsearch and a real SMTP server on loopback: one e-mail per
story per subscription, nothing again on a re-run, later items of a sent story send nothing,
digests at the subscriber's local hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.ledger import digest_delivery_id, get, story_delivery_id
from pipeline.alerts.subscriptions import add_subscription
from pipeline.config import SubscriptionConfig
from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.store.indices import current_index
from tests.integration.test_alerts_fixtures import (
    T0,
    by_subscription_and_story,
    expected,
    index_items,
    index_stories,
    item_doc,
    load_world,
    read_jsonl,
    story_key,
)
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration


@pytest.fixture()
def smtp_settings(settings: Settings, smtp_server: LoopbackSMTPServer) -> Settings:
    return settings.with_overrides(smtp_url=smtp_server.url)


def _immediate_expectations() -> dict[tuple[str, str], str]:
    return {
        (subscription, story_key(story)): subject
        for subscription, stories in expected()["immediate"].items()
        for story, subject in stories.items()
    }


def test_one_email_per_matching_story_per_subscription_and_none_on_a_rerun(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    wanted = _immediate_expectations()

    report = run_alerts(es, smtp_settings, now=T0, digests=False)

    messages = smtp_server.wait_for(len(wanted))
    grouped = by_subscription_and_story(messages)
    assert {key: str(msgs[0]["Subject"]) for key, msgs in grouped.items()} == wanted
    assert all(len(msgs) == 1 for msgs in grouped.values())
    assert len({m["Message-ID"] for m in messages}) == len(messages)
    # each went to its subscriber, and to nobody else
    recipients = {
        str(m["X-Muniwatch-Subscription"]): rcpts
        for m, (_, rcpts) in zip(messages, smtp_server.envelopes, strict=True)
    }
    assert recipients["ca-desk"] == ["ca-desk@example.org"]
    assert report.emails_sent == len(wanted) and report.emails_failed == report.emails_deferred == 0
    assert report.items_considered == 7  # the relevant pending ones
    assert report.not_relevant_settled == 1
    assert report.by_source["valley-ledger"] == 1 and report.by_source["x-lawandorderwatch"] == 1
    assert report.by_subscription["everything"] == 7
    # the daily subscriptions queued their stories instead of mailing them now
    assert report.stories_queued == sum(len(v) for v in expected()["daily"].values())
    for url in (
        "https://plains-herald.example/travis-sheriff-287g",
        "https://front-range.example/aurora-detainer-policy",
    ):
        assert item_doc(es, smtp_settings, url)["alert_status"] == "done"
        assert item_doc(es, smtp_settings, url)["alerted_at"]
    assert item_doc(es, smtp_settings, "https://valley-ledger.example/sports/ice-rink-reopens")[
        "alert_status"
    ] == ("not_relevant")

    again = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=5), digests=False)
    assert again.emails_sent == 0 and again.items_considered == 0
    assert len(smtp_server.wait_for(len(wanted) + 1, timeout=0.5)) == len(wanted)


def test_a_later_item_of_an_alerted_story_does_not_send_it_again(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0, digests=False)
    first = len(smtp_server.wait_for(len(_immediate_expectations())))
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()

    index_items(es, smtp_settings, "late_items.jsonl")  # one more Glendale item, one Fresno story
    report = run_alerts(es, smtp_settings, now=T0 + timedelta(hours=16), digests=False)

    assert first == len(_immediate_expectations())
    sent = {key for key in by_subscription_and_story(smtp_server.wait_for(2))}
    # only the new Fresno story, to the two subscriptions it matches; Glendale is not re-sent
    assert sent == {("ca-desk", "story-fresno-ca"), ("everything", "story-fresno-ca")}
    assert (
        report.stories_already_alerted >= 4
    )  # Glendale for ca-desk, everything, glendale-any, ca-terminations
    assert report.emails_sent == 2


def test_email_names_place_event_sources_stance_and_links(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0, digests=False)
    grouped = by_subscription_and_story(smtp_server.wait_for(len(_immediate_expectations())))
    message = grouped[("ca-desk", "story-glendale-ca")][0]

    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    text_body, html_body = text.get_content(), html.get_content()
    for body in (text_body, html_body):
        assert "voted 4-1 on Monday to terminate" in body  # the sentence carrying the event
        assert "Valley Ledger" in body and "Foothill Voice" in body and "@lawandorderwatch" in body
        assert "https://foothill-voice.example/news/glendale-jail-ice-deal-over" in body
        assert "favouring limits on cooperation with ICE" in body  # a framing
        assert "story-glendale-ca" in body  # the Kibana link names the story
        assert smtp_settings.kibana_url in body
    assert (
        '<a href="https://valley-ledger.example/2025/06/09/glendale-council-ends-ice-detention-contract">'
        in (html_body)
    )
    assert str(message["To"]) == "ca-desk@example.org"
    assert str(message["Message-ID"]).startswith("<") and str(message["Message-ID"]).endswith(">")
    unsubscribe = str(message["List-Unsubscribe"])
    assert f"<{smtp_settings.unsubscribe_url}?token=ca-desk." in unsubscribe
    assert "<mailto:" in unsubscribe
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_daily_digest_goes_out_at_the_local_hour_once(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0)  # 14:05 in New York: today's 07:00 slot predates the subscription
    immediate = len(_immediate_expectations())
    smtp_server.wait_for(immediate)
    assert len(smtp_server.messages) == immediate

    # hudson-daily: 07:00 America/New_York = 11:00Z on 10 June (EDT)
    before = run_alerts(es, smtp_settings, now=datetime(2025, 6, 10, 10, 59, tzinfo=UTC))
    at_hour = run_alerts(es, smtp_settings, now=datetime(2025, 6, 10, 11, 0, tzinfo=UTC))
    later = run_alerts(es, smtp_settings, now=datetime(2025, 6, 10, 11, 30, tzinfo=UTC))

    assert before.digests_sent == 0
    assert at_hour.digests_sent == 1 and later.digests_sent == 0
    digests = [m for m in smtp_server.wait_for(immediate + 1) if m["X-Muniwatch-Story"] is None]
    assert [str(m["X-Muniwatch-Subscription"]) for m in digests] == ["hudson-daily"]
    digest = digests[0]
    assert str(digest["To"]) == "nj-desk@example.org"
    assert "2025-06-10" in str(digest["Subject"]) and "Hudson County, NJ" in str(digest["Subject"])
    body = digest.get_body(preferencelist=("plain",))
    assert body is not None and "freeholders approved a two-year renewal" in body.get_content()
    # grouped by state then event, and a signed link to the next digest's preview on `muniwatch serve`
    assert "== New Jersey ==" in body.get_content() and "-- renews or expands --" in body.get_content()
    assert f"{smtp_settings.digest_url}?token=hudson-daily." in body.get_content()
    entry = get(es, smtp_settings, digest_delivery_id("hudson-daily", "2025-06-10"))
    assert entry is not None and entry.status == "sent"
    assert entry.doc["story_ids"] == expected()["daily"]["hudson-daily"]
    story_entry = get(es, smtp_settings, story_delivery_id("hudson-daily", "story-hudson-nj"))
    assert (
        story_entry is not None
        and story_entry.status == "digested"
        and story_entry.doc["digest_id"] == entry.id
    )
    # one "sent" ledger entry per e-mail (what the ops view counts)
    es.indices.refresh(index=smtp_settings.index("deliveries"))
    sent = es.count(index=smtp_settings.index("deliveries"), query={"term": {"status": "sent"}})["count"]
    assert sent == len(smtp_server.messages)


def test_a_missed_digest_hour_is_caught_up_on_the_next_run_and_never_twice(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0)
    immediate = len(smtp_server.wait_for(len(_immediate_expectations())))
    # No run at 06:00 Los Angeles (13:00Z) on 10 June; the next one comes at 03:00 local on the 11th.
    late = run_alerts(es, smtp_settings, now=datetime(2025, 6, 11, 10, 0, tzinfo=UTC))
    again = run_alerts(es, smtp_settings, now=datetime(2025, 6, 11, 12, 59, tzinfo=UTC))

    assert late.digests_sent == 2  # hudson-daily (07:00 New York has passed) and terminations-daily
    assert again.digests_sent == 0
    digests = [m for m in smtp_server.wait_for(immediate + 2) if m["X-Muniwatch-Story"] is None]
    by_subscription = {str(m["X-Muniwatch-Subscription"]): m for m in digests}
    assert set(by_subscription) == {"hudson-daily", "terminations-daily"}
    west = by_subscription["terminations-daily"]
    assert "2025-06-10" in str(west["Subject"])  # the slot it was due, caught up
    html = west.get_body(preferencelist=("html",))
    assert html is not None
    # grouped by story: both stories, each once
    assert (
        html.get_content().count("Glendale, CA") >= 1 and html.get_content().count("Hudson County, NJ") >= 1
    )
    assert html.get_content().count('class="story"') == 2
    # the next slot (06:00 on the 11th in Los Angeles) has nothing new: no e-mail
    next_day = run_alerts(es, smtp_settings, now=datetime(2025, 6, 11, 13, 0, tzinfo=UTC))
    assert next_day.digests_sent == 0 and next_day.digests_empty == 1
    assert len(smtp_server.wait_for(immediate + 3, timeout=0.5)) == immediate + 2


def test_a_story_already_in_a_digest_is_not_queued_again(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0)
    run_alerts(es, smtp_settings, now=datetime(2025, 6, 10, 13, 0, tzinfo=UTC))  # both digests due
    index_items(es, smtp_settings, "late_items.jsonl")  # a Glendale follow-up (anti? no: neutral) + Fresno
    doc = read_jsonl("late_items.jsonl")[0] | {"stance": "anti_cooperation"}
    es.index(index=smtp_settings.index("items"), id=item_id(doc["canonical_url"]), document=doc, refresh=True)
    report = run_alerts(es, smtp_settings, now=datetime(2025, 6, 10, 14, 0, tzinfo=UTC))
    assert report.stories_queued == 0  # Glendale went out in terminations-daily's digest already
    assert report.stories_already_alerted >= 1


def test_stories_without_a_story_document_still_alert(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    es.indices.delete(index=str(current_index(es, smtp_settings, "stories")))
    index_stories(es, smtp_settings, "hostile_stories.jsonl")  # recreate an index holding another story
    report = run_alerts(es, smtp_settings, now=T0, digests=False)
    assert report.emails_sent == len(_immediate_expectations())
    grouped = by_subscription_and_story(smtp_server.wait_for(report.emails_sent))
    assert str(grouped[("ca-desk", "story-glendale-ca")][0]["Subject"]) == (
        "Glendale, CA: ends ICE detention contract"
    )


def test_stories_queued_before_a_switch_to_immediate_go_out_as_one_last_digest(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    run_alerts(es, smtp_settings, now=T0)
    immediate = len(smtp_server.wait_for(len(_immediate_expectations())))
    add_subscription(
        es,
        smtp_settings,
        SubscriptionConfig.model_validate(
            {
                "id": "hudson-daily",
                "email": "nj-desk@example.org",
                "mode": "immediate",
                "filter": {"jurisdictions": ["Hudson County"]},
            }
        ),
        now=T0 + timedelta(minutes=10),
    )
    report = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=20))
    assert report.digests_sent == 1
    (last,) = smtp_server.wait_for(immediate + 1)[immediate:]
    assert str(last["X-Muniwatch-Subscription"]) == "hudson-daily" and "Hudson County, NJ" in str(
        last["Subject"]
    )
    assert run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=30)).digests_sent == 0
