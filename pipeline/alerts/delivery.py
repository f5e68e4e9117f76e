"""Sending what the ledger holds, and recording how it went.

A delivery is sent from the message bytes stored in its ledger entry, so every attempt — the
first, a retry after a 4xx, a recovery after a crash — sends the same bytes with the same
Message-ID. Transient failures are retried by later runs with exponential backoff (attempts and
last error kept); after ``MAX_ATTEMPTS``, or on a permanent 5xx refusal, the entry is ``failed``
with the reason and quarantined (stage ``alert``; ``muniwatch replay`` sends it again).

What cannot be closed entirely: a crash after the server accepted a message but before the
ledger says ``sent`` means it is sent again — with the same Message-ID, so mail systems that
deduplicate on it show it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from pipeline.alerts import ledger
from pipeline.alerts.ledger import Delivery
from pipeline.alerts.render import sender
from pipeline.alerts.smtp import PermanentSendError, SendError, Transport, make_transport
from pipeline.alerts.storage import ensure_alert_indices, iso
from pipeline.alerts.subscriptions import Subscription, get_subscription, mark_digest_sent
from pipeline.models import Rejected
from pipeline.settings import Settings
from pipeline.store.quarantine import quarantine, register_replay

LOGGER = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
# A pending entry claimed longer ago than this is taken to be abandoned by a crashed run.
DEFAULT_STALE_AFTER = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 1, 2, 4 … minutes, at most 6 hours."""
    wait: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(wait, BACKOFF_CAP)


@dataclass(kw_only=True)
class SendCounts:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendCounts) -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.errors.extend(other.errors)


class Sender:
    """Sends ledger entries through one transport for the length of a run."""

    def __init__(self, es: Elasticsearch, settings: Settings, transport: Transport, *, now: datetime) -> None:
        self.es = es
        self.settings = settings
        self.transport = transport
        self.now = now
        self.counts = SendCounts()
        self._from = sender(settings).addr_spec
        self._subscriptions: dict[str, Subscription | None] = {}

    def subscription(self, subscription_id: str) -> Subscription | None:
        if subscription_id not in self._subscriptions:
            self._subscriptions[subscription_id] = get_subscription(self.es, self.settings, subscription_id)
        return self._subscriptions[subscription_id]

    def deliver(self, delivery: Delivery) -> str:
        """Send one pending entry the caller owns (created or claimed); returns the new status."""
        doc = delivery.doc
        subscription = self.subscription(delivery.subscription_id)
        if subscription is None or not subscription.active:
            reason = "subscription removed" if subscription is None else "subscription no longer active"
            ledger.update(
                self.es,
                self.settings,
                delivery.id,
                {
                    "status": "cancelled",
                    "last_error": reason,
                    "claimed_at": None,
                    "updated_at": iso(self.now),
                },
            )
            self._settle_digest_stories(delivery, "cancelled")
            self.counts.cancelled += 1
            return "cancelled"
        if delivery.kind == "digest":
            self._settle_digest_stories(delivery, "in_digest")
        try:
            self.transport.send(
                str(doc["message"]).encode("utf-8"),
                sender=self._from,
                recipient=str(doc["email"]),
                message_id=str(doc["message_id"]),
            )
        except SendError as error:
            return self._failed(delivery, error)
        except (ApiError, TransportError):
            raise  # Elasticsearch trouble stops the run for everyone alike (pipeline.failures)
        except Exception as error:  # one delivery fails alone, with its reason (pipeline.failures)
            LOGGER.exception("delivery %s failed unexpectedly", delivery.id)
            return self._failed(delivery, PermanentSendError(f"{type(error).__name__}: {error}"))
        ledger.mark_sent(self.es, self.settings, delivery, now=self.now)
        self._settle_digest_stories(delivery, "digested")
        if delivery.kind == "digest" and doc.get("digest_date"):
            mark_digest_sent(
                self.es, self.settings, delivery.subscription_id, str(doc["digest_date"]), self.now
            )
        self.counts.sent += 1
        LOGGER.info(
            "sent %s %s to %s: %s", delivery.kind, doc.get("message_id"), doc.get("email"), doc.get("subject")
        )
        return "sent"

    def _failed(self, delivery: Delivery, error: SendError) -> str:
        attempts = delivery.attempts + 1
        where = f"{delivery.kind} alert {delivery.doc.get('message_id')} to {delivery.doc.get('email')}"
        if not error.permanent and attempts < MAX_ATTEMPTS:
            retry_at = self.now + backoff(attempts)
            ledger.mark_retry(
                self.es, self.settings, delivery, now=self.now, error=error.reason, retry_at=retry_at
            )
            self.counts.deferred += 1
            self.counts.errors.append(
                f"{where}: {error.reason} (attempt {attempts}; retry after {retry_at:%H:%M}Z)"
            )
            LOGGER.warning("%s deferred: %s (attempt %d)", where, error.reason, attempts)
            return "pending"
        reason = error.reason if error.permanent else f"gave up after {attempts} attempts: {error.reason}"
        ledger.mark_failed(self.es, self.settings, delivery, now=self.now, error=reason)
        self._settle_digest_stories(delivery, "failed")
        quarantine(
            self.es,
            self.settings,
            [
                Rejected(
                    stage="alert",
                    key=delivery.id,
                    reason=f"{where}: {reason}",
                    payload={
                        "delivery_id": delivery.id,
                        "subscription_id": delivery.subscription_id,
                        "email": delivery.doc.get("email"),
                        "subject": delivery.doc.get("subject"),
                    },
                )
            ],
            now=self.now,
        )
        self.counts.failed += 1
        self.counts.errors.append(f"{where}: {reason}")
        return "failed"

    def _settle_digest_stories(self, delivery: Delivery, status: str) -> None:
        if delivery.kind != "digest":
            return
        ids = [
            ledger.story_delivery_id(delivery.subscription_id, s) for s in delivery.doc.get("story_ids") or []
        ]
        # "digested", not "sent": a "sent" entry is one e-mail (what the ops view counts per day)
        extra: dict[str, Any] = {"digest_id": delivery.id}
        if status == "digested":
            extra["sent_at"] = iso(self.now)
        ledger.set_status(self.es, self.settings, ids, status, now=self.now, extra=extra)

    def close(self) -> None:
        self.transport.close()


def recover_pending(
    es: Elasticsearch,
    settings: Settings,
    *,
    now: datetime,
    older_than: timedelta = DEFAULT_STALE_AFTER,
    transport: Transport | None = None,
) -> SendCounts:
    """Send pending entries that are due: retries whose time has come, and entries left by a run
    that stopped between writing the ledger and sending (claimed more than ``older_than`` ago)."""
    ensure_alert_indices(es, settings)
    ledger_sender = Sender(es, settings, transport or make_transport(settings), now=now)
    try:
        recover_with(ledger_sender, older_than=older_than)
    finally:
        if transport is None:
            ledger_sender.close()
    return ledger_sender.counts


def recover_with(ledger_sender: Sender, *, older_than: timedelta) -> None:
    es, settings, now = ledger_sender.es, ledger_sender.settings, ledger_sender.now
    for delivery in ledger.due_pending(es, settings, now=now, older_than=older_than):
        if not ledger.claim(es, settings, delivery, now=now):
            continue  # another worker took it
        if delivery.attempts == 0:
            LOGGER.warning(
                "recovering %s %s left pending by an earlier run", delivery.kind, delivery.message_id
            )
        ledger_sender.deliver(delivery)


def _replay_delivery(es: Elasticsearch, settings: Settings, record: dict[str, Any]) -> bool:
    """``muniwatch replay --stage alert``: send a failed delivery again (same Message-ID)."""
    now = datetime.now(UTC)
    delivery = ledger.get(es, settings, str(record["key"]))
    if delivery is None:
        return True  # nothing left to send
    if delivery.status == "sent":
        return True
    if delivery.status not in {"failed", "pending"}:
        return delivery.status == "cancelled"
    ledger.update(es, settings, delivery.id, {"status": "pending", "attempts": 0, "next_attempt_at": None})
    fresh = ledger.get(es, settings, delivery.id)
    if fresh is None or not ledger.claim(es, settings, fresh, now=now):
        return False
    replay_sender = Sender(es, settings, make_transport(settings), now=now)
    try:
        return replay_sender.deliver(fresh) in {"sent", "cancelled"}
    finally:
        replay_sender.close()


register_replay("alert", _replay_delivery)
