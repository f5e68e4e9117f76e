"""What an alert says about a story: its jurisdiction, event, the sentence carrying the event, the
stance, and the items (sources, titles, links) — read from ``{prefix}-stories`` and ``{prefix}-items``.

A story document may lag behind its items (or be missing for an item that was not clustered);
the view is then built from the items alone, so an alert never fails for want of a story.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.models import parse_utc
from pipeline.search.links import story_link
from pipeline.settings import Settings

LOGGER = logging.getLogger(__name__)

# Items listed per story in an e-mail; the Kibana link shows them all.
MAX_ITEMS_PER_STORY = 12
STANCE_LABELS = {
    "anti_cooperation": "against cooperation with ICE",
    "pro_cooperation": "for cooperation with ICE",
    "neutral": "neutral",
}
ITEM_FIELDS = [
    "title",
    "url",
    "canonical_url",
    "source_id",
    "stance",
    "event",
    "published_at",
    "indexed_at",
    "jurisdiction",
    "story_id",
    "evidence.event",
    "site_name",
    "kind",
    "post.handle",
    "relevant",
]


@dataclass(kw_only=True)
class ItemView:
    id: str
    title: str
    url: str
    source_id: str
    stance: str | None = None
    site_name: str | None = None
    handle: str | None = None
    published_at: datetime | None = None
    event_sentence: str | None = None

    @property
    def stance_label(self) -> str:
        return STANCE_LABELS.get(self.stance or "", "stance not determined")

    @property
    def source_label(self) -> str:
        if self.handle:
            return f"@{self.handle.lstrip('@')}"
        return self.site_name or self.source_id


@dataclass(kw_only=True)
class StoryView:
    story_id: str
    jurisdiction: dict[str, Any]
    event: str | None
    event_sentence: str | None
    stance_counts: dict[str, int]
    items: list[ItemView] = field(default_factory=list)
    item_count: int = 0
    link: str = ""

    @property
    def place(self) -> str:
        return place_label(self.jurisdiction)

    @property
    def stance(self) -> str | None:
        """The stance most of the story's items take (ties: neutral first, then anti, then pro)."""
        if not any(self.stance_counts.values()):
            return None
        order = ("neutral", "anti_cooperation", "pro_cooperation")
        return max(order, key=lambda s: (self.stance_counts.get(s, 0), -order.index(s)))

    @property
    def stance_summary(self) -> str:
        parts = [
            f"{count} {STANCE_LABELS[stance]}"
            for stance, count in sorted(self.stance_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if count and stance in STANCE_LABELS
        ]
        return ", ".join(parts) or "not determined"


def place_label(jurisdiction: dict[str, Any] | None) -> str:
    """ "Glendale, CA", "Hudson County, NJ", or the state's own name for a state."""
    if not jurisdiction or not jurisdiction.get("name"):
        return "Unknown jurisdiction"
    name = str(jurisdiction["name"])
    state = jurisdiction.get("state")
    if jurisdiction.get("type") == "state" or not state or name.endswith(f", {state}"):
        return name
    return f"{name}, {state}"


def _story_link(settings: Settings, story_id: str, first_seen: datetime | None) -> str:
    """The story in Kibana, its time range starting the day before the story's first item."""
    if first_seen is None:
        return story_link(settings, story_id)
    return story_link(settings, story_id, since=first_seen - timedelta(days=1))


def _item_view(item_id: str, doc: dict[str, Any]) -> ItemView:
    evidence = doc.get("evidence") or {}
    sentence = evidence.get("event")
    if isinstance(sentence, list):
        sentence = sentence[0] if sentence else None
    return ItemView(
        id=item_id,
        title=str(doc.get("title") or doc.get("url") or item_id),
        url=str(doc.get("url") or doc.get("canonical_url") or ""),
        source_id=str(doc.get("source_id") or "unknown source"),
        stance=doc.get("stance"),
        site_name=doc.get("site_name"),
        handle=(doc.get("post") or {}).get("handle"),
        published_at=parse_utc(doc.get("published_at")),
        event_sentence=str(sentence) if sentence else None,
    )


def load_stories(
    es: Elasticsearch,
    settings: Settings,
    story_ids: Iterable[str],
    *,
    fallback_items: dict[str, dict[str, Any]],
) -> dict[str, StoryView]:
    """Views of the given stories with their relevant items.

    ``fallback_items`` (item id → item document) supplies stories that have no story document yet.
    """
    wanted = list(dict.fromkeys(story_ids))
    if not wanted:
        return {}
    stories: dict[str, dict[str, Any]] = {}
    if es.indices.exists_alias(name=settings.index("stories")):
        response = es.search(
            index=settings.index("stories"),
            query={"terms": {"story_id": wanted}},
            size=len(wanted),
            source_excludes=["minhash"],
        )
        stories = {hit["_source"]["story_id"]: hit["_source"] for hit in response["hits"]["hits"]}
    members = _story_items(es, settings, wanted)
    for item_id, doc in fallback_items.items():
        story_id = doc.get("story_id") or item_id
        if story_id in wanted:
            members.setdefault(story_id, {})
            members[story_id].setdefault(item_id, doc)
    views: dict[str, StoryView] = {}
    for story_id in wanted:
        views[story_id] = _build_view(settings, story_id, stories.get(story_id), members.get(story_id, {}))
    return views


def _story_items(
    es: Elasticsearch, settings: Settings, story_ids: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    response = es.search(
        index=settings.index("items"),
        query={"bool": {"filter": [{"terms": {"story_id": story_ids}}, {"term": {"relevant": True}}]}},
        size=min(10_000, MAX_ITEMS_PER_STORY * 4 * len(story_ids)),
        source_includes=ITEM_FIELDS,
        sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"canonical_url": "asc"}],
    )
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for hit in response["hits"]["hits"]:
        grouped.setdefault(hit["_source"]["story_id"], {})[hit["_id"]] = hit["_source"]
    return grouped


def _build_view(
    settings: Settings, story_id: str, story: dict[str, Any] | None, items: dict[str, dict[str, Any]]
) -> StoryView:
    views = [_item_view(item_id, doc) for item_id, doc in items.items()]
    # Oldest first (who reported it first), undated items last.
    views.sort(
        key=lambda v: (v.published_at is None, v.published_at.timestamp() if v.published_at else 0.0, v.url)
    )
    story = story or {}
    docs = list(items.values())
    jurisdiction: dict[str, Any] = story.get("jurisdiction") or next(
        (d["jurisdiction"] for d in docs if d.get("jurisdiction")), {}
    )
    event = story.get("event") or _most_common(d.get("event") for d in docs)
    sentence = story.get("event_sentence") or next(
        (v.event_sentence for v in views if v.event_sentence), None
    )
    counts = {k: int(v) for k, v in (story.get("stance_counts") or {}).items() if v}
    if not counts:
        counts = dict(Counter(v.stance for v in views if v.stance))
    return StoryView(
        story_id=story_id,
        jurisdiction=dict(jurisdiction),
        event=event,
        event_sentence=sentence,
        stance_counts=counts,
        items=views[:MAX_ITEMS_PER_STORY],
        item_count=max(len(views), int(story.get("item_count") or 0)),
        link=_story_link(settings, story_id, _first_seen(story, views)),
    )


def _first_seen(story: dict[str, Any], views: list[ItemView]) -> datetime | None:
    first = parse_utc(story.get("first_published") or story.get("first_seen"))
    dated = [v.published_at for v in views if v.published_at]
    return min([first, *dated]) if first else min(dated, default=None)


def _most_common(values: Iterable[Any]) -> str | None:
    counted = Counter(v for v in values if v)
    return str(counted.most_common(1)[0][0]) if counted else None
