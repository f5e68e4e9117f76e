"""Alert e-mails: subject lines, text and HTML parts (Jinja2, autoescaped), and the headers.

Headers are built with :class:`email.message.EmailMessage` and :mod:`email.headerregistry`; every
value that comes from the outside (titles, names, addresses) is first reduced to one clean line,
so no title can add a header. Links in the HTML part are only ever http(s).
"""

from __future__ import annotations

import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.alerts.content import FRAMING_NOTE, STATE_NAMES, StoryView
from pipeline.alerts.subscriptions import Subscription
from pipeline.alerts.tokens import make_token
from pipeline.settings import Settings

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
SUBJECT_LIMIT = 180
# CRLF line ends on the wire. Lines may run to RFC 5322's hard limit of 998: a folding limit of
# 78 makes the library RFC 2047-encode any longer "word", and List-Unsubscribe's one-click URL
# (with its token) is such a word; mail clients only honour it as plain <https://...>.
POLICY = email.policy.SMTP.clone(max_line_length=998)

# What the subject says an event did to what. The object is the most specific thing the
# event sentence (or the title) names; the default when it names none.
_OBJECTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"287\s*\(\s*g\s*\)", re.I), "287(g) agreement"),
    (re.compile(r"\bdetainers?\b", re.I), "ICE detainer policy"),
    (re.compile(r"\bsanctuary\b", re.I), "sanctuary policy"),
    (
        re.compile(
            r"\bdetention\b.*\b(contract|agreement)s?\b|\b(contract|agreement)s?\b.*\bdetention\b", re.I
        ),
        "ICE detention contract",
    ),
    (re.compile(r"\bcontracts?\b", re.I), "ICE contract"),
    (re.compile(r"\bagreements?\b", re.I), "ICE agreement"),
)
_EVENT_PHRASES: dict[str, tuple[str, str]] = {
    # event: (phrase with {object}, phrase when no object was named)
    "terminate": ("ends {object}", "ends cooperation with ICE"),
    "sign_or_join": ("signs {object}", "agrees to cooperate with ICE"),
    "renew_or_expand": ("renews or expands {object}", "expands cooperation with ICE"),
    "vote_or_proposal": ("vote on {object}", "vote on cooperation with ICE"),
    "policy_change": ("changes {object}", "changes its immigration enforcement policy"),
    "enforcement_action": ("immigration enforcement action", "immigration enforcement action"),
    "other": ("news on {object}", "news on cooperation with ICE"),
}
# For the two-verb events, the verb the texts themselves use (first match wins).
_VERBS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "renew_or_expand": (
        (re.compile(r"\brenew", re.I), "renews"),
        (re.compile(r"\bextend|\bextension", re.I), "extends"),
        (re.compile(r"\bexpand|\bexpansion", re.I), "expands"),
    ),
    "sign_or_join": ((re.compile(r"\bjoin", re.I), "joins"),),
}
EVENT_LABELS = {
    "terminate": "ends cooperation",
    "sign_or_join": "signs or joins",
    "renew_or_expand": "renews or expands",
    "vote_or_proposal": "vote or proposal",
    "policy_change": "policy change",
    "enforcement_action": "enforcement action",
    "other": "other",
}


def one_line(value: Any, limit: int | None = None) -> str:
    """Text fit for a header or a list line: control, format and line/paragraph separator characters
    become spaces, runs of white space one space."""
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in str(value or "")
    )
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def safe_href(url: Any) -> str:
    """The URL when it is http(s), else "" (templates then show no link)."""
    text = one_line(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else ""


def event_phrase(event: str | None, *texts: str | None) -> str:
    """What the event did, naming the most specific object any of the texts mentions."""
    with_object, plain = _EVENT_PHRASES.get(event or "other", _EVENT_PHRASES["other"])
    for pattern, verb in _VERBS.get(event or "", ()):
        if any(text and pattern.search(text) for text in texts):
            with_object, plain = f"{verb} {{object}}", f"{verb} cooperation with ICE"
            break
    for pattern, thing in _OBJECTS:
        if any(text and pattern.search(text) for text in texts):
            return with_object.format(object=thing)
    return plain


def story_subject(story: StoryView) -> str:
    """E.g. "Glendale, CA: ends ICE detention contract"."""
    title = story.items[0].title if story.items else None
    return one_line(f"{story.place}: {event_phrase(story.event, story.event_sentence, title)}", SUBJECT_LIMIT)


def digest_subject(stories: list[StoryView], day: str) -> str:
    places = list(dict.fromkeys(s.place for s in stories))
    head = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
    count = f"{len(stories)} {'story' if len(stories) == 1 else 'stories'}"
    return one_line(f"muniwatch digest {day}: {count} — {head}", SUBJECT_LIMIT)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # HTML escaped; the text part is plain text and must not be.
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["one_line"] = one_line
    env.filters["safe_href"] = safe_href
    env.filters["headline"] = story_subject
    env.globals["EVENT_LABELS"] = EVENT_LABELS
    env.globals["FRAMING_NOTE"] = FRAMING_NOTE
    return env


_ENV = _environment()


@dataclass(frozen=True, kw_only=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_page(name: str, **context: Any) -> str:
    """A page of ``muniwatch serve`` from ``pipeline/templates`` (same autoescaping as the e-mails)."""
    return _ENV.get_template(name).render(context)


@dataclass(frozen=True, kw_only=True)
class StoryGroup:
    """Stories of one state, then one event, as a digest lists them."""

    state: str
    events: list[tuple[str, list[StoryView]]]


def group_stories(stories: list[StoryView]) -> list[StoryGroup]:
    """By state (name order, unknown last), then by event (in EVENT_LABELS order); stories keep their
    order within a group."""
    order = list(EVENT_LABELS)
    states: dict[str, dict[str, list[StoryView]]] = {}
    for story in stories:
        state = story.state_name
        states.setdefault(state, {}).setdefault(story.event or "other", []).append(story)
    known = set(STATE_NAMES.values())
    return [
        StoryGroup(
            state=state,
            events=[
                (EVENT_LABELS.get(event, event), states[state][event])
                for event in sorted(states[state], key=lambda e: order.index(e) if e in order else len(order))
            ],
        )
        for state in sorted(states, key=lambda name: (name not in known, name))
    ]


def _render(name: str, context: dict[str, Any]) -> Rendered:
    return Rendered(
        subject=context["subject"],
        text=_ENV.get_template(f"{name}.txt").render(context),
        html=_ENV.get_template(f"{name}.html").render(context),
    )


def render_story_alert(subscription: Subscription, story: StoryView, *, unsubscribe_link: str) -> Rendered:
    subject = story_subject(story)
    return _render(
        "story_alert",
        {
            "subject": subject,
            "subscription": subscription,
            "story": story,
            "unsubscribe_link": unsubscribe_link,
        },
    )


def render_digest(
    subscription: Subscription,
    stories: list[StoryView],
    *,
    day: str,
    unsubscribe_link: str,
    preview: bool = False,
    preview_link: str = "",
) -> Rendered:
    """The digest of ``stories`` grouped by state and event. ``preview``: the page of ``muniwatch
    serve`` (what is queued now, nothing sent); ``preview_link``: where the next one can be seen."""
    groups = group_stories(stories)
    # the subject names places in the order the body shows them
    subject = digest_subject(
        [story for group in groups for _, listed in group.events for story in listed], day
    )
    return _render(
        "digest",
        {
            "subject": subject,
            "subscription": subscription,
            "stories": stories,
            "groups": groups,
            "day": day,
            "unsubscribe_link": unsubscribe_link,
            "preview": preview,
            "preview_link": preview_link,
        },
    )


def sender(settings: Settings) -> Address:
    """The From address (MUNIWATCH_MAIL_FROM): exactly one address, on one line."""
    value = settings.mail_from
    addresses = email.utils.getaddresses([value])
    if one_line(value) != value.strip() or len(addresses) != 1 or "@" not in addresses[0][1]:
        raise ValueError(
            f"MUNIWATCH_MAIL_FROM={value!r} must be one address on one line, "
            "like 'muniwatch <alerts@example.org>'"
        )
    name, addr = addresses[0]
    return Address(display_name=one_line(name, 80), addr_spec=addr)


def message_id_for(settings: Settings, delivery_id: str, kind: str) -> str:
    """Deterministic per delivery: a resend after a crash carries the same Message-ID."""
    return f"<{delivery_id[:32]}.{kind}@{sender(settings).domain or 'muniwatch.localhost'}>"


def unsubscribe_link(settings: Settings, token: str) -> str:
    """``{MUNIWATCH_PUBLIC_URL}/unsubscribe?token=…`` (or the deprecated MUNIWATCH_UNSUBSCRIBE_URL)."""
    joiner = "&" if "?" in settings.unsubscribe_url else "?"
    return f"{settings.unsubscribe_url}{joiner}token={token}"


def digest_link(settings: Settings, token: str) -> str:
    """``{MUNIWATCH_PUBLIC_URL}/digest?token=…``: the subscriber's pending digest in the browser."""
    return f"{settings.digest_url}?token={token}"


def build_message(
    settings: Settings,
    *,
    subscription: Subscription,
    rendered: Rendered,
    message_id: str,
    token: str,
    now: datetime,
    story_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    from_address = sender(settings)
    message["Subject"] = one_line(rendered.subject, SUBJECT_LIMIT)
    message["From"] = from_address
    message["To"] = Address(addr_spec=one_line(subscription.email))
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = message_id
    # RFC 2369 + RFC 8058: the https link is the one-click (POST) target, the mailto a fallback.
    message["List-Unsubscribe"] = (
        f"<{unsubscribe_link(settings, token)}>, "
        f"<mailto:{from_address.addr_spec}?subject=unsubscribe%20{token}>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = f"muniwatch alerts <{subscription.id}.alerts.{from_address.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Muniwatch-Subscription"] = subscription.id
    if story_id:
        message["X-Muniwatch-Story"] = one_line(story_id, 200)
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def compose(
    settings: Settings,
    secret: bytes,
    *,
    subscription: Subscription,
    render: Callable[[str], Rendered],
    delivery_id: str,
    kind: str,
    now: datetime,
    story_id: str | None = None,
) -> dict[str, Any]:
    """Ledger fields of a new delivery: the recipient, Message-ID, subject and the exact message.

    ``render`` gets the unsubscribe link and returns the parts.
    """
    token = make_token(secret, subscription.id, subscription.email)
    rendered = render(unsubscribe_link(settings, token))
    message_id = message_id_for(settings, delivery_id, kind)
    message = build_message(
        settings,
        subscription=subscription,
        rendered=rendered,
        message_id=message_id,
        token=token,
        now=now,
        story_id=story_id,
    )
    return {
        "email": subscription.email,
        "message_id": message_id,
        "subject": str(message["Subject"]),
        "message": message.as_string(),
    }
