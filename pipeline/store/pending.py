"""The queue of pending items the enrich step takes, oldest first, within each source's budget.

Each source's ``fetch_budget`` caps the pages fetched for it in one enrich run (posts and kept
texts need no fetch and are not counted). Once a source's budget is spent, its items that need a
fetch are left out of the queries for the rest of the run: they stay pending for the next run,
and ``count_waiting`` tells how many, per source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import DEFAULT_FETCH_BUDGET, PipelineConfig
from pipeline.settings import Settings


def has_kept_text(item: Mapping[str, Any]) -> bool:
    """A pending item that carries the text of an earlier fetch (promoted by ``rematch``)."""
    return not item.get("post") and bool(item.get("text"))


def source_of(item: Mapping[str, Any]) -> str:
    return str(item.get("source_id") or "unknown")


def needs_fetch(item: Mapping[str, Any]) -> bool:
    return not item.get("post") and not has_kept_text(item)


class FetchBudget:
    """Pages fetched per source in this run, against each source's ``fetch_budget``."""

    def __init__(self, config: PipelineConfig) -> None:
        self.limits = {source.id: source.fetch_budget for source in config.sources}
        self.used: Counter[str] = Counter()
        # Sources whose budget is spent: their items that need a fetch are not taken any more.
        self.spent: set[str] = set()

    def take(self, item: Mapping[str, Any]) -> bool:
        if not needs_fetch(item):
            return True
        source = source_of(item)
        if self.used[source] >= self.limits.get(source, DEFAULT_FETCH_BUDGET):
            self.spent.add(source)
            return False
        self.used[source] += 1
        return True


def _waiting_filter(spent: Sequence[str]) -> dict[str, Any]:
    """Items of these sources that need a fetch (not posts, not kept texts)."""
    return {
        "bool": {
            "filter": [{"terms": {"source_id": list(spent)}}],
            "must_not": [{"exists": {"field": "post.platform"}}, {"exists": {"field": "text"}}],
        }
    }


def pending_items(
    es: Elasticsearch,
    settings: Settings,
    *,
    size: int,
    exclude: Sequence[str],
    spent: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The oldest pending items (of ``only``, when given), without ``exclude`` (ids) and the
    pages of ``spent`` sources."""
    filters: list[dict[str, Any]] = [{"term": {"status": "pending"}}]
    if only is not None:
        filters.append({"ids": {"values": list(only)}})
    must_not: list[dict[str, Any]] = []
    if exclude:
        must_not.append({"ids": {"values": list(exclude)}})
    if spent:
        must_not.append(_waiting_filter(spent))
    response = es.search(
        index=settings.index("items"),
        query={"bool": {"filter": filters, "must_not": must_not}},
        sort=[{"discovered_at": {"order": "asc", "missing": "_first"}}, {"canonical_url": "asc"}],
        size=size,
    )
    return [{"_id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def count_waiting(es: Elasticsearch, settings: Settings, spent: set[str]) -> dict[str, int]:
    """Pending items per source left for the next run because the source's budget is spent."""
    if not spent:
        return {}
    response = es.search(
        index=settings.index("items"),
        query={"bool": {"filter": [{"term": {"status": "pending"}}, _waiting_filter(sorted(spent))]}},
        aggs={"sources": {"terms": {"field": "source_id", "size": max(10, len(spent))}}},
        size=0,
    )
    return {b["key"]: int(b["doc_count"]) for b in response["aggregations"]["sources"]["buckets"]}
