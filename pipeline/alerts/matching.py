"""Which newly indexed items match which subscriptions.

The core-only Elasticsearch has no percolator, so each batch of pending items is matched with one
``_msearch``: one search per active subscription, its filter ANDed with an ``ids`` filter on the
batch. The filter is the one ``muniwatch search`` uses (``pipeline.search.query.item_filter_query``), so a
subscription matches exactly what a search with the same query and filters would find.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, helpers

from pipeline.alerts.content import ITEM_FIELDS
from pipeline.alerts.storage import iso
from pipeline.alerts.subscriptions import Subscription
from pipeline.search.query import item_filter_query
from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

# Searches per _msearch request: bounded so hundreds of subscriptions do not make one huge request.
_MSEARCH_CHUNK = 50


@dataclass(kw_only=True)
class PendingItem:
    id: str
    doc: dict[str, Any]

    @property
    def story_id(self) -> str:
        """The item's story; an item not (yet) clustered is a story of its own."""
        return str(self.doc.get("story_id") or self.id)

    @property
    def source_id(self) -> str:
        return str(self.doc.get("source_id") or "unknown")

    @property
    def alert_key(self) -> str | None:
        """Set on a record item whose change deserves an alert of its own although its story was
        alerted before (a Legistar matter that passed): the delivery is per story and this key."""
        key = (self.doc.get("record") or {}).get("alert_key")
        return str(key) if key else None


def delivery_story_key(story_id: str, items: Sequence[PendingItem]) -> str:
    """What a story delivery is keyed on: the story, plus the alert keys of record changes in it."""
    keys = sorted({key for item in items if (key := item.alert_key)})
    return "\0".join([story_id, *keys])


@dataclass(kw_only=True)
class MatchResult:
    by_subscription: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def subscription_filter(subscription: Subscription) -> dict[str, Any]:
    """The Elasticsearch query for a subscription's filter (all parts optional, ANDed): the same
    function builds ``muniwatch search``'s query. Raises ValueError when the query does not parse."""
    return item_filter_query(
        subscription.query,
        list(subscription.jurisdictions),
        list(subscription.states),
        list(subscription.stances),
        list(subscription.events),
        source_kinds=list(subscription.source_kinds),
    )


def pending_items(es: Elasticsearch, settings: Settings, *, limit: int) -> list[PendingItem]:
    """Relevant indexed items not yet through alerts, oldest first."""
    es.indices.refresh(index=settings.index("items"))
    response = es.search(
        index=settings.index("items"),
        query={"bool": {"filter": [{"term": {"alert_status": "pending"}}, {"term": {"relevant": True}}]}},
        sort=[{"indexed_at": {"order": "asc", "missing": "_first"}}, {"canonical_url": "asc"}],
        size=limit,
        source_includes=[*ITEM_FIELDS, "record.alert_key"],
    )
    return [PendingItem(id=hit["_id"], doc=hit["_source"]) for hit in response["hits"]["hits"]]


def settle_irrelevant(es: Elasticsearch, settings: Settings, *, now: datetime) -> int:
    """Items tagged not relevant never alert: take them off the pending queue (``not_relevant``)."""
    query = {"bool": {"filter": [{"term": {"alert_status": "pending"}}, {"term": {"relevant": False}}]}}
    settled = 0
    seen: set[str] = set()
    while True:
        response = es.search(index=settings.index("items"), query=query, size=1000, source=False)
        ids = [hit["_id"] for hit in response["hits"]["hits"] if hit["_id"] not in seen]
        if not ids:  # none left, or only ones whose update failed (logged): they wait for the next run
            return settled
        seen.update(ids)
        settled += mark_items(es, settings, ids, {"alert_status": "not_relevant", "updated_at": iso(now)})


def mark_items(es: Elasticsearch, settings: Settings, item_ids: Sequence[str], fields: dict[str, Any]) -> int:
    actions = [
        {"_op_type": "update", "_index": settings.index("items"), "_id": item_id, "doc": fields}
        for item_id in item_ids
    ]
    if not actions:
        return 0
    done, errors = helpers.bulk(es, actions, raise_on_error=False, refresh=True)
    for error in errors if isinstance(errors, list) else []:
        LOGGER.warning("could not update item alert status: %s", error)
    return int(done)


def _search_alone(es: Elasticsearch, header: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = dict(es.msearch(searches=[header, body])["responses"][0])
    except BadRequestError as error:
        return {"error": {"reason": f"Elasticsearch refused the query: {error.message}"}}
    return response


def match_items(
    es: Elasticsearch, settings: Settings, subscriptions: Sequence[Subscription], item_ids: Sequence[str]
) -> MatchResult:
    """subscription id → ids of the given items it matches (errors per subscription kept apart)."""
    result = MatchResult()
    if not subscriptions or not item_ids:
        return result
    for start in range(0, len(subscriptions), _MSEARCH_CHUNK):
        chunk = subscriptions[start : start + _MSEARCH_CHUNK]
        searches: list[dict[str, Any]] = []
        runnable: list[Subscription] = []
        for subscription in chunk:
            try:
                flt = subscription_filter(subscription)
            except ValueError as error:  # a query stored before the rule language changed
                result.errors[subscription.id] = f"query {subscription.query!r} does not parse: {error}"
                continue
            searches.append({"index": settings.index("items")})
            searches.append(
                {
                    "query": {"bool": {"filter": [{"ids": {"values": list(item_ids)}}, flt]}},
                    "size": len(item_ids),
                    "_source": False,
                }
            )
            runnable.append(subscription)
        if not searches:
            continue
        try:
            responses = es.msearch(searches=searches)["responses"]
        except BadRequestError:
            # One query Elasticsearch cannot even parse makes the whole _msearch a 400: ask for
            # each subscription alone, so only that one fails (pipeline.failures).
            responses = [
                _search_alone(es, searches[2 * i], searches[2 * i + 1]) for i in range(len(runnable))
            ]
        for subscription, response in zip(runnable, responses, strict=True):
            if "error" in response:
                reason = response["error"].get("reason") or response["error"].get("type") or response["error"]
                result.errors[subscription.id] = f"search failed: {reason}"
                continue
            result.by_subscription[subscription.id] = [hit["_id"] for hit in response["hits"]["hits"]]
    for subscription_id, reason in result.errors.items():
        LOGGER.error("subscription %s could not be matched: %s", subscription_id, reason)
    return result
