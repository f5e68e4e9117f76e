"""The delivery ledger against a real SMTP server on loopback: nothing lost, nothing sent twice —
through an SMTP outage, 4xx and 5xx replies, a crash between the ledger write and the send, and
concurrent recoveries; and the outbox folder when no SMTP server is configured."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import recover_pending, run_alerts
from pipeline.alerts.ledger import Delivery, due_pending, get, story_delivery_id
from pipeline.alerts.smtp import OutboxTransport, SMTPTransport, Transport, parse_smtp_url
from pipeline.settings import Settings
from pipeline.store.quarantine import open_records
from tests.integration.test_alerts_fixtures import (
    T0,
    by_subscription_and_story,
    expected,
    load_world,
    story_key,
)
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

IMMEDIATE = sum(len(stories) for stories in expected()["immediate"].values())


class SimulatedCrash(BaseException):
    """The process dying: not an Exception, so no handler in the pipeline swallows it."""


class CrashBeforeSending:
    """Wraps a real transport; the first send kills the 'process' before anything reaches SMTP."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.description = inner.description
        self.crashed_on: str | None = None

    def send(self, raw: bytes, *, sender: str, recipient: str, message_id: str) -> None:
        if self.crashed_on is None:
            self.crashed_on = message_id
            raise SimulatedCrash(message_id)
        self.inner.send(raw, sender=sender, recipient=recipient, message_id=message_id)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture()
def smtp_settings(settings: Settings, smtp_server: LoopbackSMTPServer) -> Settings:
    return settings.with_overrides(smtp_url=smtp_server.url)


def _assert_each_story_once(smtp_server: LoopbackSMTPServer) -> None:
    messages = smtp_server.wait_for(IMMEDIATE)
    grouped = by_subscription_and_story(messages)
    wanted = {
        (subscription, story_key(story))
        for subscription, stories in expected()["immediate"].items()
        for story in stories
    }
    assert set(grouped) == wanted
    assert all(len(group) == 1 for group in grouped.values()), "a story was sent twice"
    assert len(smtp_server.wait_for(IMMEDIATE + 1, timeout=0.5)) == IMMEDIATE


def test_smtp_down_then_up_loses_nothing_and_doubles_nothing(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    smtp_server.stop()
    down = run_alerts(es, smtp_settings, now=T0, digests=False)
    assert down.emails_sent == 0 and down.emails_deferred == IMMEDIATE and down.emails_failed == 0
    assert any("cannot reach smtp://127.0.0.1" in error for error in down.errors)
    entry = get(es, smtp_settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert entry is not None and entry.status == "pending" and entry.attempts == 1
    assert "cannot reach" in entry.doc["last_error"]

    still_down = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=2), digests=False)
    assert still_down.emails_deferred == IMMEDIATE  # retried (backoff 1 min has passed), failed again
    too_soon = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=2, seconds=30), digests=False)
    assert too_soon.emails_deferred == 0  # backoff: second retry waits 2 minutes

    smtp_server.start()
    up = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=5), digests=False)
    assert up.emails_sent == IMMEDIATE
    _assert_each_story_once(smtp_server)
    entry = get(es, smtp_settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert entry is not None and entry.status == "sent" and entry.attempts == 3
    assert run_alerts(es, smtp_settings, now=T0 + timedelta(hours=1), digests=False).emails_sent == 0


def test_transient_4xx_is_retried_on_the_next_run(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    smtp_server.reject_with = "451 4.3.0 mailbox busy, try later"
    first = run_alerts(es, smtp_settings, now=T0, digests=False)
    assert first.emails_deferred == IMMEDIATE and first.emails_sent == 0
    entry = get(es, smtp_settings, story_delivery_id("everything", "story-travis-tx"))
    assert entry is not None and entry.status == "pending"
    assert "451" in entry.doc["last_error"] and "mailbox busy" in entry.doc["last_error"]

    smtp_server.reject_with = None
    second = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=1), digests=False)
    assert second.emails_sent == IMMEDIATE
    _assert_each_story_once(smtp_server)


def test_permanent_5xx_is_recorded_as_failed_with_the_reason_and_not_retried(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    smtp_server.reject_with = "550 5.1.1 no such mailbox"
    report = run_alerts(es, smtp_settings, now=T0, digests=False)
    assert report.emails_failed == IMMEDIATE and report.emails_deferred == 0
    entry = get(es, smtp_settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert entry is not None and entry.status == "failed"
    assert "550" in entry.doc["last_error"] and "no such mailbox" in entry.doc["last_error"]
    # counted and kept for replay, naming the recipient
    es.indices.refresh(index=smtp_settings.index("quarantine"))
    records = open_records(es, smtp_settings, "alert")
    assert len(records) == IMMEDIATE
    assert any("ca-desk@example.org" in record["reason"] for record in records)

    smtp_server.reject_with = None
    later = run_alerts(es, smtp_settings, now=T0 + timedelta(days=1), digests=False)
    assert later.emails_sent == 0 and smtp_server.wait_for(1, timeout=0.5) == []


def test_crash_between_ledger_write_and_send_is_recovered_with_the_same_message_id(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    crashing = CrashBeforeSending(SMTPTransport(parse_smtp_url(str(smtp_settings.smtp_url))))
    with pytest.raises(SimulatedCrash):
        run_alerts(es, smtp_settings, now=T0, digests=False, transport=crashing)
    crashing.close()
    assert smtp_server.wait_for(1, timeout=0.3) == []
    pending = due_pending(es, smtp_settings, now=T0 + timedelta(hours=1), older_than=timedelta(0))
    assert [d.message_id for d in pending] == [crashing.crashed_on]
    stored: Delivery = pending[0]

    # A run right after the crash: the abandoned entry is still claimed (it might be in flight);
    # the other stories go out, the crashed one is not duplicated.
    soon = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=1), digests=False)
    assert soon.emails_sent == IMMEDIATE - 1
    # Once the claim is stale, a later run sends it: same Message-ID, same bytes.
    later = run_alerts(es, smtp_settings, now=T0 + timedelta(minutes=15), digests=False)
    assert later.emails_sent == 1
    _assert_each_story_once(smtp_server)
    resent = [m for m in smtp_server.messages if str(m["Message-ID"]).strip() == crashing.crashed_on]
    assert len(resent) == 1
    assert str(resent[0]["Subject"]) == stored.doc["subject"]
    entry = get(es, smtp_settings, stored.id)
    assert entry is not None and entry.status == "sent"


def test_recover_pending_sends_an_abandoned_entry_once_even_when_two_workers_race(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    load_world(es, smtp_settings)
    crashing = CrashBeforeSending(SMTPTransport(parse_smtp_url(str(smtp_settings.smtp_url))))
    with pytest.raises(SimulatedCrash):
        run_alerts(es, smtp_settings, now=T0, digests=False, transport=crashing)
    crashing.close()

    results = []

    def worker() -> None:
        results.append(
            recover_pending(es, smtp_settings, now=T0 + timedelta(minutes=1), older_than=timedelta(0))
        )

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 1
    messages = smtp_server.wait_for(1)
    assert [str(m["Message-ID"]).strip() for m in messages] == [crashing.crashed_on]
    assert len(smtp_server.wait_for(2, timeout=0.5)) == 1


def test_outbox_mode_writes_one_eml_per_email_named_after_the_message_id(
    es: Elasticsearch, settings: Settings
) -> None:
    assert settings.smtp_url is None
    load_world(es, settings)
    report = run_alerts(es, settings, now=T0, digests=False)
    files = sorted(settings.outbox.glob("*.eml"))
    assert report.emails_sent == IMMEDIATE == len(files)
    assert not list(settings.outbox.glob(".tmp-*")), "a temporary file was left behind"
    entry = get(es, settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert entry is not None and entry.message_id
    outbox = OutboxTransport(settings.outbox)
    path = outbox.path_for(entry.message_id)
    assert path in files
    raw = path.read_bytes()
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
    # a resend (after a crash) overwrites the same file instead of adding one
    outbox.send(raw, sender="a@example.org", recipient="b@example.org", message_id=entry.message_id)
    assert sorted(settings.outbox.glob("*.eml")) == files
    assert run_alerts(es, settings, now=T0 + timedelta(hours=1), digests=False).emails_sent == 0
    assert len(list(settings.outbox.glob("*.eml"))) == IMMEDIATE


def test_a_failed_delivery_is_resent_by_replay_once_the_problem_is_fixed(
    es: Elasticsearch, smtp_settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    from pipeline.store import quarantine

    load_world(es, smtp_settings)
    smtp_server.reject_with = "550 5.7.1 message refused"
    run_alerts(es, smtp_settings, now=T0, digests=False)
    failed = get(es, smtp_settings, story_delivery_id("ca-desk", "story-glendale-ca"))
    assert failed is not None and failed.status == "failed"
    es.indices.refresh(index=smtp_settings.index("quarantine"))

    smtp_server.reject_with = None
    quarantine.load_replay_handlers()
    resolved, failing = quarantine.replay(es, smtp_settings, stage="alert")

    assert (resolved, failing) == (IMMEDIATE, 0)
    _assert_each_story_once(smtp_server)
    resent = [m for m in smtp_server.messages if str(m["Message-ID"]).strip() == failed.message_id]
    assert len(resent) == 1
    es.indices.refresh(index=smtp_settings.index("quarantine"))
    assert quarantine.replay(es, smtp_settings, stage="alert") == (0, 0)
