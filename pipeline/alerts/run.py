"""One alerts pass: recover what earlier runs left pending, alert on newly indexed items, send due
digests. ``run_alerts`` is what ``muniwatch run --once`` and the ``muniwatch_alerts`` DAG call.

Per batch of pending items: match every active subscription (one ``_msearch``), then per
subscription × story either open an immediate delivery (ledger entry with the rendered message,
then send) or queue the story for the subscription's digest. A story that already has a ledger
entry for the subscription is not alerted again, whichever item brings it back. Only when every
ledger entry of a batch is written are its items marked ``alert_status: done`` — from then on the
ledger, not the item, carries what is still to be sent.

One subscription fails only itself (pipeline.failures): a query Elasticsearch refuses, an address
that cannot be rendered or sent, any exception while alerting it — the batch's items are
quarantined *for that subscription* (stage ``match``: the subscription id and the item ids, with
the reason; ``muniwatch replay --stage match`` alerts them once it is fixed), counted
(``subscriptions_failed``), and the other subscriptions' alerts go out; the items are marked done
for the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipeline.alerts import ledger
from pipeline.alerts.content import StoryView, load_stories
from pipeline.alerts.delivery import DEFAULT_STALE_AFTER, Sender, recover_with
from pipeline.alerts.digests import send_digests_with
from pipeline.alerts.matching import (
    PendingItem,
    delivery_story_key,
    mark_items,
    match_items,
    pending_items,
    settle_irrelevant,
)
from pipeline.alerts.render import Rendered, compose, render_story_alert
from pipeline.alerts.smtp import Transport, make_transport
from pipeline.alerts.storage import ensure_alert_indices, iso
from pipeline.alerts.subscriptions import Subscription, list_subscriptions
from pipeline.alerts.tokens import unsubscribe_secret
from pipeline.models import Rejected
from pipeline.settings import Settings, check_public_settings
from pipeline.store.indices import ensure_index
from pipeline.store.quarantine import quarantine, register_replay

LOGGER = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(kw_only=True)
class AlertReport:
    items_considered: int = 0
    # (subscription, item) pairs that matched
    matches: int = 0
    # (subscription, story) pairs alerted for the first time: immediate deliveries opened, or queued
    stories_new: int = 0
    stories_queued: int = 0
    # (subscription, story) pairs whose story had been alerted already (a later item of it)
    stories_already_alerted: int = 0
    emails_sent: int = 0
    emails_failed: int = 0
    emails_deferred: int = 0
    emails_cancelled: int = 0
    digests_sent: int = 0
    digests_empty: int = 0
    not_relevant_settled: int = 0
    # (subscription, batch) pairs that failed and were quarantined for replay
    subscriptions_failed: int = 0
    # items matched per subscription, and items that matched at least one subscription per source
    by_subscription: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; ``sources`` has the per-source ``alerted`` figure in the runner's shape."""
        return {**asdict(self), "sources": {s: {"alerted": n} for s, n in sorted(self.by_source.items())}}

    def alerted(self, source_id: str) -> int:
        return self.by_source.get(source_id, 0)


def run_alerts(
    es: Elasticsearch,
    settings: Settings,
    *,
    now: datetime,
    digests: bool = True,
    transport: Transport | None = None,
    max_items: int = 20_000,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> AlertReport:
    """Recover stale pending deliveries, alert on pending relevant items, send due digests.

    Args:
        now: the time of this run (timezone-aware); decides due retries and digest slots.
        digests: False skips digests (e.g. the asset-triggered run that follows indexing).
        transport: where messages go; default from settings (SMTP URL, else the outbox folder).
        max_items: items handled in this pass at most; the rest wait for the next run.
        stale_after: a pending delivery claimed longer ago than this is taken as abandoned.
    """
    check_public_settings(settings)  # a deployment never mails links to 127.0.0.1 or the default sender
    ensure_alert_indices(es, settings)
    for name in ("items", "stories"):
        ensure_index(es, settings, name)
    report = AlertReport()
    run_sender = Sender(es, settings, transport or make_transport(settings), now=now)
    try:
        recover_with(run_sender, older_than=stale_after)
        _alert_pending_items(run_sender, report, max_items=max_items)
        if digests:
            digest_report = send_digests_with(run_sender)
            report.digests_sent = digest_report.sent
            report.digests_empty = digest_report.empty
    finally:
        if transport is None:
            run_sender.close()
    counts = run_sender.counts
    report.emails_sent, report.emails_failed = counts.sent, counts.failed
    report.emails_deferred, report.emails_cancelled = counts.deferred, counts.cancelled
    report.errors.extend(counts.errors)
    LOGGER.info(
        "alerts: %d items, %d matches, %d new stories, %d e-mails sent, %d deferred, %d failed",
        report.items_considered,
        report.matches,
        report.stories_new,
        report.emails_sent,
        report.emails_deferred,
        report.emails_failed,
    )
    return report


def _alert_pending_items(run_sender: Sender, report: AlertReport, *, max_items: int) -> None:
    es, settings, now = run_sender.es, run_sender.settings, run_sender.now
    report.not_relevant_settled = settle_irrelevant(es, settings, now=now)
    subscriptions = list_subscriptions(es, settings, active_only=True)
    secret = unsubscribe_secret(settings)
    by_subscription: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    seen: set[str] = set()
    while report.items_considered < max_items:
        batch = pending_items(es, settings, limit=min(BATCH_SIZE, max_items - report.items_considered))
        batch = [item for item in batch if item.id not in seen]
        if not batch:
            break  # none left (or only items whose status update failed: they wait for the next run)
        seen.update(item.id for item in batch)
        report.items_considered += len(batch)
        items = {item.id: item for item in batch}
        views: dict[str, StoryView] = {}  # stories loaded once per batch, shared by the subscriptions
        result = match_items(es, settings, subscriptions, list(items))
        failed: list[Rejected] = [
            _subscription_failed(sid, list(items), f"matching failed: {reason}", report)
            for sid, reason in result.errors.items()
        ]
        matched: set[str] = set()
        for subscription in subscriptions:
            ids = result.by_subscription.get(subscription.id, [])
            if not ids:
                continue
            report.matches += len(ids)
            by_subscription[subscription.id] += len(ids)
            matched.update(ids)
            try:
                _alert_subscription(run_sender, secret, subscription, [items[i] for i in ids], report, views)
            except (ApiError, TransportError):
                raise  # Elasticsearch itself is in trouble: the whole run stops, nothing is marked
            except Exception as error:  # this subscription fails alone (see the module docstring)
                LOGGER.exception("alerting subscription %s failed", subscription.id)
                failed.append(
                    _subscription_failed(subscription.id, ids, f"{type(error).__name__}: {error}", report)
                )
        if failed:
            quarantine(es, settings, failed, now=now)
        by_source.update(items[i].source_id for i in matched)
        mark_items(
            es,
            settings,
            list(items),
            {"alert_status": "done", "alerted_at": iso(now), "updated_at": iso(now)},
        )
    report.by_subscription = dict(by_subscription)
    report.by_source = dict(by_source)


def _subscription_failed(
    subscription_id: str, item_ids: list[str], reason: str, report: AlertReport
) -> Rejected:
    report.subscriptions_failed += 1
    report.errors.append(
        f"subscription {subscription_id}: {reason} ({len(item_ids)} item(s) kept for replay)"
    )
    key = f"{subscription_id}:{hashlib.sha256(' '.join(sorted(item_ids)).encode()).hexdigest()[:16]}"
    return Rejected(
        stage="match",
        key=key,
        reason=f"subscription {subscription_id}: {reason}",
        payload={"subscription_id": subscription_id, "item_ids": item_ids},
    )


def _alert_subscription(
    run_sender: Sender,
    secret: bytes,
    subscription: Subscription,
    items: list[PendingItem],
    report: AlertReport,
    views: dict[str, StoryView],
) -> None:
    es, settings, now = run_sender.es, run_sender.settings, run_sender.now
    by_story: dict[str, list[PendingItem]] = {}
    for item in items:
        by_story.setdefault(item.story_id, []).append(item)
    delivery_ids = {
        story_id: ledger.story_delivery_id(subscription.id, delivery_story_key(story_id, members))
        for story_id, members in by_story.items()
    }
    existing = ledger.existing_ids(es, settings, delivery_ids.values())
    new = [story_id for story_id in by_story if delivery_ids[story_id] not in existing]
    report.stories_already_alerted += len(by_story) - len(new)
    if not new:
        return

    def base(story_id: str) -> dict[str, Any]:
        members = by_story[story_id]
        indexed = [str(i.doc["indexed_at"]) for i in members if i.doc.get("indexed_at")]
        return {
            "kind": "story",
            "mode": subscription.mode,
            "subscription_id": subscription.id,
            "story_id": story_id,
            "item_ids": [i.id for i in members],
            "source_ids": sorted({i.source_id for i in members}),
            "email": subscription.email,
            "attempts": 0,
            "created_at": iso(now),
            "updated_at": iso(now),
            "first_item_indexed_at": min(indexed, default=None),
        }

    if subscription.mode == "daily":
        for story_id in new:
            if ledger.create(es, settings, delivery_ids[story_id], {**base(story_id), "status": "queued"}):
                report.stories_new += 1
                report.stories_queued += 1
        return
    missing = [story_id for story_id in new if story_id not in views]
    views.update(load_stories(es, settings, missing, fallback_items={i.id: i.doc for i in items}))
    for story_id in new:
        view = views[story_id]

        def render(link: str, view: Any = view) -> Rendered:
            return render_story_alert(subscription, view, unsubscribe_link=link)

        doc = {
            **base(story_id),
            **compose(
                settings,
                secret,
                subscription=subscription,
                render=render,
                delivery_id=delivery_ids[story_id],
                kind="alert",
                now=now,
                story_id=story_id,
            ),
            "status": "pending",
            "claimed_at": iso(now),
            "next_attempt_at": iso(now),
        }
        if not ledger.create(es, settings, delivery_ids[story_id], doc):
            report.stories_already_alerted += 1
            continue  # another worker opened it between our check and now
        report.stories_new += 1
        run_sender.deliver(ledger.Delivery(id=delivery_ids[story_id], doc=doc))


def _replay_match(es: Elasticsearch, settings: Settings, record: dict[str, Any]) -> bool:
    """``muniwatch replay --stage match``: alert one subscription on the items it failed on."""
    payload = record.get("payload") or {}
    subscription_id, item_ids = payload.get("subscription_id"), list(payload.get("item_ids") or [])
    run_sender = Sender(es, settings, make_transport(settings), now=datetime.now(UTC))
    try:
        subscription = run_sender.subscription(str(subscription_id))
        if subscription is None or not subscription.active or not item_ids:
            return True  # nothing is owed any more
        found = es.mget(index=settings.index("items"), ids=item_ids)["docs"]
        items = [PendingItem(id=doc["_id"], doc=doc["_source"]) for doc in found if doc.get("found")]
        result = match_items(es, settings, [subscription], [item.id for item in items])
        if subscription.id in result.errors:
            raise ValueError(result.errors[subscription.id])
        ids = set(result.by_subscription.get(subscription.id, []))
        report = AlertReport()
        _alert_subscription(
            run_sender,
            unsubscribe_secret(settings),
            subscription,
            [i for i in items if i.id in ids],
            report,
            {},
        )
        return run_sender.counts.failed == 0
    finally:
        run_sender.close()


register_replay("match", _replay_match)
