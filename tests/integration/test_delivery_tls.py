"""SMTP with STARTTLS, implicit TLS (smtps://) and login, against aiosmtpd on loopback with a
self-signed certificate; a wrong password or a missing STARTTLS defers the alert with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.ledger import get, story_delivery_id
from pipeline.alerts.subscriptions import sync_subscriptions
from pipeline.config import SubscriptionConfig
from pipeline.settings import Settings
from tests.integration.test_alerts_fixtures import SUBSCRIBED_AT, T0, index_items, index_stories
from tests.support.smtp import LoopbackSMTPServer

pytestmark = [
    pytest.mark.integration,
    # the implicit-TLS server requires a login without STARTTLS, which aiosmtpd warns about
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


@pytest.fixture()
def one_story(es: Elasticsearch, settings: Settings) -> Settings:
    """One subscription (California) and the fixture items: exactly one e-mail is due."""
    sync_subscriptions(
        es,
        settings,
        [
            SubscriptionConfig.model_validate(
                {"id": "ca", "email": "ca@example.org", "filter": {"states": ["CA"]}}
            )
        ],
        now=SUBSCRIBED_AT,
    )
    index_items(es, settings)
    index_stories(es, settings)
    return settings


def _server(**options: object) -> Iterator[LoopbackSMTPServer]:
    server = LoopbackSMTPServer(**options)  # type: ignore[arg-type]
    yield server
    server.stop()


@pytest.fixture()
def starttls_server() -> Iterator[LoopbackSMTPServer]:
    yield from _server(tls="starttls", credentials=("alerts", "s3cret:/@"))


@pytest.fixture()
def smtps_server() -> Iterator[LoopbackSMTPServer]:
    yield from _server(tls="implicit", credentials=("alerts", "s3cret"))


def test_starttls_and_login(
    es: Elasticsearch, one_story: Settings, starttls_server: LoopbackSMTPServer
) -> None:
    settings = one_story.with_overrides(smtp_url=starttls_server.url)
    assert run_alerts(es, settings, now=T0, digests=False).emails_sent == 1
    assert len(starttls_server.wait_for(1)) == 1
    assert starttls_server.sessions == [{"tls": True, "authenticated": True}]


def test_implicit_tls_and_login(
    es: Elasticsearch, one_story: Settings, smtps_server: LoopbackSMTPServer
) -> None:
    assert smtps_server.url.startswith("smtps://")
    settings = one_story.with_overrides(smtp_url=smtps_server.url)
    assert run_alerts(es, settings, now=T0, digests=False).emails_sent == 1
    assert smtps_server.sessions == [{"tls": True, "authenticated": True}]


def test_a_wrong_password_defers_with_the_reason_then_sends_once_fixed(
    es: Elasticsearch, one_story: Settings, starttls_server: LoopbackSMTPServer
) -> None:
    wrong = starttls_server.url.replace("s3cret%3A%2F%40", "nope")
    report = run_alerts(es, one_story.with_overrides(smtp_url=wrong), now=T0, digests=False)
    assert report.emails_deferred == 1 and report.emails_sent == 0
    entry = get(es, one_story, story_delivery_id("ca", "story-glendale-ca"))
    assert entry is not None and entry.status == "pending" and "refused the login" in entry.doc["last_error"]
    assert "nope" not in entry.doc["last_error"]  # no password in the ledger

    fixed = run_alerts(
        es,
        one_story.with_overrides(smtp_url=starttls_server.url),
        now=T0 + timedelta(minutes=5),
        digests=False,
    )
    assert fixed.emails_sent == 1 and len(starttls_server.wait_for(1)) == 1


def test_starttls_required_but_not_offered_defers(
    es: Elasticsearch, one_story: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    settings = one_story.with_overrides(smtp_url=f"{smtp_server.url}?starttls=require")
    report = run_alerts(es, settings, now=T0, digests=False)
    assert report.emails_deferred == 1
    assert any("does not offer STARTTLS" in error for error in report.errors)
    assert smtp_server.wait_for(1, timeout=0.3) == []


def test_an_untrusted_certificate_is_refused_unless_verify_is_off(
    es: Elasticsearch, one_story: Settings, starttls_server: LoopbackSMTPServer
) -> None:
    without_ca = starttls_server.url.split("?")[0]
    refused = run_alerts(es, one_story.with_overrides(smtp_url=without_ca), now=T0, digests=False)
    assert refused.emails_deferred == 1 and starttls_server.wait_for(1, timeout=0.3) == []
    accepted = run_alerts(
        es,
        one_story.with_overrides(smtp_url=f"{without_ca}?verify=false"),
        now=T0 + timedelta(minutes=5),
        digests=False,
    )
    assert accepted.emails_sent == 1
