"""Items made from primary records (287(g) list changes, Legistar matters), and the stored list versions.

A record needs no fetching, extraction or tagging: it says itself which jurisdiction it is about,
what happened and when. So a record source's poll writes its items straight as ``status: indexed``
items (``relevant: true``, stance ``neutral`` — the record takes no side — the event of the change,
the jurisdiction from the record, a ``record`` object with the record's own fields), clusters them
into stories like any item (a news article on the same signing then joins the record's story) and
leaves ``alert_status: pending`` for the alerts step.

The last version of a 287(g) list is kept in ``{prefix}-records`` (one document per source) rather
than in the source's health document: 800 rows do not belong in what ops read whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.store.bulk import BulkReport, bulk_write_items
from pipeline.store.indices import ensure_index
from pipeline.store.items import jsonable, tag_fields
from pipeline.stories.clustering import StoryCandidate, assign_stories
from pipeline.stories.documents import update_stories
from pipeline.stories.fingerprints import Fingerprint, fingerprint

RECORDS_INDEX = "records"
RECORD_TAGGER = "record"


@dataclass(kw_only=True)
class RecordPoll:
    """What one poll of a record source found (``entries``: rows or matters read) and wrote."""

    entries: int = 0
    changes: int = 0
    item_ids: list[str] = field(default_factory=list)
    new_items: int = 0
    updated_items: int = 0
    rejected_reasons: list[str] = field(default_factory=list)
    not_modified: bool = False
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    problem: str | None = None


@dataclass(kw_only=True)
class RecordItem:
    """One item to write for a record. ``alert``: put it (back) on the alerts queue."""

    canonical_url: str
    url: str
    title: str
    text: str
    source_id: str
    source_kind: str
    published_at: datetime
    jurisdiction: dict[str, Any]
    event: str
    record: dict[str, Any]
    alert: bool = True
    evidence: str = ""
    matched_rules: list[str] = field(default_factory=list)

    def fingerprint(self) -> Fingerprint:
        """The story-clustering signature of the record's own values (agency, model, date, file…) and
        place, not of its text: every list change's text follows one template, so two agencies' changes
        would read as copies of each other and share a story across states. A news article joins a
        record's story by place and event (see :mod:`pipeline.stories.clustering`), not by wording."""
        # Each word is prefixed with the place: records of two places share no shingle at all.
        place = re.sub(r"\W+", "_", str(self.jurisdiction.get("key") or "unknown"))
        values = " ".join(str(v) for k, v in sorted(self.record.items()) if v and k not in _NOT_DISTINCTIVE)
        return fingerprint("", " ".join(f"{place}_{word}" for word in re.findall(r"\w+", values)))


# Record fields every record of a source shares (or that change with every poll): left out of
# the fingerprint.
_NOT_DISTINCTIVE = frozenset({"kind", "list", "url", "alert_key", "last_modified", "previous_status"})


def record_document(item: RecordItem, *, now: datetime, new: bool) -> dict[str, Any]:
    """The item document (DESIGN's fields plus ``record``). ``new``: first write (sets ingested_at)."""
    print_ = item.fingerprint()
    tags = tag_fields(
        {
            "relevant": True,
            "jurisdiction": item.jurisdiction,
            "stance": "neutral",
            "stance_confidence": 1.0,
            "event": item.event,
            "evidence": {"jurisdiction": item.jurisdiction.get("name") or "", "event": item.evidence},
            "tagger_version": RECORD_TAGGER,
        }
    )
    document: dict[str, Any] = {
        "url": item.url,
        "canonical_url": item.canonical_url,
        "title": item.title,
        "text": item.text,
        "summary": item.title,
        "kind": "record",
        "source_id": item.source_id,
        "source_ids": [item.source_id],
        "source_kind": item.source_kind,
        "published_at": item.published_at,
        "published_at_source": "record",
        **tags,
        "matched_rules": item.matched_rules,
        "watchlists": sorted({rule.split(":", 1)[0].strip() for rule in item.matched_rules if ":" in rule}),
        "minhash": list(print_.minhash),
        "lsh_bands": list(print_.bands),
        "content_hash": hashlib.sha256(item.text.encode("utf-8")).hexdigest(),
        "status": "indexed",
        "last_error": None,
        "indexed_at": now,
        "updated_at": now,
        "record": {k: v for k, v in item.record.items() if v is not None},
    }
    if new:
        document["ingested_at"] = document["discovered_at"] = now
    if item.alert:
        document["alert_status"] = "pending"
        document["alerted_at"] = None
    return {k: v for k, v in jsonable(document).items() if v is not None or k in ("last_error", "alerted_at")}


def write_record_items(
    es: Elasticsearch, settings: Settings, items: Sequence[RecordItem], *, now: datetime, new_ids: set[str]
) -> BulkReport:
    """Cluster the record items into stories and write them (idempotent upserts by canonical URL).

    ``new_ids`` are the item ids written for the first time (they get ``ingested_at``).
    """
    if not items:
        return BulkReport()
    prints = {item.canonical_url: item.fingerprint() for item in items}
    candidates = [
        StoryCandidate(
            item_id=item_id(item.canonical_url),
            title=item.title,
            text=item.text,
            jurisdiction_key=item.jurisdiction.get("key"),
            event=item.event,
            relevant=True,
            published_at=item.published_at,
            minhash=prints[item.canonical_url].minhash,
            lsh_bands=prints[item.canonical_url].bands,
        )
        for item in items
    ]
    story_ids = assign_stories(es, settings, candidates, now=now)
    documents = []
    for item in items:
        doc_id = item_id(item.canonical_url)
        document = record_document(item, now=now, new=doc_id in new_ids)
        document["story_id"] = story_ids[doc_id]
        documents.append(document)
    report = bulk_write_items(es, settings, documents, now=now)
    touched = sorted({story_ids[i] for i in report.written_ids if i in story_ids})
    if touched:
        update_stories(es, settings, touched, now=now)
    return report


def existing_items(es: Elasticsearch, settings: Settings, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored documents (``record`` and lifecycle fields) of those of ``ids`` that exist."""
    if not ids:
        return {}
    ensure_index(es, settings, "items")
    found = es.mget(
        index=settings.index("items"),
        ids=list(ids),
        source_includes=["record", "story_id", "alert_status", "ingested_at", "published_at"],
    )
    return {doc["_id"]: doc["_source"] for doc in found["docs"] if doc.get("found")}


# --- stored list versions ----------------------------------------------------------------------


def version_hash(rows: Mapping[str, Any]) -> str:
    """Order-free hash of a list version: a re-saved or reordered workbook hashes the same."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _ensure_records(es: Elasticsearch, settings: Settings) -> None:
    ensure_index(es, settings, RECORDS_INDEX)
    # A just-created index answers 503 until its shard has started.
    es.cluster.health(index=settings.index(RECORDS_INDEX), wait_for_status="yellow", timeout="30s")


def load_version(es: Elasticsearch, settings: Settings, source_id: str) -> dict[str, Any] | None:
    """The stored document of the source's last list version, or None before the first poll."""
    _ensure_records(es, settings)
    try:
        found = es.get(index=settings.index(RECORDS_INDEX), id=source_id)
    except NotFoundError:
        return None
    source: dict[str, Any] = found["_source"]
    return source


def pending_keys(es: Elasticsearch, settings: Settings) -> set[str]:
    """Row keys on the stored pending list(s), or that left it with its last version."""
    _ensure_records(es, settings)
    found = es.search(index=settings.index(RECORDS_INDEX), query={"term": {"list": "pending"}}, size=10)
    keys: set[str] = set()
    for hit in found["hits"]["hits"]:
        keys.update(hit["_source"].get("rows") or {})
        keys.update(hit["_source"].get("left_keys") or [])
    return keys


def save_version(
    es: Elasticsearch,
    settings: Settings,
    source_id: str,
    *,
    list_name: str,
    rows: Mapping[str, Any],
    now: datetime,
    left_keys: Sequence[str] = (),
) -> None:
    """Store a list version; ``left_keys``: rows that left the list with it (pending requests that
    were granted or withdrawn, so the participating list can tell a granted request)."""
    _ensure_records(es, settings)
    es.index(
        index=settings.index(RECORDS_INDEX),
        id=source_id,
        document={
            "source_id": source_id,
            "kind": "287g_list",
            "list": list_name,
            "version_hash": version_hash(rows),
            "row_count": len(rows),
            "updated_at": now.isoformat(),
            "rows": dict(rows),
            "left_keys": sorted(left_keys),
        },
        refresh=True,
    )
