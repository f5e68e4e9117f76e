"""Daily digests: one e-mail per daily subscription per local day, grouped by story.

A daily subscription's matches are queued in the ledger (one ``queued`` entry per story). Its
digest *slot* is the latest ``digest_hour`` o'clock in its ``timezone`` at or before ``now``; the
digest for that slot is due when no ledger entry exists for (subscription, slot date). So a run at
the hour sends it, a run hours later catches up (same slot), and a slot never sends twice (the
digest entry is written with op_type create). A slot with nothing queued is recorded as
``empty``, so stories queued later that day wait for the next day's digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from elasticsearch import Elasticsearch

from pipeline.alerts import ledger
from pipeline.alerts.content import StoryView, load_stories
from pipeline.alerts.delivery import Sender
from pipeline.alerts.render import Rendered, compose, digest_link, render_digest
from pipeline.alerts.smtp import Transport, make_transport
from pipeline.alerts.storage import ensure_alert_indices, iso
from pipeline.alerts.subscriptions import Subscription, list_subscriptions
from pipeline.alerts.tokens import make_token, unsubscribe_secret
from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

# Stories in one digest; more wait for the next one (nothing is dropped).
MAX_STORIES_PER_DIGEST = 100


@dataclass(kw_only=True)
class DigestReport:
    due: int = 0
    sent: int = 0
    empty: int = 0
    stories: int = 0
    # of the due digests that were not sent: retried by a later run, or failed for good
    deferred: int = 0
    failed: int = 0


def digest_slot(subscription: Subscription, now: datetime) -> tuple[str, datetime]:
    """(local date, UTC instant) of the latest digest time at or before ``now``."""
    zone = ZoneInfo(subscription.timezone)
    local_now = now.astimezone(zone)
    day = local_now.date()
    slot = datetime.combine(day, time(subscription.digest_hour), tzinfo=zone)
    if slot > local_now:
        day = day - timedelta(days=1)
        slot = datetime.combine(day, time(subscription.digest_hour), tzinfo=zone)
    return day.isoformat(), slot.astimezone(UTC)


def send_due_digests(
    es: Elasticsearch, settings: Settings, *, now: datetime, transport: Transport | None = None
) -> DigestReport:
    """Send every digest whose slot has come and that was not handled yet (see the module doc)."""
    ensure_alert_indices(es, settings)
    digest_sender = Sender(es, settings, transport or make_transport(settings), now=now)
    try:
        return send_digests_with(digest_sender)
    finally:
        if transport is None:
            digest_sender.close()


def send_digests_with(digest_sender: Sender) -> DigestReport:
    es, settings, now = digest_sender.es, digest_sender.settings, digest_sender.now
    report = DigestReport()
    secret = unsubscribe_secret(settings)
    switched = ledger.subscriptions_with_queued(es, settings)
    for subscription in list_subscriptions(es, settings, active_only=True):
        if subscription.mode == "daily":
            day, slot = digest_slot(subscription, now)
            if subscription.created_at is not None and slot < subscription.created_at:
                continue  # the first slot is the first one after the subscription was made
        elif subscription.id in switched:
            # Switched from daily to immediate with stories still queued: they go out now, as one
            # last digest, instead of waiting for a digest that will never come.
            day = now.astimezone(ZoneInfo(subscription.timezone)).date().isoformat()
        else:
            continue
        digest_id = ledger.digest_delivery_id(subscription.id, day)
        if ledger.get(es, settings, digest_id) is not None:
            continue
        report.due += 1
        delivery, empty = _open_digest(
            es, settings, secret, subscription, day=day, digest_id=digest_id, now=now
        )
        report.empty += empty
        if delivery is None:
            continue
        report.stories += len(delivery.doc["story_ids"])
        status = digest_sender.deliver(delivery)
        report.sent += status == "sent"
        report.deferred += status == "pending"
        report.failed += status == "failed"
    return report


def pending_digest(
    es: Elasticsearch, settings: Settings, subscription: Subscription
) -> tuple[list[ledger.Delivery], list[StoryView]]:
    """The stories queued for ``subscription``'s next digest (ledger entries and their views), as the
    digest would show them now; reads only (the digest preview of ``muniwatch serve`` uses it)."""
    queued = ledger.open_for_subscription(es, settings, subscription.id, ["queued"])[:MAX_STORIES_PER_DIGEST]
    story_ids = [str(entry.doc["story_id"]) for entry in queued]
    item_ids = [i for entry in queued for i in entry.doc.get("item_ids") or []]
    items = {}
    if item_ids:
        response = es.mget(index=settings.index("items"), ids=item_ids)
        items = {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}
    views = load_stories(es, settings, story_ids, fallback_items=items)
    return queued, [views[s] for s in story_ids]


def _open_digest(
    es: Elasticsearch,
    settings: Settings,
    secret: bytes,
    subscription: Subscription,
    *,
    day: str,
    digest_id: str,
    now: datetime,
) -> tuple[ledger.Delivery | None, bool]:
    """Write the digest's pending ledger entry, or an ``empty`` one; returns (delivery to send, empty)."""
    queued, stories = pending_digest(es, settings, subscription)
    base: dict[str, Any] = {
        "kind": "digest",
        "mode": "daily",
        "subscription_id": subscription.id,
        "digest_date": day,
        "email": subscription.email,
        "attempts": 0,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    if not queued:
        return None, ledger.create(es, settings, digest_id, {**base, "status": "empty", "story_ids": []})
    story_ids = [str(entry.doc["story_id"]) for entry in queued]
    item_ids = [i for entry in queued for i in entry.doc.get("item_ids") or []]

    preview = digest_link(settings, make_token(secret, subscription.id, subscription.email))

    def render(link: str) -> Rendered:
        return render_digest(subscription, stories, day=day, unsubscribe_link=link, preview_link=preview)

    doc = {
        **base,
        **compose(
            settings,
            secret,
            subscription=subscription,
            render=render,
            delivery_id=digest_id,
            kind="digest",
            now=now,
        ),
        "status": "pending",
        "story_ids": story_ids,
        "item_ids": item_ids,
        "source_ids": sorted({s for entry in queued for s in entry.doc.get("source_ids") or []}),
        "claimed_at": iso(now),
        "next_attempt_at": iso(now),
        "first_item_indexed_at": min(
            (str(e.doc["first_item_indexed_at"]) for e in queued if e.doc.get("first_item_indexed_at")),
            default=None,
        ),
    }
    if not ledger.create(es, settings, digest_id, doc):
        return None, False  # another run opened this digest between our check and now
    ledger.set_status(
        es, settings, [entry.id for entry in queued], "in_digest", now=now, extra={"digest_id": digest_id}
    )
    LOGGER.info("digest %s for %s: %d stories", day, subscription.id, len(story_ids))
    return ledger.Delivery(id=digest_id, doc=doc), False
