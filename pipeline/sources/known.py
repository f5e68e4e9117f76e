"""What the index already knows about a poll's entries, and what a poll does with it.

``capped_new_items`` asks Elasticsearch which of a poll's documents exist (one ``mget``), keeps at
most each source's ``max_new_items`` new ones (feed order; the rest are counted as ``deferred`` on
the source's poll result and left in the feed for the next poll), and hands the known ones on
(they become 409 duplicates). ``store_corrected_titles`` stores a headline the same source now
gives an item it already sent (a corrected title), keeping the earlier ones.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import SourceConfig
from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

MGET_CHUNK = 500


def capped_new_items(
    es: Elasticsearch,
    settings: Settings,
    sources: Sequence[SourceConfig],
    documents: list[tuple[str, str, dict[str, Any]]],
    *,
    now: datetime,
) -> tuple[list[tuple[str, str, dict[str, Any]]], Counter[str]]:
    """At most ``max_new_items`` documents not yet in the index per source (feed order), and per
    source how many were deferred to the next poll. Known ones go on (a 409, counted)."""
    caps = {s.id: s.max_new_items for s in sources}
    ids = list(dict.fromkeys(doc_id for _, doc_id, _ in documents))
    known: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), MGET_CHUNK):
        found = es.mget(
            index=settings.index("items"), ids=ids[start : start + MGET_CHUNK],
            source_includes=["source_id", "title", "feed_title", "previous_titles"],
        )  # fmt: skip
        known.update({d["_id"]: d.get("_source") or {} for d in found["docs"] if d.get("found")})
    store_corrected_titles(es, settings, documents, known, now)
    taken: dict[str, int] = {}
    deferred: Counter[str] = Counter()
    kept: list[tuple[str, str, dict[str, Any]]] = []
    for source_id, doc_id, doc in documents:
        if doc_id not in known:
            if taken.get(source_id, 0) >= caps.get(source_id, 10**9):
                deferred[source_id] += 1
                continue
            taken[source_id] = taken.get(source_id, 0) + 1
        kept.append((source_id, doc_id, doc))
    return kept, deferred


def store_corrected_titles(
    es: Elasticsearch,
    settings: Settings,
    documents: list[tuple[str, str, dict[str, Any]]],
    known: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    """An entry already stored whose source now gives it another title (a corrected headline):
    the new title is stored, the earlier ones kept in ``previous_titles``."""
    operations: list[dict[str, Any]] = []
    for source_id, doc_id, doc in documents:
        stored = known.get(doc_id)
        title = doc.get("title") or ""
        if not stored or not title or stored.get("source_id") != source_id:
            continue
        before = stored.get("feed_title") or stored.get("title") or ""
        if title == before:
            continue
        operations.append({"update": {"_index": settings.index("items"), "_id": doc_id}})
        previous = [*(stored.get("previous_titles") or []), before]
        fields = {
            "title": title,
            "feed_title": title,
            "title_corrected_at": now.isoformat(),
            "previous_titles": previous,
        }
        operations.append({"doc": fields})
    if operations:
        response = es.bulk(operations=operations)
        if response.get("errors"):
            LOGGER.warning("could not store some corrected titles: %s", response["items"][:3])
