"""Story documents in ``{prefix}-stories``: rebuilt from their items, so always recomputable.

A story document sums up its items: jurisdiction and event (the most common among its relevant
items), the sentence that carries the event, the stance mix, first and last seen, sources, URLs,
item ids and a short per-item summary for e-mails. Which items form a story is decided in
:mod:`pipeline.stories.clustering`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.models import STANCES
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index

LOGGER = logging.getLogger(__name__)

STORY_ITEMS_SUMMARY = 100


_ITEM_FIELDS = [
    "url",
    "canonical_url",
    "title",
    "kind",
    "source_id",
    "relevant",
    "jurisdiction",
    "stance",
    "event",
    "evidence.event",
    "published_at",
    "indexed_at",
    "story_id",
]
# Only the first item's signature goes into the story document: read for that item alone.
_PRINT_FIELDS = ["minhash", "lsh_bands"]


def _most_common(values: Sequence[str | None]) -> str | None:
    """The most frequent non-null value; ties go to the one seen first."""
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    top = max(counts.values())
    return next(v for v in values if v and counts[v] == top)


def _story_order(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item.get("published_at") or ""), str(item.get("_id") or item.get("id"))


def build_story_document(
    story_id: str, items: Sequence[Mapping[str, Any]], *, now: datetime
) -> dict[str, Any]:
    """A story document from its item documents (``_id`` under ``"_id"`` or ``"id"``).

    ``first_seen``/``last_seen`` are the earliest/latest ``published_at`` of its items (when the
    world saw it), ``first_indexed_at``/``last_indexed_at`` when muniwatch indexed them.
    Stance mix, jurisdiction and event come from the relevant items (all items when none is);
    ``minhash``/``lsh_bands`` from the first item (only that one needs them).
    """
    ordered = sorted(items, key=_story_order)
    relevant = [i for i in ordered if i.get("relevant")]
    basis = relevant or ordered
    key = _most_common([(i.get("jurisdiction") or {}).get("key") for i in basis])
    jurisdiction = next(
        (i["jurisdiction"] for i in basis if (i.get("jurisdiction") or {}).get("key") == key), None
    )
    event = _most_common([i.get("event") for i in basis])
    articles = [i for i in basis if i.get("kind") != "post"] or basis
    stance_counts = {s: sum(1 for i in relevant if i.get("stance") == s) for s in STANCES}
    published = sorted(str(i["published_at"]) for i in ordered if i.get("published_at"))
    indexed = sorted(str(i["indexed_at"]) for i in ordered if i.get("indexed_at"))
    sentence = next(
        (
            (i.get("evidence") or {}).get("event")
            for i in basis
            if i.get("event") == event and (i.get("evidence") or {}).get("event")
        ),
        "",
    )
    first = ordered[0] if ordered else {}
    return {
        "story_id": story_id,
        "title": articles[0].get("title") if articles else None,
        "relevant": bool(relevant),
        "jurisdiction": dict(jurisdiction) if key and jurisdiction else None,
        "event": event,
        "event_sentence": sentence,
        "stance_counts": stance_counts,
        "stances": [s for s in STANCES if stance_counts[s]],
        "item_ids": [i.get("_id") or i.get("id") for i in ordered],
        "item_count": len(ordered),
        "relevant_item_count": len(relevant),
        "urls": list(dict.fromkeys(i["url"] for i in ordered if i.get("url"))),
        "source_ids": list(dict.fromkeys(i["source_id"] for i in ordered if i.get("source_id"))),
        "items": [
            {
                "id": i.get("_id") or i.get("id"),
                "title": i.get("title"),
                "url": i.get("url"),
                "source_id": i.get("source_id"),
                "kind": i.get("kind"),
                "relevant": bool(i.get("relevant")),
                "stance": i.get("stance"),
                "event": i.get("event"),
                "published_at": i.get("published_at"),
            }
            for i in ordered[:STORY_ITEMS_SUMMARY]
        ],
        "first_seen": published[0] if published else None,
        "last_seen": published[-1] if published else None,
        "first_published": published[0] if published else None,
        "last_published": published[-1] if published else None,
        "first_indexed_at": indexed[0] if indexed else None,
        "last_indexed_at": indexed[-1] if indexed else None,
        "minhash": list(first.get("minhash") or []),
        "lsh_bands": list(first.get("lsh_bands") or []),
        "updated_at": now.isoformat(),
    }


def _items_of(
    es: Elasticsearch, settings: Settings, story_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {sid: [] for sid in story_ids}
    hits = helpers.scan(
        es,
        index=settings.index("items"),
        query={"query": {"terms": {"story_id": list(story_ids)}}},
        _source=_ITEM_FIELDS,
        size=1000,
        preserve_order=False,
    )
    for hit in hits:
        grouped.setdefault(hit["_source"]["story_id"], []).append({"_id": hit["_id"], **hit["_source"]})
    firsts = {
        str(first["_id"]): first
        for first in (min(items, key=_story_order) for items in grouped.values() if items)
    }
    if firsts:
        docs = es.mget(index=settings.index("items"), ids=sorted(firsts), source_includes=_PRINT_FIELDS)[
            "docs"
        ]
        for doc in docs:
            if doc.get("found"):
                firsts[doc["_id"]].update(doc["_source"])
    return grouped


def update_stories(
    es: Elasticsearch,
    settings: Settings,
    story_ids: Sequence[str],
    *,
    now: datetime,
    refresh: bool = True,
    refresh_items: bool = True,
) -> int:
    """Recompute the story documents of ``story_ids`` from their items; returns how many were written.

    Idempotent (a story document is replaced whole, ``_id = story_id``); a story left without items
    is deleted. Call it after ``bulk_write_items`` so the new items are visible.

    Args:
        refresh: make the story documents searchable before returning.
        refresh_items: refresh the items index first; ``False`` when the caller's last item write
            already did (``bulk_write_items(refresh=True)``), which saves a refresh per batch.
    """
    ids = sorted(set(story_ids))
    if not ids:
        return 0
    ensure_index(es, settings, "stories")
    if refresh_items:
        es.indices.refresh(index=settings.index("items"))
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        actions: list[dict[str, Any]] = []
        for story_id, items in _items_of(es, settings, chunk).items():
            if items:
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": settings.index("stories"),
                        "_id": story_id,
                        "_source": build_story_document(story_id, items, now=now),
                    }
                )
            else:
                actions.append({"_op_type": "delete", "_index": settings.index("stories"), "_id": story_id})
        _, errors = helpers.bulk(es, actions, raise_on_error=False, refresh=refresh)
        assert isinstance(errors, list)  # with raise_on_error=False, bulk returns the error list
        failures = [
            e for e in errors if not (isinstance(e, dict) and e.get("delete", {}).get("status") == 404)
        ]
        if failures:
            raise RuntimeError(f"{len(failures)} story documents could not be written, first: {failures[0]}")
        written += sum(1 for a in actions if a["_op_type"] == "index")
    return written
