"""Pending items: the documents an admitted feed entry becomes, and their bulk creation.

An entry becomes one item with ``status: pending`` (a social post also one per article it links
to), created with ``_id = item_id(canonical_url)``: a 409 means another source or an earlier run
already has it, counted as a duplicate and never fetched again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.models import FeedEntry, Rejected, item_id
from pipeline.rules.language import RuleSet
from pipeline.settings import Settings
from pipeline.sources.gate import Admission
from pipeline.sources.urls import URLError, canonical_url

BULK_CHUNK = 500


def pending_documents(
    entry: FeedEntry, admission: Admission, now: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """The pending item for an admitted entry, plus one per article a post links to."""
    labels = admission.labels
    watchlists = RuleSet.watchlists_of(labels)
    base = {
        "source_id": entry.source_id,
        "source_ids": [entry.source_id],
        "source_kind": entry.source_kind,
        "home_state": entry.home_state,
        "matched_rules": labels,
        "watchlists": watchlists,
        "gate": admission.gate,
        "status": "pending",
        "attempts": 0,
        "discovered_at": now.isoformat(),
        "ingested_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
    published = entry.published_at.isoformat() if entry.published_at else None
    documents: list[tuple[str, dict[str, Any]]] = []
    linked: list[tuple[str, str]] = []
    if entry.post is not None:
        for url in entry.post.linked_urls:
            try:
                linked.append((url, canonical_url(url)))
            except URLError:
                continue
    doc: dict[str, Any] = {
        **base,
        "url": entry.url,
        "canonical_url": entry.canonical_url,
        "title": entry.title,
        "feed_title": entry.title,
        "summary": entry.summary,
        "published_at": published,
        "author": entry.author,
        "kind": entry.kind,
    }
    if entry.post is not None:
        post = entry.post
        doc["post"] = {
            "platform": post.platform,
            "post_id": post.post_id,
            "author": post.author,
            "handle": post.handle,
            "text": post.text,
            "linked_urls": [c for _, c in linked],
            "linked_item_ids": [item_id(c) for _, c in linked],
            "linked_url": linked[0][1] if linked else None,
        }
    documents.append((entry.id, doc))
    for url, canonical in linked:
        if canonical == entry.canonical_url:
            continue
        documents.append(
            (
                item_id(canonical),
                {
                    **base,
                    "url": url,
                    "canonical_url": canonical,
                    "title": "",
                    "summary": entry.summary,
                    "published_at": published,
                    "kind": "article",
                },
            )
        )
    return documents


@dataclass(kw_only=True)
class Enqueued:
    created: list[str] = field(default_factory=list)
    duplicates: int = 0
    refused: list[Rejected] = field(default_factory=list)


def enqueue(
    es: Elasticsearch, settings: Settings, documents: Sequence[tuple[str, str, dict[str, Any]]]
) -> dict[str, Enqueued]:
    """Bulk-create pending items ``(source_id, item_id, document)`` in order; per source: new ids,
    duplicates (409: already there) and documents Elasticsearch refused (with the reason)."""
    outcome: dict[str, Enqueued] = {}
    for start in range(0, len(documents), BULK_CHUNK):
        chunk = documents[start : start + BULK_CHUNK]
        operations: list[dict[str, Any]] = []
        for _, doc_id, doc in chunk:
            operations.append({"create": {"_index": settings.index("items"), "_id": doc_id}})
            operations.append({k: v for k, v in doc.items() if v is not None})
        response = es.bulk(operations=operations)
        for (source_id, doc_id, doc), item in zip(chunk, response["items"], strict=True):
            counts = outcome.setdefault(source_id, Enqueued())
            result = item["create"]
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                counts.created.append(doc_id)
            elif status == 409:
                counts.duplicates += 1
            else:
                error = result.get("error") or {}
                reason = (
                    f"Elasticsearch refused the item ({status}): {error.get('type')}: {error.get('reason')}"
                )
                counts.refused.append(
                    Rejected(stage="poll", key=doc["canonical_url"], reason=reason, source_id=source_id,
                             payload={"item_id": doc_id, "document": doc})
                )  # fmt: skip
    return outcome
