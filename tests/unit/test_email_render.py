"""Rendering alert e-mails without any server: subjects (cases in tests/fixtures/alerts/subjects.yaml),
header hygiene, escaping, links, and the parts a reporter reads."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import yaml

from pipeline.alerts.content import ItemView, StoryView, place_label
from pipeline.alerts.render import (
    build_message,
    compose,
    digest_subject,
    message_id_for,
    one_line,
    render_digest,
    render_story_alert,
    safe_href,
    story_subject,
)
from pipeline.alerts.subscriptions import Subscription
from pipeline.alerts.when import DecisionDate
from pipeline.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.unit

# As long as the real ones (subscription id, '.', a 43-character HMAC): the URL outgrows 78 columns.
TOKEN = "desk.XTzf1tXKuDRewXJaU0PKSQ_LcmSpI_cdZ4dvwcOcWtI"

SUBJECT_CASES = yaml.safe_load(
    (REPO_ROOT / "tests/fixtures/alerts/subjects.yaml").read_text(encoding="utf-8")
)
NOW = datetime(2025, 6, 9, 18, 5, tzinfo=UTC)
SUBSCRIPTION = Subscription(id="desk", email="desk@example.org", states=("CA",))


def _story(**changes: Any) -> StoryView:
    fields: dict[str, Any] = {
        "story_id": "story-1",
        "jurisdiction": {"name": "Glendale", "type": "city", "state": "CA"},
        "event": "terminate",
        "event_sentence": "The council voted to end the ICE detention contract.",
        "stance_counts": {"anti_cooperation": 2, "neutral": 1},
        "items": [
            ItemView(
                id="i1",
                title="Council ends contract",
                url="https://a.example/1",
                source_id="a",
                site_name="A Daily",
                stance="neutral",
            ),
            ItemView(
                id="i2",
                title="Good riddance",
                url="https://b.example/2",
                source_id="b",
                handle="someone",
                stance="anti_cooperation",
            ),
        ],
        "item_count": 2,
        "link": "http://kibana.example/app/discover#/?_a=(query:'story_id:\"story-1\"')",
    }
    fields.update(changes)
    return StoryView(**fields)


def _parse(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("case", SUBJECT_CASES, ids=[c["subject"][:40] for c in SUBJECT_CASES])
def test_subject_names_place_and_event(case: dict[str, Any]) -> None:
    items = (
        [ItemView(id="i", title=case["title"], url="https://x.example", source_id="s")]
        if case.get("title")
        else []
    )
    story = _story(
        jurisdiction=case["jurisdiction"],
        event=case["event"],
        event_sentence=case.get("sentence"),
        items=items,
    )
    assert story_subject(story) == case["subject"]


def test_place_labels() -> None:
    assert place_label({"name": "Glendale", "type": "city", "state": "CA"}) == "Glendale, CA"
    assert place_label({"name": "New York", "type": "state", "state": "NY"}) == "New York"
    assert place_label(None) == "Unknown jurisdiction"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\r\nBcc: x@example.org", "a Bcc: x@example.org"),
        ("line\u2028separator\u2029paragraph\x85next", "line separator paragraph next"),
        ("zero\u200bwidth\x00nul\ttab", "zero width nul tab"),
        ("  many   spaces  ", "many spaces"),
    ],
)
def test_one_line_leaves_no_line_breaks_or_controls(value: str, expected: str) -> None:
    assert one_line(value) == expected


def test_one_line_truncates_with_an_ellipsis() -> None:
    assert one_line("x" * 50, 10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://a.example/x?y=1", True),
        ("http://a.example", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//a.example/no-scheme", False),
        ("https:///no-host", False),
        ("http://[broken", False),
    ],
)
def test_safe_href_keeps_only_http_links(url: str, kept: bool) -> None:
    assert (safe_href(url) == url) is kept


def test_message_has_text_and_html_and_the_unsubscribe_headers(offline_settings: Settings) -> None:
    rendered = render_story_alert(
        SUBSCRIPTION, _story(), unsubscribe_link=f"https://u.example/unsub?token={TOKEN}"
    )
    built = build_message(
        offline_settings,
        subscription=SUBSCRIPTION,
        rendered=rendered,
        message_id="<abc.alert@example.org>",
        token=TOKEN,
        now=NOW,
        story_id="story-1",
    )
    message = _parse(built)
    assert str(message["Subject"]) == "Glendale, CA: ends ICE detention contract"
    assert str(message["Date"]) == "Mon, 09 Jun 2025 18:05:00 +0000"
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"])
    assert f"<{offline_settings.unsubscribe_url}?token={TOKEN}>" in unsubscribe
    assert f"<mailto:alerts@muniwatch.localhost?subject=unsubscribe%20{TOKEN}>" in unsubscribe
    # On the wire too: mail clients read the raw header, where an RFC 2047 encoded-word hides the URL.
    raw = built.as_bytes()
    assert f"List-Unsubscribe: <{offline_settings.unsubscribe_url}?token={TOKEN}>".encode() in raw
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "The council voted to end the ICE detention contract." in text.get_content()
    assert "A Daily" in text.get_content() and "@someone" in text.get_content()
    assert "2 favouring limits on cooperation with ICE, 1 neutral" in text.get_content()
    assert (
        "Coverage framing (the articles’ own voice, not the position of the jurisdiction"
        in text.get_content()
    )
    assert '<a href="https://a.example/1">Council ends contract</a>' in html.get_content()
    assert "state in CA" in text.get_content()  # why the reader gets it


def test_html_escapes_markup_but_text_keeps_it_plain(offline_settings: Settings) -> None:
    hostile = ItemView(
        id="i",
        title='<script>alert("x")</script> & co',
        url="javascript:alert(1)",
        source_id="s",
        site_name="<i>site</i>",
    )
    story = _story(items=[hostile], event_sentence="</blockquote><b>bold</b>")
    rendered = render_story_alert(SUBSCRIPTION, story, unsubscribe_link="https://u.example/?token=t")
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in (
        rendered.html
    )
    assert "javascript:" not in rendered.html
    assert "&lt;/blockquote&gt;&lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert '<script>alert("x")</script> & co' in rendered.text


def test_no_title_or_name_can_add_a_header(offline_settings: Settings) -> None:
    story = _story(
        jurisdiction={"name": "X\r\nBcc: evil@example.org\r\nX-Evil: 1", "type": "city", "state": "CA"}
    )
    subscription = Subscription(id="desk", email="desk@example.org")
    rendered = render_story_alert(subscription, story, unsubscribe_link="https://u.example/?token=t")
    message = _parse(
        build_message(
            offline_settings,
            subscription=subscription,
            rendered=rendered,
            message_id="<m@example.org>",
            token="t",
            now=NOW,
        )
    )
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert str(message["Subject"]) == "X Bcc: evil@example.org X-Evil: 1, CA: ends ICE detention contract"
    # the sender comes from configuration; a broken one is refused, naming the variable
    broken = offline_settings.with_overrides(mail_from="Alerts\r\nBcc: evil@example.org <alerts@example.org>")
    with pytest.raises(ValueError, match="MUNIWATCH_MAIL_FROM"):
        build_message(
            broken,
            subscription=subscription,
            rendered=rendered,
            message_id="<m@example.org>",
            token="t",
            now=NOW,
        )


def test_message_id_is_deterministic_per_delivery_and_compose_is_repeatable(
    offline_settings: Settings,
) -> None:
    assert message_id_for(offline_settings, "ab" * 32, "alert") == message_id_for(
        offline_settings, "ab" * 32, "alert"
    )
    assert message_id_for(offline_settings, "ab" * 32, "alert") != message_id_for(
        offline_settings, "cd" * 32, "alert"
    )
    assert message_id_for(offline_settings, "ab" * 32, "alert").endswith("@muniwatch.localhost>")

    def render(link: str) -> Any:
        return render_story_alert(SUBSCRIPTION, _story(), unsubscribe_link=link)

    first = compose(
        offline_settings,
        b"k",
        subscription=SUBSCRIPTION,
        render=render,
        delivery_id="ab" * 32,
        kind="alert",
        now=NOW,
        story_id="story-1",
    )
    second = compose(
        offline_settings,
        b"k",
        subscription=SUBSCRIPTION,
        render=render,
        delivery_id="ab" * 32,
        kind="alert",
        now=NOW,
        story_id="story-1",
    )
    assert first["message_id"] == second["message_id"]
    assert first["subject"] == "Glendale, CA: ends ICE detention contract"
    # headers are ASCII on the wire (non-ASCII is encoded), lines end in CRLF
    head = first["message"].split("\r\n\r\n", 1)[0]
    assert head.isascii() and "\r\n" in first["message"]


def test_digest_groups_stories_and_names_them(offline_settings: Settings) -> None:
    stories = [
        _story(),
        _story(
            story_id="story-2",
            jurisdiction={"name": "Hudson County", "type": "county", "state": "NJ"},
            event="renew_or_expand",
            event_sentence="The county renewed its ICE agreement.",
            items=[],
        ),
    ]
    daily = Subscription(id="daily", email="d@example.org", mode="daily", timezone="America/New_York")
    rendered = render_digest(daily, stories, day="2025-06-10", unsubscribe_link="https://u.example/?token=t")
    assert rendered.subject == "muniwatch digest 2025-06-10: 2 stories — Glendale, CA, Hudson County, NJ"
    assert rendered.html.count('class="story"') == 2
    assert "1. Glendale, CA: ends ICE detention contract" in rendered.text
    assert "2. Hudson County, NJ: renews ICE agreement" in rendered.text
    assert digest_subject([_story()] * 5, "2025-06-10").endswith("Glendale, CA")


def _dated_story() -> StoryView:
    lead_item = ItemView(
        id="i1",
        title="Council ends contract",
        url="https://www.a.example/1?utm_source=rss&utm_medium=feed&id=4#comments",
        source_id="a",
        site_name="A Daily",
        stance="neutral",
        published_at=datetime(2025, 6, 10, 14, tzinfo=UTC),
        lead="The council voted 4-1 on Monday to end the ICE contract. Detainees move by July.",
    )
    record = ItemView(
        id="r1",
        title="Termination of the ICE jail agreement",
        url="https://glendale.legistar.example/LegislationDetail.aspx?ID=77&fbclid=zz",
        source_id="glendale-council",
        source_kind="legistar",
        record={"kind": "legistar", "matter_file": "2025-123", "body": "Glendale City Council"},
        published_at=datetime(2025, 6, 9, 23, tzinfo=UTC),
    )
    return _story(
        items=[record, lead_item],
        lead_item=lead_item,
        decision=DecisionDate(day=date(2025, 6, 9), phrase="on Monday"),
        decision_source="“on Monday” in A Daily, published 10 June 2025",
        records=[
            (
                "Glendale City Council passed File 2025-123 “Termination of the ICE jail agreement” "
                "on 9 June 2025.",
                record.link,
            )
        ],
    )


def test_email_answers_where_when_what_with_outlets_dates_and_clean_links() -> None:
    rendered = render_story_alert(SUBSCRIPTION, _dated_story(), unsubscribe_link="https://u.example/?token=t")
    for body in (rendered.text, rendered.html):
        assert "Glendale (city, California)" in body
        assert "Monday, 9 June 2025" in body and "“on Monday” in A Daily, published 10 June 2025" in body
        assert "The council voted 4-1 on Monday to end the ICE contract. Detainees move by July." in body
        assert "A Daily, 10 June 2025" in body and "9 June 2025" in body
        assert "Glendale City Council passed File 2025-123" in body
        assert "utm_" not in body and "#comments" not in body and "fbclid" not in body
        assert (
            "Coverage framing" in body
            and "the articles’ own voice, not the position of the jurisdiction" in body
        )
        assert "against cooperation" not in body
    assert '<a href="https://www.a.example/1?id=4">Council ends contract</a>' in rendered.html
    assert (
        '<a href="https://glendale.legistar.example/LegislationDetail.aspx?ID=77">source</a>' in rendered.html
    )
    assert "    https://www.a.example/1?id=4\n" in rendered.text


def test_email_without_a_date_in_the_text_says_so() -> None:
    story = _story(items=[ItemView(id="i", title="t", url="https://a.example/", source_id="s",
                                   published_at=datetime(2025, 6, 10, tzinfo=UTC))])  # fmt: skip
    rendered = render_story_alert(SUBSCRIPTION, story, unsubscribe_link="https://u.example/?token=t")
    assert "decision date not stated in the coverage; first reported 10 June 2025" in rendered.text
    assert "decision date not stated in the coverage; first reported 10 June 2025" in rendered.html


def test_digest_groups_by_state_then_event() -> None:
    def story(story_id: str, state: str, event: str) -> StoryView:
        name = {"CA": "Glendale", "NJ": "Hudson County", "TX": "Harris County"}[state]
        return _story(story_id=story_id, jurisdiction={"name": name, "type": "city", "state": state},
                      event=event, items=[])  # fmt: skip

    stories = [
        story(story_id, state, event)
        for story_id, state, event in [
            ("a", "NJ", "renew_or_expand"), ("b", "CA", "sign_or_join"), ("c", "CA", "terminate"),
            ("d", "TX", "terminate"), ("e", "CA", "terminate"),
        ]
    ]  # fmt: skip
    daily = Subscription(id="daily", email="d@example.org", mode="daily")
    rendered = render_digest(daily, stories, day="2025-06-10", unsubscribe_link="https://u.example/?token=t")
    text = rendered.text
    order = [text.index(mark) for mark in (
        "== California ==", "-- ends cooperation --", "1. Glendale, CA: ends", "2. Glendale, CA: ends",
        "-- signs or joins --", "3. Glendale, CA: signs", "== New Jersey ==", "== Texas ==")]  # fmt: skip
    assert order == sorted(order)
    assert "in 3 states" in text
    html = rendered.html
    assert html.index(">California</h2>") < html.index(">New Jersey</h2>") < html.index(">Texas</h2>")
    assert html.count('class="story"') == 5
