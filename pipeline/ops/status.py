"""The figures behind the *muniwatch status* page in Airflow (and ``/muniwatch/status.json``).

Read-only queries on the project's aliases: per-source health, items indexed and stories started
per day, alert e-mails sent per day, the item pipeline's backlog and the open quarantine. An
index that does not exist yet reads as zero — a fresh installation shows an empty page, not an
error. Days are UTC calendar days ending with the day of ``now`` (time is an input).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.ops.health import reported_alarms
from pipeline.settings import Settings
from pipeline.sources.polling import source_health

LOGGER = logging.getLogger(__name__)

DEFAULT_DAYS = 14
# Order of the sources table: what needs a look first (an alarm ops were e-mailed about, then
# failing, silent, degraded, never polled), healthy ones last.
HEALTH_ORDER = {"failing": 1, "silent": 2, "degraded": 3, "never_polled": 4, "ok": 5}


@dataclass(kw_only=True)
class DayCount:
    day: str
    items_indexed: int = 0
    items_relevant: int = 0
    stories_started: int = 0
    alerts_sent: int = 0


@dataclass(kw_only=True)
class StatusSnapshot:
    generated_at: str
    index_prefix: str
    days: list[DayCount]
    sources: list[dict[str, Any]]
    counts: dict[str, int]
    quarantine_open: int
    totals: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _day_range(now: datetime, days: int) -> list[date]:
    last = now.astimezone(UTC).date()
    return [last - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _per_day(
    es: Elasticsearch,
    index: str,
    date_field: str,
    now: datetime,
    days: int,
    query: dict[str, Any] | None = None,
    sub_filter: dict[str, Any] | None = None,
) -> dict[str, tuple[int, int]]:
    """day (YYYY-MM-DD) → (count, count matching ``sub_filter``) over the last ``days`` days."""
    start = datetime.combine(_day_range(now, days)[0], datetime.min.time(), tzinfo=UTC)
    filters: list[dict[str, Any]] = [{"range": {date_field: {"gte": start.isoformat()}}}]
    if query:
        filters.append(query)
    histogram: dict[str, Any] = {
        "date_histogram": {
            "field": date_field,
            "calendar_interval": "day",
            "time_zone": "UTC",
            "format": "yyyy-MM-dd",
            "min_doc_count": 0,
        },
    }
    if sub_filter:
        histogram["aggs"] = {"sub": {"filter": sub_filter}}
    try:
        response = es.search(
            index=index,
            size=0,
            query={"bool": {"filter": filters}},
            aggs={"per_day": histogram},
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except NotFoundError:
        return {}
    buckets = (response.body.get("aggregations") or {}).get("per_day", {}).get("buckets", [])
    return {
        b["key_as_string"]: (int(b["doc_count"]), int(b.get("sub", {}).get("doc_count", 0))) for b in buckets
    }


def _count(es: Elasticsearch, index: str, query: dict[str, Any]) -> int:
    try:
        response = es.count(index=index, query=query, ignore_unavailable=True, allow_no_indices=True)
    except NotFoundError:
        return 0
    return int(response["count"])


def pipeline_counts(es: Elasticsearch, settings: Settings) -> dict[str, int]:
    """Items by lifecycle state: pending (waiting for enrich), indexed, failed, alerts pending."""
    items = settings.index("items")
    alert_pending = {"term": {"alert_status": "pending"}}
    relevant = {"term": {"relevant": True}}
    return {
        "pending": _count(es, items, {"term": {"status": "pending"}}),
        "indexed": _count(es, items, {"term": {"status": "indexed"}}),
        "failed": _count(es, items, {"term": {"status": "failed"}}),
        "relevant": _count(es, items, relevant),
        "alerts_pending": _count(
            es,
            items,
            {"bool": {"filter": [alert_pending, relevant]}},
        ),
        "stories": _count(es, settings.index("stories"), {"match_all": {}}),
        "subscriptions": _count(es, settings.index("subscriptions"), {"match_all": {}}),
    }


def quarantine_open(es: Elasticsearch, settings: Settings) -> int:
    return _count(es, settings.index("quarantine"), {"term": {"status": "open"}})


def sources_worst_first(es: Elasticsearch, settings: Settings, *, now: datetime) -> list[dict[str, Any]]:
    """Per-source health rows, those with a reported alarm (``alarm_reason``) and failing ones first."""
    alarms = reported_alarms(es, settings)
    rows = [{**row, **alarms.get(str(row["source_id"]), {})} for row in source_health(es, settings, now=now)]

    def rank(row: dict[str, Any]) -> tuple[int, str]:
        if row.get("alarm_reported_at"):
            return (0, str(row["source_id"]))
        return (HEALTH_ORDER.get(str(row.get("health")), 4), str(row["source_id"]))

    return sorted(rows, key=rank)


def status_snapshot(
    es: Elasticsearch, settings: Settings, *, now: datetime, days: int = DEFAULT_DAYS
) -> StatusSnapshot:
    """Everything the status page shows, as one serialisable object."""
    items = _per_day(
        es, settings.index("items"), "indexed_at", now, days, sub_filter={"term": {"relevant": True}}
    )
    # When muniwatch first indexed the story (first_seen is when its first item was published).
    stories = _per_day(es, settings.index("stories"), "first_indexed_at", now, days)
    sent = _per_day(
        es, settings.index("deliveries"), "sent_at", now, days, query={"term": {"status": "sent"}}
    )
    rows: list[DayCount] = []
    for day in _day_range(now, days):
        key = day.isoformat()
        rows.append(
            DayCount(
                day=key,
                items_indexed=items.get(key, (0, 0))[0],
                items_relevant=items.get(key, (0, 0))[1],
                stories_started=stories.get(key, (0, 0))[0],
                alerts_sent=sent.get(key, (0, 0))[0],
            )
        )
    totals = {
        "items_indexed": sum(r.items_indexed for r in rows),
        "items_relevant": sum(r.items_relevant for r in rows),
        "stories_started": sum(r.stories_started for r in rows),
        "alerts_sent": sum(r.alerts_sent for r in rows),
    }
    return StatusSnapshot(
        generated_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        index_prefix=settings.index_prefix,
        days=rows,
        sources=sources_worst_first(es, settings, now=now),
        counts=pipeline_counts(es, settings),
        quarantine_open=quarantine_open(es, settings),
        totals=totals,
    )
