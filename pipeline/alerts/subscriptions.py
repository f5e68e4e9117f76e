"""Subscriptions in ``{prefix}-subscriptions`` (``_id`` = subscription id): sync, add, list, remove,
unsubscribe.

Two origins: ``config`` (from config/subscriptions.yaml, by ``sync_subscriptions``) and ``cli``
(``muniwatch subscribe add``). An opt-out by the recipient (``unsubscribe``) is permanent for that
id: the document keeps ``active: false`` and ``unsubscribed_at``, and neither a sync nor ``add``
turns it back on. A config subscription that disappears from the YAML is deactivated
(``removed_at``) and comes back if the YAML lists it again.

Validation at the door: besides the limits of ``pipeline.config`` (checked when the YAML or the
command line is read), each subscription's query is handed to Elasticsearch's ``_validate/query``
before it is stored; one it refuses is not stored (``add``: an error with Elasticsearch's reason;
``sync``: counted as ``refused`` and logged, the others are synced).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.alerts.ledger import cancel_open_deliveries
from pipeline.alerts.storage import ensure_alert_indices, iso
from pipeline.alerts.tokens import InvalidTokenError, token_subscription_id, unsubscribe_secret, verify_token
from pipeline.config import SubscriptionConfig
from pipeline.models import parse_utc
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index

LOGGER = logging.getLogger(__name__)

Origin = Literal["config", "cli"]
# Subscriptions are a few hundred at most; one page holds them all.
_MAX_SUBSCRIPTIONS = 10_000
# The fields a subscription's definition consists of (what sync compares and rewrites).
_DEFINITION = ("email", "mode", "filter", "timezone", "digest_hour")


class SubscriptionError(ValueError):
    """An action on a subscription cannot be done; the message says why and what to do."""


@dataclass(frozen=True, kw_only=True)
class Subscription:
    id: str
    email: str
    mode: Literal["immediate", "daily"] = "immediate"
    query: str | None = None
    jurisdictions: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    stances: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    source_kinds: tuple[str, ...] = ()
    timezone: str = "UTC"
    digest_hour: int = 7
    active: bool = True
    origin: Origin = "config"
    created_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    removed_at: datetime | None = None
    last_digest_date: str | None = None

    @classmethod
    def from_config(cls, config: SubscriptionConfig, *, origin: Origin = "config") -> Subscription:
        return cls(
            id=config.id,
            email=config.email,
            mode=config.mode,
            query=config.filter.query,
            jurisdictions=tuple(config.filter.jurisdictions),
            states=tuple(config.filter.states),
            stances=tuple(config.filter.stances),
            events=tuple(config.filter.events),
            source_kinds=tuple(config.filter.source_kinds),
            timezone=config.timezone,
            digest_hour=config.digest_hour,
            origin=origin,
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Subscription:
        flt = doc.get("filter") or {}
        return cls(
            id=doc["id"],
            email=doc["email"],
            mode=doc.get("mode", "immediate"),
            query=flt.get("query"),
            jurisdictions=tuple(flt.get("jurisdictions") or ()),
            states=tuple(flt.get("states") or ()),
            stances=tuple(flt.get("stances") or ()),
            events=tuple(flt.get("events") or ()),
            source_kinds=tuple(flt.get("source_kinds") or ()),
            timezone=doc.get("timezone") or "UTC",
            digest_hour=int(doc.get("digest_hour", 7)),
            active=bool(doc.get("active", True)),
            origin=doc.get("origin", "config"),
            created_at=parse_utc(doc.get("created_at")),
            unsubscribed_at=parse_utc(doc.get("unsubscribed_at")),
            removed_at=parse_utc(doc.get("removed_at")),
            last_digest_date=doc.get("last_digest_date"),
        )

    def definition(self) -> dict[str, Any]:
        """The part of the document that the YAML or ``subscribe add`` decides."""
        return {
            "email": self.email,
            "mode": self.mode,
            "filter": {
                "query": self.query,
                "jurisdictions": list(self.jurisdictions),
                "states": list(self.states),
                "stances": list(self.stances),
                "events": list(self.events),
                # Only when set, so subscriptions stored before the field existed stay unchanged.
                **({"source_kinds": list(self.source_kinds)} if self.source_kinds else {}),
            },
            "timezone": self.timezone,
            "digest_hour": self.digest_hour,
        }

    def describe_filter(self) -> str:
        parts = []
        if self.query:
            parts.append(f"query {self.query!r}")
        for label, values in (
            ("jurisdiction", self.jurisdictions),
            ("state", self.states),
            ("stance", self.stances),
            ("event", self.events),
            ("source kind", self.source_kinds),
        ):
            if values:
                parts.append(f"{label} in {', '.join(values)}")
        return " AND ".join(parts) or "every relevant item"


def _index(settings: Settings) -> str:
    return settings.index("subscriptions")


def get_subscription(es: Elasticsearch, settings: Settings, subscription_id: str) -> Subscription | None:
    try:
        doc = es.get(index=_index(settings), id=subscription_id)
    except NotFoundError:
        return None
    return Subscription.from_document(doc["_source"])


def list_subscriptions(
    es: Elasticsearch, settings: Settings, *, active_only: bool = False
) -> list[Subscription]:
    query: dict[str, Any] = {"term": {"active": True}} if active_only else {"match_all": {}}
    try:
        es.indices.refresh(index=_index(settings))
        response = es.search(
            index=_index(settings), query=query, size=_MAX_SUBSCRIPTIONS, sort=[{"id": "asc"}]
        )
    except NotFoundError:  # no subscription was ever stored under this prefix
        return []
    return [Subscription.from_document(hit["_source"]) for hit in response["hits"]["hits"]]


def _write(es: Elasticsearch, settings: Settings, subscription_id: str, doc: dict[str, Any]) -> None:
    es.index(index=_index(settings), id=subscription_id, document=doc, refresh=True)


def _new_document(subscription: Subscription, now: datetime) -> dict[str, Any]:
    return {
        "id": subscription.id,
        **subscription.definition(),
        "active": True,
        "origin": subscription.origin,
        "created_at": iso(now),
        "updated_at": iso(now),
    }


def query_refusal(es: Elasticsearch, settings: Settings, subscription: Subscription) -> str | None:
    """Why Elasticsearch would refuse the subscription's filter, or None when it takes it."""
    from pipeline.alerts.matching import subscription_filter  # matching imports this module

    try:
        query = subscription_filter(subscription)
    except (ValueError, RecursionError) as error:
        return f"the query does not parse: {error}"
    ensure_index(es, settings, "items")
    answer = es.indices.validate_query(index=settings.index("items"), query=query, explain=True)
    if answer.get("valid"):
        return None
    reasons = [str(e.get("error")) for e in answer.get("explanations") or [] if e.get("error")]
    return f"Elasticsearch refuses the query: {answer.get('error') or '; '.join(reasons) or 'invalid'}"[:500]


def sync_subscriptions(
    es: Elasticsearch,
    settings: Settings,
    configs: list[SubscriptionConfig],
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Make ``{prefix}-subscriptions`` match the YAML without undoing anyone's unsubscribe.

    Returns counts: created, updated, unchanged, kept_unsubscribed, deactivated.
    """
    now = now or datetime.now(UTC)
    ensure_alert_indices(es, settings)
    existing = {s.id: s for s in list_subscriptions(es, settings)}
    raw = _raw_documents(es, settings)
    counts = dict.fromkeys(
        ("created", "updated", "unchanged", "kept_unsubscribed", "deactivated", "refused"), 0
    )
    wanted = {config.id for config in configs}
    for config in configs:
        subscription = Subscription.from_config(config)
        current = existing.get(config.id)
        refusal = query_refusal(es, settings, subscription) if subscription.query else None
        if refusal is not None:  # this one fails alone; what is stored for it stays as it was
            counts["refused"] += 1
            LOGGER.error("subscription %s not synced: %s", config.id, refusal)
            continue
        if current is None:
            _write(es, settings, config.id, _new_document(subscription, now))
            counts["created"] += 1
            continue
        doc = dict(raw[config.id])
        same = all(doc.get(key) == value for key, value in subscription.definition().items())
        if current.unsubscribed_at is not None:
            # The recipient opted out: keep it off, whatever the YAML says.
            counts["kept_unsubscribed"] += 1
            if not same:
                doc.update(subscription.definition(), updated_at=iso(now))
                _write(es, settings, config.id, doc)
            continue
        if same and current.active and current.origin == "config":
            counts["unchanged"] += 1
            continue
        doc.update(subscription.definition(), active=True, origin="config", updated_at=iso(now))
        doc.pop("removed_at", None)
        _write(es, settings, config.id, doc)
        counts["updated"] += 1
    for subscription in existing.values():
        if subscription.origin == "config" and subscription.id not in wanted and subscription.active:
            doc = dict(raw[subscription.id], active=False, removed_at=iso(now), updated_at=iso(now))
            _write(es, settings, subscription.id, doc)
            counts["deactivated"] += 1
            LOGGER.info("subscription %s is no longer in the YAML: deactivated", subscription.id)
    if counts["kept_unsubscribed"]:
        LOGGER.info(
            "%d subscription(s) stay unsubscribed although listed in the YAML", counts["kept_unsubscribed"]
        )
    return counts


def _raw_documents(es: Elasticsearch, settings: Settings) -> dict[str, dict[str, Any]]:
    response = es.search(index=_index(settings), query={"match_all": {}}, size=_MAX_SUBSCRIPTIONS)
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


def add_subscription(
    es: Elasticsearch, settings: Settings, config: SubscriptionConfig, *, now: datetime
) -> tuple[Subscription, bool]:
    """Create (or redefine) a subscription from the command line; returns (subscription, created)."""
    ensure_alert_indices(es, settings)
    current = get_subscription(es, settings, config.id)
    subscription = Subscription.from_config(config, origin="cli")
    refusal = query_refusal(es, settings, subscription) if subscription.query else None
    if refusal is not None:
        raise SubscriptionError(f"subscription {config.id!r} is refused: {refusal}")
    if current is None:
        _write(es, settings, config.id, _new_document(subscription, now))
        return get_subscription(es, settings, config.id) or subscription, True
    if current.unsubscribed_at is not None:
        raise SubscriptionError(
            f"subscription {config.id!r} was unsubscribed by its recipient on "
            f"{current.unsubscribed_at:%Y-%m-%d}; it is not re-activated. Use a new id to subscribe again."
        )
    doc = _new_document(subscription, now)
    if current.created_at is not None:
        doc["created_at"] = iso(current.created_at)
    if current.last_digest_date:
        doc["last_digest_date"] = current.last_digest_date
    _write(es, settings, config.id, doc)
    return get_subscription(es, settings, config.id) or subscription, False


def remove_subscription(
    es: Elasticsearch, settings: Settings, subscription_id: str, *, now: datetime | None = None
) -> str:
    """Delete a subscription; an unsubscribed one is kept as a tombstone. Returns what happened."""
    now = now or datetime.now(UTC)
    ensure_alert_indices(es, settings)
    current = get_subscription(es, settings, subscription_id)
    if current is None:
        raise SubscriptionError(
            f"no subscription with id {subscription_id!r} (see `muniwatch subscribe list`)"
        )
    if current.unsubscribed_at is not None:
        return (
            f"{subscription_id}: kept as unsubscribed (so a sync cannot subscribe the address again); "
            "nothing more to do"
        )
    es.delete(index=_index(settings), id=subscription_id, refresh=True)
    cancelled = cancel_open_deliveries(es, settings, subscription_id, now=now, reason="removed")
    note = f"{subscription_id}: removed"
    if cancelled:
        note += f"; {cancelled} unsent alert(s) cancelled"
    if current.origin == "config":
        note += " (it is in config/subscriptions.yaml: delete it there too, or the next sync adds it back)"
    return note


def mark_digest_sent(
    es: Elasticsearch, settings: Settings, subscription_id: str, day: str, now: datetime
) -> None:
    es.update(
        index=_index(settings),
        id=subscription_id,
        doc={"last_digest_date": day, "last_digest_at": iso(now)},
    )


def unsubscribe(
    es: Elasticsearch, settings: Settings, token: str, *, now: datetime | None = None
) -> Subscription:
    """Honour an unsubscribe token (from the e-mail link or ``muniwatch unsubscribe TOKEN``).

    Idempotent: a second use returns the already unsubscribed subscription. Raises
    InvalidTokenError for a malformed or forged token or an unknown subscription.
    """
    now = now or datetime.now(UTC)
    subscription_id = token_subscription_id(token)  # checks the token's form: nothing read before
    current = get_subscription(es, settings, subscription_id)
    if current is None:
        raise InvalidTokenError(f"no subscription {subscription_id!r}: it may have been removed already")
    verify_token(unsubscribe_secret(settings), token, current.email)
    # Only a verified token writes anything (index templates included).
    ensure_alert_indices(es, settings)
    if current.unsubscribed_at is not None:
        return current
    es.update(
        index=_index(settings),
        id=subscription_id,
        doc={"active": False, "unsubscribed_at": iso(now), "updated_at": iso(now)},
        refresh=True,
    )
    cancelled = cancel_open_deliveries(es, settings, subscription_id, now=now, reason="unsubscribed")
    LOGGER.info("subscription %s unsubscribed (%d unsent alert(s) cancelled)", subscription_id, cancelled)
    return get_subscription(es, settings, subscription_id) or current
