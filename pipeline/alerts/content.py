"""What an alert says about a story: its jurisdiction (with state and type), event, the sentence carrying
the event and the decision's date where the text gives one, the lead article's first sentences, how
the coverage frames it, primary records as sentences, and the items (outlet, date, clean link) — read
from ``{prefix}-stories`` and ``{prefix}-items``.

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

from pipeline.alerts.excerpts import RECORD_KINDS, lead_sentences, record_date, record_sentence
from pipeline.alerts.when import DecisionDate, decision_date, local_time, long_date
from pipeline.models import parse_utc
from pipeline.search.links import story_link
from pipeline.settings import Settings
from pipeline.sources.urls import URLError, link_url

LOGGER = logging.getLogger(__name__)

# Items listed per story in an e-mail; the Kibana link shows them all.
MAX_ITEMS_PER_STORY = 12
# The stance is the *article's own voice* (DESIGN, tag output), never the jurisdiction's position:
# the labels say "framing" so that no reader takes "against cooperation" for what the city decided.
STANCE_LABELS = {
    "anti_cooperation": "favouring limits on cooperation with ICE",
    "pro_cooperation": "favouring cooperation with ICE",
    "neutral": "neutral",
}
FRAMING_NOTE = "the articles’ own voice, not the position of the jurisdiction or its officials"
_STATES = """AL=Alabama AK=Alaska AZ=Arizona AR=Arkansas CA=California CO=Colorado CT=Connecticut
DE=Delaware DC=District_of_Columbia FL=Florida GA=Georgia HI=Hawaii ID=Idaho IL=Illinois IN=Indiana IA=Iowa
KS=Kansas KY=Kentucky LA=Louisiana ME=Maine MD=Maryland MA=Massachusetts MI=Michigan MN=Minnesota
MS=Mississippi MO=Missouri MT=Montana NE=Nebraska NV=Nevada NH=New_Hampshire NJ=New_Jersey NM=New_Mexico
NY=New_York NC=North_Carolina ND=North_Dakota OH=Ohio OK=Oklahoma OR=Oregon PA=Pennsylvania
RI=Rhode_Island SC=South_Carolina SD=South_Dakota TN=Tennessee TX=Texas UT=Utah VT=Vermont VA=Virginia
WA=Washington WV=West_Virginia WI=Wisconsin WY=Wyoming PR=Puerto_Rico GU=Guam VI=U.S._Virgin_Islands
AS=American_Samoa MP=Northern_Mariana_Islands"""
# USPS code -> name, for "Glendale (city, California)" and the digest's state headings.
STATE_NAMES = {code: name.replace("_", " ") for code, name in (pair.split("=") for pair in _STATES.split())}
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
    "source_kind",
    "record",
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
    # USPS code of the item's jurisdiction: its dates are read in that state's time zone
    state: str | None = None
    source_kind: str | None = None
    record: dict[str, Any] | None = None
    # the first sentences of its text, for the story's lead item only
    lead: str | None = None

    @property
    def stance_label(self) -> str:
        return STANCE_LABELS.get(self.stance or "", "not determined")

    @property
    def link(self) -> str:
        """The URL without tracking parameters or fragment (what the e-mail links to)."""
        try:
            return link_url(self.url)
        except URLError:
            return self.url

    @property
    def date_label(self) -> str:
        return long_date(self.local_published) if self.local_published else "undated"

    @property
    def local_published(self) -> datetime | None:
        return local_time(self.published_at, self.state)

    @property
    def is_record(self) -> bool:
        return self.source_kind in RECORD_KINDS or bool(self.record)

    @property
    def source_label(self) -> str:
        if self.handle:
            return f"@{self.handle.lstrip('@')}"
        record = self.record or {}
        if not self.site_name and record.get("kind") == "287g_list" and record.get("list"):
            return f"ICE's 287(g) {record['list']} agencies list"
        if not self.site_name and record.get("kind") == "legistar":
            return f"Legistar, {record.get('body') or self.source_id}"
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
    decision: DecisionDate | None = None
    # where the decision's date was read, e.g. "“on Monday” in Valley Ledger, published 10 June 2025"
    decision_source: str = ""
    lead_item: ItemView | None = None
    # (sentence, link) per primary record among the items
    records: list[tuple[str, str]] = field(default_factory=list)

    @property
    def place(self) -> str:
        return place_label(self.jurisdiction)

    @property
    def place_long(self) -> str:
        return place_long_label(self.jurisdiction)

    @property
    def state_name(self) -> str:
        state = str(self.jurisdiction.get("state") or "")
        return STATE_NAMES.get(state, state or "State not known")

    @property
    def first_reported(self) -> str | None:
        dated = [i.local_published for i in self.items if i.local_published]
        return long_date(min(dated)) if dated else None

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

    @property
    def lead(self) -> str | None:
        return self.lead_item.lead if self.lead_item else None

    @property
    def has_coverage(self) -> bool:
        """Whether any item is coverage (an article or post) rather than a primary record: a story of
        records alone has no framing to report."""
        return not self.items or any(not i.is_record for i in self.items)

    @property
    def coverage_sentence(self) -> str | None:
        """The event sentence to quote: not a record's own (its "Record:" line says it already)."""
        if not self.event_sentence or self.event_sentence in (self.lead or ""):
            return None
        if any(i.is_record and i.event_sentence == self.event_sentence for i in self.items):
            return None
        return self.event_sentence


def place_label(jurisdiction: dict[str, Any] | None) -> str:
    """ "Glendale, CA", "Hudson County, NJ", or the state's own name for a state."""
    if not jurisdiction or not jurisdiction.get("name"):
        return "Unknown jurisdiction"
    name = str(jurisdiction["name"])
    state = jurisdiction.get("state")
    if jurisdiction.get("type") == "state" or not state or name.endswith(f", {state}"):
        return name
    return f"{name}, {state}"


def place_long_label(jurisdiction: dict[str, Any] | None) -> str:
    """ "Glendale (city, California)", "Hudson County (county, New Jersey)", "Texas (state)"."""
    if not jurisdiction or not jurisdiction.get("name"):
        return "Unknown jurisdiction"
    name = str(jurisdiction["name"])
    kind = str(jurisdiction.get("type") or "").strip()
    state = str(jurisdiction.get("state") or "").strip()
    if kind == "state":
        return f"{name} (state)"
    state_name = STATE_NAMES.get(state.upper(), state)
    inside = ", ".join(part for part in (kind, state_name) if part)
    return f"{name} ({inside})" if inside else name


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
        state=(doc.get("jurisdiction") or {}).get("state"),
        source_kind=doc.get("source_kind"),
        record=doc.get("record") if isinstance(doc.get("record"), dict) else None,
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
    _attach_leads(es, settings, list(views.values()))
    return views


def _lead_candidate(view: StoryView) -> ItemView | None:
    """The earliest article (not a post, not a record) of the story, else its earliest item."""
    candidates = [i for i in view.items if not i.is_record]
    articles = [i for i in candidates if not i.handle]
    chosen = articles or candidates
    return chosen[0] if chosen else None


def _attach_leads(es: Elasticsearch, settings: Settings, views: list[StoryView]) -> None:
    """Each story's lead item with its first sentences, and the decision's date (one mget for all)."""
    leads = {view.story_id: _lead_candidate(view) for view in views}
    wanted = [item.id for item in leads.values() if item is not None]
    texts: dict[str, dict[str, Any]] = {}
    if wanted:
        response = es.mget(
            index=settings.index("items"), ids=wanted, source_includes=["text", "summary", "post.text"]
        )
        texts = {doc["_id"]: doc.get("_source") or {} for doc in response["docs"] if doc.get("found")}
    for view in views:
        item = leads[view.story_id]
        if item is not None:
            doc = texts.get(item.id, {})
            text = doc.get("text") or (doc.get("post") or {}).get("text") or doc.get("summary")
            item.lead = lead_sentences(str(text) if text else None, title=item.title)
            view.lead_item = item
        _attach_decision(view)


def _attach_decision(view: StoryView) -> None:
    """The date of the decision: a record's own date first, then what an item's event sentence (or
    the lead) says relative to that item's publication (see :mod:`pipeline.alerts.when`)."""
    for record_item in view.items:
        if not record_item.is_record or not record_item.record:
            continue
        record = record_item.record
        signed = record_date(record.get("passed_date")) or (
            record_date(record.get("date_signed"))
            if record.get("change") in {"added", "support_model_added"}
            else None
        )
        if signed is not None:
            view.decision = DecisionDate(day=signed, phrase="the record")
            view.decision_source = f"the primary record, {record_item.source_label}"
            return
    # A record's own text is not read for dates: its dates are the fields above, and a row no longer
    # listed says when it was signed, not when it ended (ICE does not say).
    sources: list[tuple[str | None, ItemView | None]] = [
        (i.event_sentence, i) for i in view.items if not i.is_record
    ]
    if view.event_sentence and not any(i.event_sentence == view.event_sentence for i in view.items):
        sources.append((view.event_sentence, None))  # whose it is is unknown: explicit dates only
    if view.lead_item is not None:
        sources.append((view.lead_item.lead, view.lead_item))
    for text, item in sources:
        found = decision_date(text, item.local_published if item else None)
        if found is not None:
            published = f", published {item.date_label}" if item and item.published_at else ""
            view.decision = found
            view.decision_source = (
                f"“{found.phrase}” in {item.source_label if item else 'the coverage'}{published}"
            )
            return


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
        records=[
            (sentence, item.link)
            for item in views
            # the record's own state: a story's place is its first item's
            if (sentence := record_sentence(item.record, state=item.state, title=item.title))
        ],
    )


def _first_seen(story: dict[str, Any], views: list[ItemView]) -> datetime | None:
    first = parse_utc(story.get("first_published") or story.get("first_seen"))
    dated = [v.published_at for v in views if v.published_at]
    return min([first, *dated]) if first else min(dated, default=None)


def _most_common(values: Iterable[Any]) -> str | None:
    counted = Counter(v for v in values if v)
    return str(counted.most_common(1)[0][0]) if counted else None
