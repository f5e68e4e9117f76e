"""The delivery ledger in ``{prefix}-deliveries``: what was (to be) sent to whom, and how it went.

One document per subscription × story (``kind: story``) and per subscription × local date
(``kind: digest``). Statuses:

- ``pending``: written (op_type create) *before* sending, with the exact message bytes; whoever
  created it owns it (``claimed_at``). Sent by the owner, or — when the owner crashed or the send
  failed — by a later run once ``next_attempt_at`` has come and the claim is stale.
- ``sent`` / ``failed`` (permanent refusal, reason kept) / ``cancelled`` (unsubscribed, removed).
- ``queued`` → ``in_digest`` → ``digested`` (``digest_id`` names the digest): a story for a daily
  subscription. Only ``sent`` entries are e-mails; a digest is one, its stories are not.
- ``empty``: a digest slot with nothing to send (recorded so the slot is not reconsidered).

Claims use optimistic concurrency (``if_seq_no``), so two workers never send the same delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, NotFoundError, helpers

from pipeline.alerts.storage import iso, stable_id
from pipeline.models import parse_utc
from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "queued", "in_digest")
_PAGE = 500


def story_delivery_id(subscription_id: str, story_id: str) -> str:
    return stable_id(subscription_id, story_id)


def digest_delivery_id(subscription_id: str, day: str) -> str:
    return stable_id(subscription_id, "digest", day)


@dataclass(kw_only=True)
class Delivery:
    id: str
    doc: dict[str, Any]
    seq_no: int | None = None
    primary_term: int | None = None

    @property
    def status(self) -> str:
        return str(self.doc.get("status", ""))

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "story"))

    @property
    def subscription_id(self) -> str:
        return str(self.doc["subscription_id"])

    @property
    def attempts(self) -> int:
        return int(self.doc.get("attempts") or 0)

    @property
    def message_id(self) -> str | None:
        value = self.doc.get("message_id")
        return str(value) if value else None

    @property
    def created_at(self) -> datetime | None:
        return parse_utc(self.doc.get("created_at"))


def _index(settings: Settings) -> str:
    return settings.index("deliveries")


def _from_hit(hit: dict[str, Any]) -> Delivery:
    return Delivery(
        id=hit["_id"], doc=hit["_source"], seq_no=hit.get("_seq_no"), primary_term=hit.get("_primary_term")
    )


def create(es: Elasticsearch, settings: Settings, delivery_id: str, doc: dict[str, Any]) -> bool:
    """Write a new ledger entry; False when it exists already (someone else owns it)."""
    try:
        es.create(index=_index(settings), id=delivery_id, document=doc)
    except ConflictError:
        return False
    return True


def get(es: Elasticsearch, settings: Settings, delivery_id: str) -> Delivery | None:
    try:
        return _from_hit(es.get(index=_index(settings), id=delivery_id).body)
    except NotFoundError:
        return None


def existing_ids(es: Elasticsearch, settings: Settings, delivery_ids: Iterable[str]) -> set[str]:
    ids = list(dict.fromkeys(delivery_ids))
    if not ids:
        return set()
    response = es.mget(index=_index(settings), ids=ids, source=False)
    return {doc["_id"] for doc in response["docs"] if doc.get("found")}


def claim(es: Elasticsearch, settings: Settings, delivery: Delivery, *, now: datetime) -> bool:
    """Take a pending delivery for sending; False when another worker changed it first."""
    if delivery.seq_no is None or delivery.primary_term is None:
        fresh = get(es, settings, delivery.id)
        if fresh is None:
            return False
        delivery.seq_no, delivery.primary_term, delivery.doc = fresh.seq_no, fresh.primary_term, fresh.doc
    try:
        response = es.update(
            index=_index(settings),
            id=delivery.id,
            doc={"claimed_at": iso(now), "updated_at": iso(now)},
            if_seq_no=delivery.seq_no,
            if_primary_term=delivery.primary_term,
        )
    except ConflictError:
        return False
    delivery.seq_no = response.get("_seq_no")
    delivery.primary_term = response.get("_primary_term")
    return True


def update(es: Elasticsearch, settings: Settings, delivery_id: str, fields: dict[str, Any]) -> None:
    es.update(index=_index(settings), id=delivery_id, doc=fields)


def mark_sent(es: Elasticsearch, settings: Settings, delivery: Delivery, *, now: datetime) -> None:
    update(
        es,
        settings,
        delivery.id,
        {
            "status": "sent",
            "sent_at": iso(now),
            "updated_at": iso(now),
            "attempts": delivery.attempts + 1,
            "claimed_at": None,
            "next_attempt_at": None,
        },
    )


def mark_retry(
    es: Elasticsearch,
    settings: Settings,
    delivery: Delivery,
    *,
    now: datetime,
    error: str,
    retry_at: datetime,
) -> None:
    update(
        es,
        settings,
        delivery.id,
        {
            "status": "pending",
            "attempts": delivery.attempts + 1,
            "last_error": error[:2000],
            "next_attempt_at": iso(retry_at),
            "claimed_at": None,
            "updated_at": iso(now),
        },
    )


def mark_failed(
    es: Elasticsearch, settings: Settings, delivery: Delivery, *, now: datetime, error: str
) -> None:
    update(
        es,
        settings,
        delivery.id,
        {
            "status": "failed",
            "attempts": delivery.attempts + 1,
            "last_error": error[:2000],
            "claimed_at": None,
            "next_attempt_at": None,
            "updated_at": iso(now),
        },
    )


def set_status(
    es: Elasticsearch,
    settings: Settings,
    delivery_ids: Iterable[str],
    status: str,
    *,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> int:
    """Bulk status change (story entries of a digest). Missing ids are skipped, not created."""
    actions = [
        {
            "_op_type": "update",
            "_index": _index(settings),
            "_id": delivery_id,
            "doc": {"status": status, "updated_at": iso(now), **(extra or {})},
        }
        for delivery_id in dict.fromkeys(delivery_ids)
    ]
    if not actions:
        return 0
    done, errors = helpers.bulk(es, actions, raise_on_error=False, refresh=True)
    for error in errors if isinstance(errors, list) else []:
        LOGGER.warning("ledger status update to %s failed: %s", status, error)
    return int(done)


# created_at, then what makes an entry unique (subscription × story, or subscription × date):
# a total order, so paging with search_after neither skips nor repeats entries.
_SORT: list[Any] = [
    {"created_at": "asc"},
    {"subscription_id": "asc"},
    {"story_id": {"order": "asc", "missing": "_first"}},
    {"digest_date": {"order": "asc", "missing": "_first"}},
]


def _search(es: Elasticsearch, settings: Settings, query: dict[str, Any]) -> list[Delivery]:
    """Every matching entry, paged with search_after (the ledger grows without bound)."""
    es.indices.refresh(index=_index(settings))
    found: list[Delivery] = []
    after: list[Any] | None = None
    while True:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        response = es.search(
            index=_index(settings),
            query=query,
            sort=_SORT,
            size=_PAGE,
            seq_no_primary_term=True,
            **extra,
        )
        hits = response["hits"]["hits"]
        found.extend(_from_hit(hit) for hit in hits)
        if len(hits) < _PAGE:
            return found
        after = hits[-1]["sort"]


def due_pending(
    es: Elasticsearch,
    settings: Settings,
    *,
    now: datetime,
    older_than: timedelta,
    subscription_id: str | None = None,
) -> list[Delivery]:
    """Pending entries that should be (re)sent now: retry time reached and no fresh claim on them."""
    filters: list[dict[str, Any]] = [
        {"term": {"status": "pending"}},
        {
            "bool": {
                "should": [
                    {"bool": {"must_not": {"exists": {"field": "next_attempt_at"}}}},
                    {"range": {"next_attempt_at": {"lte": iso(now)}}},
                ]
            }
        },
        {
            "bool": {
                "should": [
                    {"bool": {"must_not": {"exists": {"field": "claimed_at"}}}},
                    {"range": {"claimed_at": {"lt": iso(now - older_than)}}},
                ]
            }
        },
    ]
    if subscription_id:
        filters.append({"term": {"subscription_id": subscription_id}})
    return _search(es, settings, {"bool": {"filter": filters}})


def open_for_subscription(
    es: Elasticsearch, settings: Settings, subscription_id: str, statuses: Iterable[str]
) -> list[Delivery]:
    query = {
        "bool": {
            "filter": [
                {"term": {"subscription_id": subscription_id}},
                {"terms": {"status": list(statuses)}},
            ]
        }
    }
    return _search(es, settings, query)


def cancel_open_deliveries(
    es: Elasticsearch, settings: Settings, subscription_id: str, *, now: datetime, reason: str
) -> int:
    """Unsent entries of a subscription that is gone: ``cancelled``, with the reason kept."""
    entries = open_for_subscription(es, settings, subscription_id, OPEN_STATUSES)
    return set_status(
        es, settings, [e.id for e in entries], "cancelled", now=now, extra={"last_error": reason}
    )


def subscriptions_with_queued(es: Elasticsearch, settings: Settings) -> set[str]:
    """Ids of subscriptions that have stories waiting for a digest."""
    es.indices.refresh(index=_index(settings))
    response = es.search(
        index=_index(settings),
        query={"term": {"status": "queued"}},
        size=0,
        aggs={"subscriptions": {"terms": {"field": "subscription_id", "size": 10_000}}},
    )
    return {bucket["key"] for bucket in response["aggregations"]["subscriptions"]["buckets"]}
