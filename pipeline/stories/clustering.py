"""Stories: items about the same event share a ``story_id``; a story document sums them up.

Two items belong to one story when any of these holds (checked in this order):

1. **link** — one is a post that links to the other (``post.linked_item_ids``), in either order;
2. **copy** — their texts are near-duplicates (estimated Jaccard similarity of word 3-shingles
   ≥ ``DUPLICATE_SIMILARITY``) within ``DUPLICATE_WINDOW``: syndicated wire copies with different
   boilerplate, light rewrites;
3. **same event** — both relevant, same jurisdiction key, published within ``EVENT_WINDOW`` of each
   other, and either the same event or related text (≥ ``RELATED_SIMILARITY``): other outlets'
   reports of the same council vote, posts about it;
4. **rewrite** — related text (≥ ``RELATED_SIMILARITY``) within ``EVENT_WINDOW`` and jurisdictions
   that do not contradict each other (one side has none).

Similarity comes from MinHash signatures (:mod:`pipeline.stories.fingerprints`), stored per item
(``minhash``) together with LSH band keys (``lsh_bands``) so candidates are found with a plain
``terms`` query on the core-only server. Everything is deterministic: a story's id is derived from
its first item's id, and an item that already has a story keeps it when processed again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.models import item_id as make_item_id
from pipeline.models import parse_utc
from pipeline.settings import Settings
from pipeline.sources.urls import canonical_url  # the sources step owns URL canonicalisation
from pipeline.store.indices import ensure_index
from pipeline.stories.candidates import (
    KnownItem,
    KnownItems,
    read_unknown,
    search_candidates,
)
from pipeline.stories.documents import build_story_document, update_stories
from pipeline.stories.fingerprints import Fingerprint, fingerprint, similarity

LOGGER = logging.getLogger(__name__)

DUPLICATE_SIMILARITY = 0.5
RELATED_SIMILARITY = 0.2
DUPLICATE_WINDOW = timedelta(days=14)
EVENT_WINDOW = timedelta(days=4)
# A link or a near-duplicate: evidence strong enough to join two existing stories into one.
STRONG_SCORE = 3.0
_SCORE_WINDOW = max(DUPLICATE_WINDOW, EVENT_WINDOW)


# --- ids and inputs -------------------------------------------------------------------------


def story_id_for(first_item_id: str) -> str:
    """A story's id: derived from the id of the item that started it, so re-runs agree."""
    return hashlib.sha256(f"story\0{first_item_id}".encode()).hexdigest()[:32]


def linked_item_ids(urls: Sequence[str]) -> list[str]:
    """Item ids of the pages a post links to (raw and canonical form of each URL)."""
    ids: list[str] = []
    for url in urls:
        try:
            forms = (url, canonical_url(url))
        except ValueError:  # not a URL canonicalisation understands: the raw form still matches itself
            forms = (url, url)
        for form in forms:
            if form and make_item_id(form) not in ids:
                ids.append(make_item_id(form))
    return ids


# --- assigning items to stories --------------------------------------------------------------


@dataclass(kw_only=True)
class StoryCandidate:
    """What clustering needs to know about one item (``from_mapping`` accepts the same keys)."""

    item_id: str
    title: str
    text: str
    jurisdiction_key: str | None = None
    event: str | None = None
    relevant: bool = False
    published_at: datetime | None = None
    linked_urls: list[str] = field(default_factory=list)
    # ``fingerprint(title, text)`` when the caller computed it already (the enrich workers do).
    minhash: Sequence[int] | None = None
    lsh_bands: Sequence[str] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StoryCandidate:
        return cls(
            item_id=str(data["item_id"]),
            title=str(data.get("title") or ""),
            text=str(data.get("text") or ""),
            jurisdiction_key=data.get("jurisdiction_key") or None,
            event=data.get("event") or None,
            relevant=bool(data.get("relevant")),
            published_at=parse_utc(data.get("published_at")),
            linked_urls=list(data.get("linked_urls") or []),
            minhash=data.get("minhash"),
            lsh_bands=data.get("lsh_bands"),
        )

    def fingerprint(self) -> Fingerprint:
        if self.minhash is not None and self.lsh_bands is not None:
            return Fingerprint(tuple(self.minhash), tuple(self.lsh_bands))
        return fingerprint(self.title, self.text)


def _score(
    item: StoryCandidate, links: Sequence[str], print_: Fingerprint, known: KnownItem, now: datetime
) -> float:
    """How strongly ``item`` belongs with ``known`` (0: not at all); see the module docstring."""
    if known.item_id in links or item.item_id in known.linked_item_ids:
        return 4.0
    gap = abs((item.published_at or now) - (known.published_at or now))
    if gap > _SCORE_WINDOW:  # too far apart for every rule below: no similarity needed
        return 0.0
    sim = similarity(print_.minhash, known.minhash)
    if sim >= DUPLICATE_SIMILARITY and gap <= DUPLICATE_WINDOW:
        return 3.0 + sim
    if gap > EVENT_WINDOW:
        return 0.0
    same_place = item.jurisdiction_key is not None and item.jurisdiction_key == known.jurisdiction_key
    same_event = item.event is not None and item.event == known.event
    if item.relevant and known.relevant and same_place and (same_event or sim >= RELATED_SIMILARITY):
        return 2.0 + sim
    no_conflict = item.jurisdiction_key is None or known.jurisdiction_key is None or same_place
    if sim >= RELATED_SIMILARITY and no_conflict:
        return 1.0 + sim
    return 0.0


def _candidate_query(
    item: StoryCandidate, links: list[str], print_: Fingerprint, now: datetime
) -> dict[str, Any]:
    when = item.published_at or now

    def window(span: timedelta) -> dict[str, Any]:
        return {"range": {"published_at": {"gte": when - span, "lte": when + span}}}

    should: list[dict[str, Any]] = [{"term": {"post.linked_item_ids": item.item_id}}]
    if links:
        should.append({"ids": {"values": links}})
    if print_.bands:
        should.append(
            {"bool": {"filter": [{"terms": {"lsh_bands": list(print_.bands)}}, window(DUPLICATE_WINDOW)]}}
        )
    if item.jurisdiction_key:
        should.append(
            {
                "bool": {
                    "filter": [{"term": {"jurisdiction.key": item.jurisdiction_key}}, window(EVENT_WINDOW)]
                }
            }
        )
    # All in filter context: hits are sorted by date, so scores would be computed for nothing.
    return {
        "bool": {
            "filter": [
                {"exists": {"field": "story_id"}},
                {"bool": {"should": should, "minimum_should_match": 1}},
            ],
            "must_not": [{"ids": {"values": [item.item_id]}}],
        }
    }


def assign_stories(
    es: Elasticsearch,
    settings: Settings,
    items: Sequence[StoryCandidate],
    *,
    now: datetime,
    known: KnownItems | None = None,
) -> dict[str, str]:
    """Give each item a story id; returns ``{item_id: story_id}``.

    Args:
        items: what clustering needs to know about each item (:class:`StoryCandidate`).
        now: stands in for a missing ``published_at``.
        known: a :class:`KnownItems` shared by the batches of one run, so candidates indexed
            earlier in the run are not read from Elasticsearch again (same results without it).

    Costs one ``mget`` (items that already have a story keep it), one ``msearch`` (ids and story
    ids of the candidates for the others) and one ``mget`` of the candidates not in ``known``
    per batch. Items of the same batch are compared with each other too, earliest first, so
    three copies of a wire story in one poll share a story. Nothing is written here: the ids go
    into the item documents (``build_item_document``), then ``update_stories``.
    """
    candidates = sorted(items, key=lambda c: (c.published_at or now, c.item_id))
    if not candidates:
        return {}
    known = known if known is not None else KnownItems()
    ensure_index(es, settings, "items")
    alias = settings.index("items")
    existing = es.mget(index=alias, ids=[c.item_id for c in candidates], source_includes=["story_id"])
    kept = {
        doc["_id"]: doc["_source"]["story_id"]
        for doc in existing["docs"]
        if doc.get("found") and doc["_source"].get("story_id")
    }
    prints = {c.item_id: c.fingerprint() for c in candidates}
    links = {c.item_id: linked_item_ids(c.linked_urls) for c in candidates}
    to_search = [c for c in candidates if c.item_id not in kept]
    found = _find_candidates(es, alias, to_search, links, prints, known, now) if to_search else {}

    assigned: dict[str, str] = {}
    merged: dict[str, str] = {}  # absorbed story -> the story that absorbed it
    batch: list[KnownItem] = []
    for c in candidates:
        story = kept.get(c.item_id)
        if story is None:
            knowns = [*found.get(c.item_id, []), *batch]
            story = _choose(c, links[c.item_id], prints[c.item_id], knowns, merged, now)
        assigned[c.item_id] = story
        batch.append(
            KnownItem(
                item_id=c.item_id,
                story_id=story,
                minhash=prints[c.item_id].minhash,
                jurisdiction_key=c.jurisdiction_key,
                event=c.event,
                relevant=c.relevant,
                published_at=c.published_at,
                linked_item_ids=links[c.item_id],
            )
        )
    for item in batch:
        # What the item document will say (``build_item_document``): candidates for later batches.
        known.add(item)
    final = {item: _resolve(story, merged) for item, story in assigned.items()}
    if merged:
        _absorb(es, settings, {old: _resolve(old, merged) for old in merged}, now)
    LOGGER.info("assigned %d items to %d stories", len(final), len(set(final.values())))
    return final


def _find_candidates(
    es: Elasticsearch,
    alias: str,
    to_search: Sequence[StoryCandidate],
    links: Mapping[str, list[str]],
    prints: Mapping[str, Fingerprint],
    known: KnownItems,
    now: datetime,
) -> dict[str, list[KnownItem]]:
    """Indexed items that may share a story with each of ``to_search`` (earliest first, at most
    ``CANDIDATES_PER_ITEM`` each).

    The search reads doc values only (``story_id``, ``canonical_url``, whose SHA-256 is the item
    id): no stored fields, so Elasticsearch decompresses no ``_source`` block per hit, which was
    most of its cost. What else clustering needs comes from ``known`` or one ``mget``. A hit
    without a ``canonical_url`` doc value (longer than ``ignore_above``) or whose derived id is
    not found sends its item through the plain search (``_id`` from stored fields) instead.
    """
    queries = {c.item_id: _candidate_query(c, links[c.item_id], prints[c.item_id], now) for c in to_search}
    hits_per_item: dict[str, list[tuple[str, str]]] = {}
    unsure: set[str] = set()
    for item, hits in zip(
        queries, search_candidates(es, alias, list(queries.values()), by_url=True), strict=True
    ):
        if any(hit_id is None for hit_id, _ in hits):
            unsure.add(item)
        else:
            hits_per_item[item] = [(str(hit_id), story_id) for hit_id, story_id in hits]
    missing = read_unknown(es, alias, hits_per_item, known)
    unsure |= {item for item, hits in hits_per_item.items() if any(hit_id in missing for hit_id, _ in hits)}
    if unsure:
        retry = sorted(unsure)
        for item, hits in zip(retry, search_candidates(es, alias, [queries[i] for i in retry]), strict=True):
            hits_per_item[item] = [(str(hit_id), story_id) for hit_id, story_id in hits]
        read_unknown(es, alias, {item: hits_per_item[item] for item in retry}, known)
    return {
        item_id: [known.get(hit_id, story_id) for hit_id, story_id in hits if hit_id in known]
        for item_id, hits in hits_per_item.items()
    }


def _resolve(story_id: str, merged: Mapping[str, str]) -> str:
    while story_id in merged:
        story_id = merged[story_id]
    return story_id


def _choose(
    item: StoryCandidate,
    links: Sequence[str],
    print_: Fingerprint,
    knowns: Sequence[KnownItem],
    merged: dict[str, str],
    now: datetime,
) -> str:
    """The story for ``item``; when it strongly matches several stories, the oldest absorbs the others."""
    per_story: dict[str, tuple[float, datetime]] = {}
    for known in knowns:
        score = _score(item, links, print_, known, now)
        if score <= 0:
            continue
        story, when = _resolve(known.story_id, merged), known.published_at or now
        best, earliest = per_story.get(story, (0.0, when))
        per_story[story] = (max(best, score), min(earliest, when))
    if not per_story:
        return story_id_for(item.item_id)
    strong = sorted((when, story) for story, (score, when) in per_story.items() if score >= STRONG_SCORE)
    if strong:
        winner = strong[0][1]
        for _, story in strong[1:]:
            LOGGER.info("story %s joins story %s (item %s links them)", story, winner, item.item_id)
            merged[story] = winner
        return winner
    return max(per_story.items(), key=lambda entry: (entry[1][0], -entry[1][1].timestamp(), entry[0]))[0]


def _absorb(es: Elasticsearch, settings: Settings, moves: Mapping[str, str], now: datetime) -> None:
    """Point the stored items of absorbed stories at the surviving story; drop the absorbed documents."""
    alias = settings.index("items")
    es.indices.refresh(index=alias)
    hits = helpers.scan(
        es,
        index=alias,
        query={"query": {"terms": {"story_id": list(moves)}}},
        _source=["story_id"],
        size=1000,
    )
    actions = [
        {
            "_op_type": "update",
            "_index": alias,
            "_id": hit["_id"],
            "retry_on_conflict": 5,
            "doc": {"story_id": moves[hit["_source"]["story_id"]], "updated_at": now.isoformat()},
        }
        for hit in hits
    ]
    if actions:
        helpers.bulk(es, actions)
    # update_stories refreshes the items first: the moved items are searchable when it reads them.
    update_stories(es, settings, list(moves), now=now)


__all__ = [
    "KnownItems",
    "StoryCandidate",
    "assign_stories",
    "build_story_document",
    "linked_item_ids",
    "story_id_for",
    "update_stories",
]
