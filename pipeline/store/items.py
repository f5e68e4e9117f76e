"""Item documents: what one item looks like in ``{prefix}-items``.

``build_item_document`` turns an extracted :class:`Article` and its tags into the document described in
DESIGN ("Elasticsearch") plus the lifecycle fields (``status: indexed``, ``indexed_at``,
``alert_status: pending``); ``pipeline.store.bulk`` writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pipeline.limits import STORED_SUMMARY_CHARS, STORED_TEXT_CHARS, cap_text
from pipeline.models import Article, parse_utc
from pipeline.stories.clustering import linked_item_ids
from pipeline.stories.fingerprints import fingerprint

# Fields written as explicit nulls so that re-processing clears what an earlier version set.
_NULLABLE = frozenset({"jurisdiction", "stance", "stance_confidence", "event", "last_error", "alerted_at"})


class SupportsTagJson(Protocol):
    def to_json_dict(self) -> dict[str, Any]: ...


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Dates as ISO-8601 strings, tuples as lists, recursively: the document survives JSON round trips."""
    if type(value) in _PLAIN_TYPES:  # most values: one set lookup, no isinstance chain
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def _label(jurisdiction: Mapping[str, Any]) -> str | None:
    name, state = jurisdiction.get("name"), jurisdiction.get("state")
    if not name:
        return None
    return f"{name}, {state}" if state and jurisdiction.get("type") != "state" else str(name)


def _jurisdiction(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    out: dict[str, Any] = {k: raw.get(k) for k in ("name", "type", "state", "key")}
    out["label"] = _label(raw)
    if raw.get("lat") is not None and raw.get("lon") is not None:
        out["location"] = {"lat": float(raw["lat"]), "lon": float(raw["lon"])}
    elif raw.get("location"):
        out["location"] = raw["location"]
    return out


def tag_fields(tags: Mapping[str, Any] | SupportsTagJson) -> dict[str, Any]:
    """The item fields that come from the tagger (``Tags`` or its JSON dict)."""
    data = tags if isinstance(tags, Mapping) else tags.to_json_dict()
    relevant = bool(data.get("relevant"))
    evidence = data.get("evidence") or {}
    return {
        "relevant": relevant,
        "jurisdiction": _jurisdiction(data.get("jurisdiction")),
        "other_jurisdictions": [
            {
                **{k: j.get(k) for k in ("name", "type", "state") if j.get(k) is not None},
                **({"key": j["key"]} if j.get("key") else {}),
                "label": _label(j),
            }
            for j in data.get("other_jurisdictions") or []
        ],
        "stance": data.get("stance") if relevant else None,
        "stance_confidence": data.get("stance_confidence") if relevant else None,
        "event": data.get("event") if relevant else None,
        "evidence": {
            "jurisdiction": evidence.get("jurisdiction") or "",
            "stance": list(evidence.get("stance") or []),
            "event": evidence.get("event") or "",
        },
        "tagger_version": data.get("tagger_version") or None,
        "tag_notes": list(data.get("notes") or []),
    }


def _published(article_date: Any, feed_date: Any, now: datetime) -> tuple[datetime, str]:
    # Every indexed item gets a date to plot and window on; where it came from is kept alongside.
    for value, origin in ((article_date, "article"), (feed_date, "feed")):
        parsed = parse_utc(value)
        if parsed is not None:
            return parsed, origin
    return now, "ingested"


def build_item_document(
    article: Article,
    tags: Mapping[str, Any],
    *,
    story_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The full, JSON-ready item document for an enriched article or post.

    Args:
        article: the fetched and extracted article (or the post with its own text); its
            ``matched_rules`` ("watchlist-id: rule") are the item's.
        tags: the tagger's output as its JSON dict (DESIGN "Tag output", ``Tags.to_json_dict()``).
        story_id: from :func:`pipeline.stories.clustering.assign_stories` ("" until assigned).
        now: becomes ``indexed_at``/``ingested_at``/``updated_at``.
    """
    base = article_fields(article)
    rules = list(article.matched_rules)
    published_at, published_origin = _published(article.published_at, article.entry.published_at, now)
    print_ = fingerprint(base["title"], base["text"])
    document = {
        **base,
        "published_at": published_at,
        "published_at_source": published_origin,
        **tag_fields(tags),
        "story_id": story_id,
        "matched_rules": rules,
        "watchlists": sorted({rule.split(":", 1)[0].strip() for rule in rules if ":" in rule}),
        "minhash": list(print_.minhash),
        "lsh_bands": list(print_.bands),
        "content_hash": hashlib.sha256(base["text"].encode("utf-8")).hexdigest(),
        "status": "indexed",
        "last_error": None,
        "ingested_at": now,
        "indexed_at": now,
        "updated_at": now,
        "alert_status": "pending",
        "alerted_at": None,
    }
    return {k: v for k, v in jsonable(document).items() if v is not None or k in _NULLABLE}


def build_unmatched_document(article: Article, *, now: datetime) -> dict[str, Any]:
    """The document of a fetched candidate whose full text matched no watchlist rule.

    It keeps the text, so ``muniwatch rematch`` can run changed rules over it without fetching
    again, and its canonical URL, so the page is never fetched again. ``status: unmatched``, no
    tags, no story, no ``alert_status``: searches, dashboards and alerts (all on
    ``relevant: true``) never see it.
    """
    base = article_fields(article)
    document = {
        **base,
        "published_at": article.published_at or article.entry.published_at,
        "matched_rules": [],
        "watchlists": [],
        "content_hash": hashlib.sha256(base["text"].encode("utf-8")).hexdigest(),
        "status": "unmatched",
        "last_error": None,
        "fetched_at": now,
        "updated_at": now,
    }
    return {k: v for k, v in jsonable(document).items() if v is not None or k in _NULLABLE}


def article_fields(article: Article) -> dict[str, Any]:
    """What an item document says about the article itself (no tags, dates or lifecycle).

    Texts are capped (``pipeline.limits``): ``text_truncated`` and the original lengths say so."""
    entry, post = article.entry, article.entry.post
    text = cap_text(article.text, STORED_TEXT_CHARS)
    summary = cap_text(entry.summary, STORED_SUMMARY_CHARS)
    post_text = cap_text(post.text if post is not None else "", STORED_SUMMARY_CHARS)
    truncated = [c for c in (text, summary, post_text) if c.truncated]
    caps: dict[str, Any] = {}
    if truncated:
        caps = {
            "text_truncated": True,
            "text_original_chars": text.original_chars,
            "summary_original_chars": summary.original_chars,
        }
    post_fields: dict[str, Any] | None = None
    if post is not None:
        links = list(post.linked_urls)
        post_fields = {
            "platform": post.platform,
            "post_id": post.post_id,
            "author": post.author,
            "handle": post.handle,
            "text": post_text.text,
            "linked_urls": links,
            "linked_url": links,
            "linked_item_ids": linked_item_ids(links),
        }
    return {
        "url": article.final_url or entry.url,
        "canonical_url": entry.canonical_url,
        "title": article.title,
        "text": text.text,
        "summary": summary.text,
        "author": article.author or entry.author,
        "site_name": article.site_name,
        "language": article.language,
        "kind": entry.kind,
        "source_id": entry.source_id,
        "source_kind": entry.source_kind,
        "home_state": entry.home_state,
        "post": post_fields,
        **caps,
    }
