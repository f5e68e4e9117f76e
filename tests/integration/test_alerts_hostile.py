"""Hostile titles, names, sentences and URLs (tests/fixtures/alerts/hostile_*.jsonl) through a real
SMTP server: no new header, no extra recipient, markup escaped in HTML, no javascript: link."""

from __future__ import annotations

import re

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts import run_alerts
from pipeline.alerts.subscriptions import sync_subscriptions
from pipeline.config import SubscriptionConfig
from pipeline.settings import Settings
from tests.integration.test_alerts_fixtures import SUBSCRIBED_AT, T0, index_items, index_stories
from tests.support.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration

EXPECTED_HEADERS = {
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "auto-submitted",
    "x-muniwatch-subscription",
    "x-muniwatch-story",
    "mime-version",
    "content-type",
}


def test_hostile_titles_cannot_inject_headers_or_markup(
    es: Elasticsearch, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    smtp_settings = settings.with_overrides(smtp_url=smtp_server.url)
    sync_subscriptions(
        es, smtp_settings, [SubscriptionConfig(id="il-desk", email="il-desk@example.org")], now=SUBSCRIBED_AT
    )
    index_items(es, smtp_settings, "hostile_items.jsonl")
    index_stories(es, smtp_settings, "hostile_stories.jsonl")

    report = run_alerts(es, smtp_settings, now=T0, digests=False)

    assert report.emails_sent == 1
    (message,) = smtp_server.wait_for(1)
    # the envelope and the headers name the subscriber only
    assert smtp_server.envelopes == [(smtp_server.envelopes[0][0], ["il-desk@example.org"])]
    assert {key.lower() for key, _ in message.items()} <= EXPECTED_HEADERS
    for header in ("Bcc", "Cc", "Reply-To", "X-Injected"):
        assert message[header] is None
    subject = str(message["Subject"])
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("Springfield")
    assert len(message.get_all("Subject") or []) == 1
    assert str(message["To"]) == "il-desk@example.org"

    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<b>bold site</b>" not in html.lower()
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold Site&lt;/b&gt;" in html
    # the story's event sentence tries to close the quote and open a link
    assert "&lt;/blockquote&gt;&lt;a href=&#34;javascript:alert(3)&#34;&gt;click&lt;/a&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(href.startswith(("http://", "https://")) for href in hrefs)
    assert not any("javascript" in href.lower() for href in hrefs)
    assert "</blockquote><a" not in html
    # the text part stays plain text: the title is there, unescaped, on one line
    text = text_part.get_content()
    assert "<script>alert('title')</script> Springfield Subject: fake Cc: other@example.org" in text
