"""Quarantine: what a step could not process is kept with its reason, counted and replayable.

Documents live in ``{prefix}-quarantine`` with ``_id`` = stage + key, so quarantining the same
failure twice updates one record (attempts counted) instead of piling up copies. The payload is
stored verbatim and unindexed: a document Elasticsearch rejected for its mapping is still kept.
``muniwatch replay`` hands each open record back to the stage's registered replay handler.
This is where the isolation rule of :mod:`pipeline.failures` puts what one item, subscription or
delivery could not do.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from pipeline.models import Rejected
from pipeline.settings import Settings, load_settings
from pipeline.store.client import make_client
from pipeline.store.indices import ensure_index

LOGGER = logging.getLogger(__name__)

# stage -> handler(es, settings, record) returning True when the record was processed.
ReplayHandler = Callable[[Elasticsearch, Settings, dict[str, Any]], bool]
_REPLAY_HANDLERS: dict[str, ReplayHandler] = {}
_BULK_CHUNK = 500


def register_replay(stage: str, handler: ReplayHandler) -> None:
    """Called by the module that owns a stage, at import time."""
    _REPLAY_HANDLERS[stage] = handler


def record_id(stage: str, key: str) -> str:
    return hashlib.sha256(f"{stage}\0{key}".encode()).hexdigest()


def quarantine(
    es: Elasticsearch, settings: Settings, rejected: Iterable[Rejected], now: datetime | None = None
) -> int:
    """Keep each rejected thing (idempotently) with one bulk request; return how many were written.

    One request and one refresh for the lot: a feed of 20,000 dead links must not cost a second
    per failure (it did, one ``update`` with ``refresh=wait_for`` each). A record Elasticsearch
    refuses is logged with its reason and counted out; the others are kept."""
    now = now or datetime.now(UTC)
    items = list(rejected)
    if not items:
        return 0
    ensure_index(es, settings, "quarantine")
    count = 0
    for start in range(0, len(items), _BULK_CHUNK):
        count += _write_records(es, settings, items[start : start + _BULK_CHUNK], now)
    return count


def _record(item: Rejected, now: datetime, *, keep_payload: bool = True) -> dict[str, Any]:
    # Payloads must survive JSON even when a step put odd objects in them.
    payload = json.loads(json.dumps(item.payload, default=str))
    if not keep_payload:
        # The record itself was too large for Elasticsearch (the payload was a document too large
        # to index): keep the reason and the keys, say what was left out.
        size = len(json.dumps(payload))
        payload = {k: v for k, v in payload.items() if isinstance(v, str) and len(v) < 2000}
        payload["payload_omitted_bytes"] = size
    return {
        "stage": item.stage,
        "key": item.key,
        "source_id": item.source_id,
        "reason": item.reason[:4000],
        "payload": payload,
        "status": "open",
        "last_attempt": now.isoformat(),
    }


def _write_records(
    es: Elasticsearch, settings: Settings, chunk: list[Rejected], now: datetime, *, keep_payload: bool = True
) -> int:
    operations: list[dict[str, Any]] = []
    for item in chunk:
        fields = _record(item, now, keep_payload=keep_payload)
        operations.append(
            {"update": {"_index": settings.index("quarantine"), "_id": record_id(item.stage, item.key)}}
        )
        operations.append({"doc": fields, "upsert": {**fields, "attempts": 1, "first_seen": now.isoformat()}})
    try:
        # Replay and the ops view read quarantine right after a failure; make it visible.
        response = es.bulk(operations=operations, refresh="wait_for")
    except ApiError as error:
        if error.status_code not in (413, 429) or (len(chunk) == 1 and not keep_payload):
            raise
        if len(chunk) == 1:
            return _write_records(es, settings, chunk, now, keep_payload=False)
        return sum(_write_records(es, settings, [item], now) for item in chunk)
    count = 0
    for item, result in zip(chunk, response["items"], strict=True):
        outcome = result["update"]
        if int(outcome.get("status", 500)) >= 300:
            LOGGER.error("could not quarantine %s %s: %s", item.stage, item.key, outcome.get("error"))
            continue
        count += 1
        LOGGER.warning("quarantined %s %s: %s", item.stage, item.key, item.reason)
    return count


def open_records(es: Elasticsearch, settings: Settings, stage: str | None = None) -> list[dict[str, Any]]:
    ensure_index(es, settings, "quarantine")
    filters: list[dict[str, Any]] = [{"term": {"status": "open"}}]
    if stage:
        filters.append({"term": {"stage": stage}})
    records: list[dict[str, Any]] = []
    response = es.search(
        index=settings.index("quarantine"),
        query={"bool": {"filter": filters}},
        size=1000,
        sort=[{"first_seen": "asc"}],
    )
    for hit in response["hits"]["hits"]:
        records.append({"_id": hit["_id"], **hit["_source"]})
    return records


def mark_resolved(es: Elasticsearch, settings: Settings, record: dict[str, Any], now: datetime) -> None:
    es.update(
        index=settings.index("quarantine"),
        id=record["_id"],
        doc={"status": "resolved", "resolved_at": now, "last_attempt": now},
    )


def replay(
    es: Elasticsearch, settings: Settings, stage: str | None = None, now: datetime | None = None
) -> tuple[int, int]:
    """Replay open records; return (resolved, still failing)."""
    now = now or datetime.now(UTC)
    resolved = failing = 0
    for record in open_records(es, settings, stage):
        handler = _REPLAY_HANDLERS.get(record["stage"])
        if handler is None:
            LOGGER.warning("no replay handler for stage %r (record %s)", record["stage"], record["key"])
            failing += 1
            continue
        try:
            ok = handler(es, settings, record)
        except Exception as error:  # a replay that fails stays quarantined, with the new reason
            LOGGER.warning("replay of %s %s failed: %s", record["stage"], record["key"], error)
            ok = False
        if ok:
            mark_resolved(es, settings, record, now)
            resolved += 1
        else:
            es.update(
                index=settings.index("quarantine"),
                id=record["_id"],
                doc={"last_attempt": now, "attempts": int(record.get("attempts", 1)) + 1},
            )
            failing += 1
    return resolved, failing


# The modules that own a replayable stage; each registers its handler when imported. Named here,
# not imported at the top, because each of them imports this module to quarantine its failures.
REPLAY_MODULES = (
    "pipeline.enrich",
    "pipeline.store.bulk",
    "pipeline.sources.polling",
    "pipeline.alerts.delivery",
    "pipeline.alerts.run",
)


def load_replay_handlers() -> None:
    """Import every stage module, so that every replay handler is registered."""
    for module in REPLAY_MODULES:
        importlib.import_module(module)


def replay_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    es = make_client(settings)
    if args.list:
        records = open_records(es, settings, args.stage)
        for record in records:
            attempts = record.get("attempts", 1)
            print(f"{record['stage']:<10} {attempts:>3}x  {record['key']}\n    {record['reason']}")
        print(f"{len(records)} open record(s)")
        return 0
    load_replay_handlers()
    resolved, failing = replay(es, settings, args.stage)
    print(f"replayed: {resolved} resolved, {failing} still failing")
    return 0 if failing == 0 else 1
