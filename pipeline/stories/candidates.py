"""Story candidates: the indexed items clustering compares a new item with, read cheaply.

``search_candidates`` runs one ``msearch`` for a batch and reads doc values only (``story_id``
and ``canonical_url``, whose SHA-256 is the item id), so Elasticsearch decompresses no stored
``_source`` per hit. ``KnownItems`` keeps what clustering needs about each candidate for a run;
everything in it but the story id is fixed once an item is indexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.models import item_id as make_item_id
from pipeline.models import parse_utc

CANDIDATES_PER_ITEM = 50


@dataclass(kw_only=True)
class KnownItem:
    """An item already in a story: from Elasticsearch, or assigned earlier in this batch."""

    item_id: str
    story_id: str
    minhash: Sequence[int]
    jurisdiction_key: str | None
    event: str | None
    relevant: bool
    published_at: datetime | None
    linked_item_ids: Sequence[str]

    @classmethod
    def from_source(cls, item_id: str, story_id: str, source: Mapping[str, Any]) -> KnownItem:
        return cls(
            item_id=item_id,
            story_id=story_id,
            minhash=source.get("minhash") or (),
            jurisdiction_key=(source.get("jurisdiction") or {}).get("key"),
            event=source.get("event"),
            relevant=bool(source.get("relevant")),
            published_at=parse_utc(source.get("published_at")),
            linked_item_ids=(source.get("post") or {}).get("linked_item_ids") or (),
        )

    def with_story(self, story_id: str) -> KnownItem:
        return KnownItem(
            item_id=self.item_id,
            story_id=story_id,
            minhash=self.minhash,
            jurisdiction_key=self.jurisdiction_key,
            event=self.event,
            relevant=self.relevant,
            published_at=self.published_at,
            linked_item_ids=self.linked_item_ids,
        )


class KnownItems:
    """What clustering reads about indexed items, kept for one run (an enrich run, say).

    Everything but ``story_id`` is fixed once an item is indexed (a run processes an item once),
    so candidate searches fetch only ids and story ids and read the rest from here, from
    Elasticsearch (one ``mget``) the first time. ``story_id`` always comes fresh from the search:
    stories merge. Bounded: cleared when it grows past ``limit`` items.
    """

    def __init__(self, limit: int = 20_000) -> None:  # ~2.5 KB each (the signature): ~50 MB
        self.limit = limit
        self._items: dict[str, KnownItem] = {}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str, story_id: str) -> KnownItem:
        known = self._items[item_id]
        if known.story_id != story_id:
            # Kept with the story last seen: the next search mostly reports the same one, and
            # KnownItems are never changed in place, so the same object can be handed out again.
            known = self._items[item_id] = known.with_story(story_id)
        return known

    def add(self, known: KnownItem) -> None:
        if len(self._items) >= self.limit:
            self._items.clear()
        self._items[known.item_id] = known


KNOWN_FIELDS = [
    "minhash",
    "jurisdiction.key",
    "event",
    "relevant",
    "published_at",
    "post.linked_item_ids",
]


# ``status`` keeps a response without hits in the list (filtering drops empty objects, which
# would shift the responses against their queries).
_MSEARCH_FIELDS = [
    "responses.status",
    "responses.error",
    "responses.hits.hits._id",
    "responses.hits.hits.fields",
]


def search_candidates(
    es: Elasticsearch, alias: str, queries: Sequence[dict[str, Any]], *, by_url: bool = False
) -> list[list[tuple[str | None, str]]]:
    """``(item id, story id)`` of each query's hits; with ``by_url`` the id is derived from the
    ``canonical_url`` doc value (None when the hit has none)."""
    searches: list[dict[str, Any]] = []
    for query in queries:
        body: dict[str, Any] = {
            "query": query,
            "size": CANDIDATES_PER_ITEM,
            "docvalue_fields": ["story_id", "canonical_url"] if by_url else ["story_id"],
            "track_total_hits": False,
            "sort": [{"published_at": {"order": "asc", "missing": "_last"}}, {"_doc": "asc"}],
        }
        if by_url:
            body["stored_fields"] = "_none_"
        else:
            body["_source"] = False
        searches += [{"index": alias}, body]
    out: list[list[tuple[str | None, str]]] = []
    # Only what is read below comes back: a batch's response has up to 5,000 hits, and their
    # index names, scores and sort values were most of its bytes (encoded, sent and decoded).
    for response in es.msearch(searches=searches, filter_path=_MSEARCH_FIELDS)["responses"]:
        if "error" in response:
            raise RuntimeError(f"story candidate search failed: {response['error']}")
        hits: list[tuple[str | None, str]] = []
        for hit in response.get("hits", {}).get("hits", []):
            fields = hit["fields"]
            if by_url:
                urls = fields.get("canonical_url")
                hits.append((make_item_id(urls[0]) if urls else None, fields["story_id"][0]))
            else:
                hits.append((hit["_id"], fields["story_id"][0]))
        out.append(hits)
    return out


def read_unknown(
    es: Elasticsearch, alias: str, hits_per_item: Mapping[str, list[tuple[str, str]]], known: KnownItems
) -> set[str]:
    """Read the hits not in ``known`` into it (one ``mget``); returns the ids not found."""
    unknown = sorted({hit_id for hits in hits_per_item.values() for hit_id, _ in hits if hit_id not in known})
    if not unknown:
        return set()
    missing: set[str] = set()
    for doc in es.mget(index=alias, ids=unknown, source_includes=KNOWN_FIELDS)["docs"]:
        if doc.get("found"):
            known.add(KnownItem.from_source(doc["_id"], "", doc["_source"]))
        else:
            missing.add(doc["_id"])
    return missing
