"""Search indexed items: ``muniwatch search`` and the one definition of what a query matches.

:func:`item_filter_query` turns a rule-syntax query (the watchlist language, translated by
:mod:`pipeline.rules.language`) and the subscription filter fields into Elasticsearch query DSL. The search
command, subscriptions (alerts) and :func:`query_link` (Kibana Discover showing a search) all
use it, so a subscription matches exactly what ``muniwatch search`` finds. Only relevant items are searched;
results are grouped by story (``collapse`` on ``story_id``) with highlights.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import Elasticsearch

from pipeline.config import state_code
from pipeline.models import parse_utc
from pipeline.rules.language import RuleSyntaxError, parse_rule
from pipeline.search.highlights import distinct_fragments
from pipeline.search.links import DEFAULT_SPAN, data_view_id, discover_url, story_link
from pipeline.settings import Settings, load_settings, without_credentials
from pipeline.store.client import make_client
from pipeline.store.indices import ensure_index

SEARCH_FIELDS = ("title", "text")
ITEMS_PER_STORY = 5
_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_NAME_STATE = re.compile(r"^\s*(.+?)\s*,\s*([A-Za-z]{2})\s*$")
_ITEM_SOURCE = [
    "title",
    "url",
    "source_id",
    "published_at",
    "jurisdiction",
    "stance",
    "event",
    "story_id",
    "kind",
]


class SearchError(ValueError):
    """A search the user asked for cannot run (bad query, bad --since); the message says why."""


def _as_list(values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values] if values.strip() else []
    return [v for v in values if v and v.strip()]


def jurisdiction_clause(value: str) -> dict[str, Any]:
    """``"Glendale, CA"``, ``"Glendale"`` (any state) or a key like ``us-ca-city-glendale``."""
    match = _NAME_STATE.match(value)
    if match:
        name, state = match.group(1), match.group(2).upper()
        return {
            "bool": {
                "filter": [{"term": {"jurisdiction.state": state}}],
                "should": [
                    {"term": {"jurisdiction.name.keyword": name}},
                    {"term": {"jurisdiction.label": f"{name}, {state}"}},
                ],
                "minimum_should_match": 1,
            }
        }
    return {
        "bool": {
            "should": [
                {"term": {"jurisdiction.name.keyword": value.strip()}},
                {"term": {"jurisdiction.key": value.strip()}},
            ],
            "minimum_should_match": 1,
        }
    }


def _state(value: str) -> str:
    try:
        return state_code(value)
    except ValueError as error:
        raise SearchError(f"--state: {error}") from None


def item_filter_query(
    query: str | None = None,
    jurisdictions: str | Iterable[str] | None = (),
    states: str | Iterable[str] | None = (),
    stances: str | Iterable[str] | None = (),
    events: str | Iterable[str] | None = (),
    source_kinds: str | Iterable[str] | None = (),
) -> dict[str, Any]:
    """Query DSL for relevant items matching a rule-syntax ``query`` and every given filter.

    Filters are ANDed; values within one filter are ORed (as in subscriptions). Jurisdictions
    match by name (case-insensitive), ``"Name, ST"`` or jurisdiction key; states by USPS code or
    full name in any case (``pipeline.config.state_code``). Raises
    :class:`pipeline.rules.language.RuleSyntaxError` when the query does not parse and
    :class:`SearchError` for a state that is not one.
    """
    filters: list[dict[str, Any]] = [{"term": {"relevant": True}}]
    must: list[dict[str, Any]] = []
    if query and query.strip():
        must.append(parse_rule(query).to_es_query(SEARCH_FIELDS))
    places = _as_list(jurisdictions)
    if places:
        filters.append(
            {"bool": {"should": [jurisdiction_clause(p) for p in places], "minimum_should_match": 1}}
        )
    if _as_list(states):
        filters.append({"terms": {"jurisdiction.state": [_state(s) for s in _as_list(states)]}})
    if _as_list(stances):
        filters.append({"terms": {"stance": _as_list(stances)}})
    if _as_list(events):
        filters.append({"terms": {"event": _as_list(events)}})
    if _as_list(source_kinds):  # e.g. 287g_list: list changes only
        filters.append({"terms": {"source_kind": _as_list(source_kinds)}})
    return {"bool": {"filter": filters, "must": must}}


def parse_since(value: str | datetime | None, now: datetime) -> datetime | None:
    """``7d``, ``24h``, ``30m``, ``2w`` before ``now``, or an ISO date/time (UTC when no zone)."""
    if value is None or isinstance(value, datetime):
        return value
    if not value.strip():
        return None
    match = _SINCE.match(value)
    if match:
        return now - timedelta(**{_SINCE_UNITS[match.group(2)]: int(match.group(1))})
    try:
        return parse_utc(value)
    except ValueError:
        raise SearchError(
            f"--since {value!r}: use a span like 7d, 24h, 2w or a date like 2025-06-01"
        ) from None


@dataclass(kw_only=True)
class ItemHit:
    id: str
    title: str
    url: str
    source_id: str | None
    published_at: str | None
    jurisdiction: str | None
    stance: str | None
    event: str | None
    score: float | None
    highlights: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class StoryHit:
    story_id: str
    title: str | None
    jurisdiction: str | None
    event: str | None
    item_count: int
    kibana_url: str
    items: list[ItemHit] = field(default_factory=list)


@dataclass(kw_only=True)
class SearchResult:
    total_items: int
    total_stories: int
    stories: list[StoryHit] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _item_hit(hit: Mapping[str, Any]) -> ItemHit:
    source = hit["_source"]
    jurisdiction = source.get("jurisdiction") or {}
    highlight = hit.get("highlight") or {}
    return ItemHit(
        id=hit["_id"],
        title=source.get("title") or "",
        url=source.get("url") or "",
        source_id=source.get("source_id"),
        published_at=source.get("published_at"),
        jurisdiction=jurisdiction.get("label") or jurisdiction.get("name"),
        stance=source.get("stance"),
        event=source.get("event"),
        score=hit.get("_score"),
        highlights=distinct_fragments([*highlight.get("title", []), *highlight.get("text", [])]),
    )


def search_items(
    es: Elasticsearch,
    settings: Settings,
    *,
    query: str | None = None,
    jurisdiction: str | Iterable[str] | None = None,
    state: str | Iterable[str] | None = None,
    stance: str | Iterable[str] | None = None,
    event: str | Iterable[str] | None = None,
    since: str | datetime | None = None,
    limit: int = 20,
    now: datetime,
) -> SearchResult:
    """Relevant items matching the query and filters, grouped by story, best story first.

    ``limit`` counts stories; each carries up to ``ITEMS_PER_STORY`` matching items (newest first)
    with highlights. Raises :class:`SearchError` or ``RuleSyntaxError`` for bad input.
    """
    if limit < 1:
        raise SearchError("--limit must be at least 1")
    dsl = item_filter_query(query, jurisdiction, state, stance, event)
    start = parse_since(since, now)
    if start is not None:
        dsl["bool"]["filter"].append({"range": {"published_at": {"gte": start.isoformat()}}})
    ensure_index(es, settings, "items")
    highlight = {
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
        "fields": {
            "title": {"number_of_fragments": 0},
            "text": {"fragment_size": 160, "number_of_fragments": 2},
        },
    }
    scored = bool(query and query.strip())
    response = es.search(
        index=settings.index("items"),
        query=dsl,
        size=limit,
        track_total_hits=True,
        sort=["_score", {"published_at": "desc"}] if scored else [{"published_at": "desc"}, "_score"],
        collapse={
            "field": "story_id",
            "inner_hits": {
                "name": "items",
                "size": ITEMS_PER_STORY,
                "sort": [{"published_at": "desc"}],
                "_source": _ITEM_SOURCE,
                "highlight": highlight,
            },
        },
        aggs={"stories": {"cardinality": {"field": "story_id"}}},
        source_includes=_ITEM_SOURCE,
        highlight=highlight,
    )
    groups = response["hits"]["hits"]
    story_ids = [hit["_source"].get("story_id") for hit in groups]
    stories: dict[str, Mapping[str, Any]] = {}
    if any(story_ids):
        ensure_index(es, settings, "stories")
        found = es.mget(
            index=settings.index("stories"),
            ids=[s for s in story_ids if s],
            source_includes=["title", "jurisdiction", "event", "item_count", "first_seen"],
        )
        stories = {doc["_id"]: doc["_source"] for doc in found["docs"] if doc.get("found")}
    result = SearchResult(
        total_items=int(response["hits"]["total"]["value"]),
        total_stories=int(response["aggregations"]["stories"]["value"]),
    )
    for group, story_id in zip(groups, story_ids, strict=True):
        inner = group.get("inner_hits", {}).get("items", {}).get("hits", {})
        items = [_item_hit(hit) for hit in inner.get("hits", [])] or [_item_hit(group)]
        story = stories.get(story_id or "", {})
        place = story.get("jurisdiction") or {}
        result.stories.append(
            StoryHit(
                story_id=story_id or "",
                title=story.get("title") or items[0].title,
                jurisdiction=place.get("label") or place.get("name") or items[0].jurisdiction,
                event=story.get("event") or items[0].event,
                item_count=int(story.get("item_count") or inner.get("total", {}).get("value") or len(items)),
                kibana_url=_story_link(settings, story_id, story.get("first_seen")) if story_id else "",
                items=items,
            )
        )
    return result


def _story_link(settings: Settings, story_id: str, first_seen: str | None) -> str:
    if not first_seen:
        return story_link(settings, story_id)
    start = parse_utc(first_seen)
    if start is None:
        return story_link(settings, story_id)
    start -= timedelta(days=1)
    return story_link(settings, story_id, since=start)


def query_link(
    settings: Settings,
    query_or_filters: str | Mapping[str, Any],
    *,
    since: datetime | str = DEFAULT_SPAN,
) -> str:
    """Discover showing what ``muniwatch search`` / a subscription would find.

    Args:
        query_or_filters: a rule-syntax query (``'"ICE contract" AND county'``), or a mapping with
            the subscription filter fields ``query``, ``jurisdictions``, ``states``, ``stances``,
            ``events`` (strings or lists).
    """
    spec: Mapping[str, Any] = (
        {"query": query_or_filters} if isinstance(query_or_filters, str) else query_or_filters
    )
    dsl = item_filter_query(
        spec.get("query") or None,
        spec.get("jurisdictions") or (),
        spec.get("states") or (),
        spec.get("stances") or (),
        spec.get("events") or (),
    )
    label = (
        "; ".join(
            f"{key}: {value if isinstance(value, str) else ', '.join(map(str, value))}"
            for key, value in spec.items()
            if value
        )
        or "relevant items"
    )
    custom = {
        "$state": {"store": "appState"},
        "meta": {
            "alias": f"muniwatch search ({label})",
            "disabled": False,
            "negate": False,
            "index": data_view_id(settings),
            "type": "custom",
            "key": "query",
            "value": label,
        },
        "query": dsl,
    }
    return discover_url(settings, filters=[custom], since=since)


# --- the command -----------------------------------------------------------------------------


def _plain(fragment: str, bold: bool) -> str:
    text = " ".join(fragment.split())
    return text.replace("<em>", "\033[1m" if bold else "«").replace("</em>", "\033[0m" if bold else "»")


def format_result(result: SearchResult, *, bold: bool = False) -> str:
    """The human-readable listing printed by ``muniwatch search``."""
    lines = [f"{result.total_items} matching items in {result.total_stories} stories"]
    for number, story in enumerate(result.stories, 1):
        lines.append("")
        head = " · ".join(x for x in (story.jurisdiction, story.event, f"{story.item_count} items") if x)
        lines.append(f"[{number}] {story.title or '(untitled)'}")
        lines.append(f"    {head}  story {story.story_id}")
        for item in story.items:
            date = (item.published_at or "")[:10]
            lines.append(f"    - {date} {item.stance or '-':<16} {item.source_id or '-'}: {item.title}")
            for fragment in item.highlights[:2]:
                lines.append(f"        … {_plain(fragment, bold)} …")
            lines.append(f"        {item.url}")
        if story.kibana_url:
            lines.append(f"    Kibana: {story.kibana_url}")
    return "\n".join(lines)


def search_command(args: argparse.Namespace) -> int:
    """``muniwatch search QUERY [--jurisdiction X] [--state ST] [--stance S] [--event E] [--since 7d] ...``"""
    settings = load_settings()
    es = make_client(settings)
    try:
        result = search_items(
            es,
            settings,
            query=args.query,
            jurisdiction=args.jurisdiction,
            state=args.state,
            stance=args.stance,
            event=args.event,
            since=args.since,
            limit=args.limit,
            now=datetime.now(UTC),
        )
    except (SearchError, RuleSyntaxError) as error:
        print(f"muniwatch search: {error}", file=sys.stderr)
        return 2
    except TransportError as error:
        print(
            f"muniwatch search: Elasticsearch at {without_credentials(settings.es_url)} is not reachable "
            f"({error}); "
            "start it with `muniwatch es up`",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_result(result, bold=sys.stdout.isatty()))
    return 0
