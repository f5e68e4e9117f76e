"""Re-tag stored items into a new index version and swap the alias, with no downtime and no item lost.

The core-only server has no ``_reindex``, so the copy reads with a point-in-time and
``search_after`` and writes with ``_bulk``:

1. create ``{prefix}-items-v{N+1}`` (from the current template);
2. **copy**: every document of the old index, re-tagged, into the new one; the alias still points
   at the old index, so readers and writers carry on undisturbed;
3. **swap**: one atomic alias update moves reads and writes to the new index;
4. **catch up**: documents written to the old index during the copy (new ``_seq_no``) are copied
   again — but only where nobody wrote the new index since (``if_seq_no``/``op_type=create``), so
   a write made after the swap is never overwritten by an older copy.

Story documents of items whose tags changed are recomputed. The old index is kept (nothing reads
it any more) for a rollback; ``muniwatch reindex`` says how to delete it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.settings import Settings, load_settings, without_credentials
from pipeline.store.client import make_client
from pipeline.store.indices import (
    alias_indices,
    ensure_index,
    index_version,
    template_version,
    versioned_index,
)
from pipeline.store.items import tag_fields
from pipeline.stories.clustering import update_stories
from pipeline.tagging import TagInput, tag_item

LOGGER = logging.getLogger(__name__)

Retag = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
# Writes that resolved the alias just before the swap may still land in the old index.
SETTLE_S = 1.0
PIT_KEEP_ALIVE = "5m"
_TAG_FIELDS = ("relevant", "jurisdiction", "stance", "event")


class ReindexError(RuntimeError):
    """The reindex cannot start or finish; the message says what to do."""


@dataclass(kw_only=True)
class ReindexReport:
    old_index: str
    new_index: str
    copied: int = 0
    retagged: int = 0
    caught_up: int = 0
    kept_newer: int = 0
    stories_updated: int = 0
    errors: list[str] = field(default_factory=list)


def _pages(es: Elasticsearch, index: str, size: int) -> Iterator[list[dict[str, Any]]]:
    """Every document of ``index`` as it was when the point in time opened, page by page."""
    pit = es.open_point_in_time(index=index, keep_alive=PIT_KEEP_ALIVE)["id"]
    after: list[Any] | None = None
    try:
        while True:
            body: dict[str, Any] = {}
            if after is not None:
                body["search_after"] = after
            response = es.search(
                pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                sort=[{"_shard_doc": "asc"}],
                size=size,
                seq_no_primary_term=True,
                track_total_hits=False,
                **body,
            )
            pit = response.get("pit_id", pit)
            hits = response["hits"]["hits"]
            if not hits:
                return
            yield hits
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)


def _tags_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(before.get(name) != after.get(name) for name in _TAG_FIELDS)


def _retagged(
    source: dict[str, Any], retag: Retag | None, report: ReindexReport, stories: set[str]
) -> dict[str, Any]:
    if retag is None or source.get("status") != "indexed":
        return source
    try:
        changed = retag(source)
    except Exception as error:  # one item the new tagger chokes on keeps its old tags, and is reported
        report.errors.append(f"{source.get('canonical_url')}: re-tagging failed: {error}")
        return source
    if not changed:
        return source
    updated = {**source, **changed}
    report.retagged += 1
    if source.get("story_id") and _tags_changed(source, updated):
        stories.add(source["story_id"])
    return updated


def _bulk(es: Elasticsearch, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not operations:
        return []
    items: list[dict[str, Any]] = es.bulk(operations=operations)["items"]
    return [next(iter(item.values())) for item in items]


def reindex_items(
    es: Elasticsearch,
    settings: Settings,
    *,
    retag: Retag | None,
    now: datetime,
    batch_size: int = 500,
    on_phase: Callable[[str], None] | None = None,
) -> ReindexReport:
    """Copy the items into a new index version (re-tagged with ``retag``) and swap the alias.

    Args:
        retag: takes an item document, returns the fields to change (or None); None copies as is.
        on_phase: called with ``"copied"`` (before the swap) and ``"swapped"`` (before the catch-up).
    """
    ensure_index(es, settings, "items")
    alias = settings.index("items")
    behind = alias_indices(es, settings, "items")
    if len(behind) != 1:
        raise ReindexError(
            f"alias {alias} points at {sorted(behind)}: an earlier reindex did not finish; "
            "point the alias at one index (POST _aliases) before running it again"
        )
    old = next(iter(behind))
    new = versioned_index(settings, "items", max(index_version(old) + 1, template_version("items")))
    if es.indices.exists(index=new):
        raise ReindexError(f"{new} already exists (left by an interrupted reindex?); delete it and run again")
    es.indices.create(index=new)
    report = ReindexReport(old_index=old, new_index=new)
    stories: set[str] = set()
    copied_at: dict[str, int] = {}  # id -> _seq_no in the old index when copied
    written: dict[str, tuple[int, int]] = {}  # id -> (_seq_no, _primary_term) of our copy in the new index

    for hits in _pages(es, old, batch_size):
        operations: list[dict[str, Any]] = []
        for hit in hits:
            copied_at[hit["_id"]] = hit["_seq_no"]
            operations += [
                {"index": {"_index": new, "_id": hit["_id"]}},
                _retagged(hit["_source"], retag, report, stories),
            ]
        for result in _bulk(es, operations):
            if result.get("status", 500) >= 300:
                raise ReindexError(
                    f"copying {result['_id']} into {new} failed: {result.get('error')}; "
                    f"the alias still points at {old}, delete {new} and run again"
                )
            written[result["_id"]] = (result["_seq_no"], result["_primary_term"])
            report.copied += 1
    if on_phase:
        on_phase("copied")

    es.indices.refresh(index=new)  # readers find every copied item the moment the alias moves
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": old, "alias": alias}},
            {"add": {"index": new, "alias": alias, "is_write_index": True}},
        ]
    )
    LOGGER.info("alias %s now points at %s (was %s)", alias, new, old)
    if on_phase:
        on_phase("swapped")
    time.sleep(SETTLE_S)
    es.indices.refresh(index=old)
    _catch_up(es, old, new, retag, batch_size, copied_at, written, report, stories)
    es.indices.refresh(index=new)
    if stories:
        report.stories_updated = update_stories(es, settings, sorted(stories), now=now)
    return report


def _catch_up(
    es: Elasticsearch,
    old: str,
    new: str,
    retag: Retag | None,
    batch_size: int,
    copied_at: dict[str, int],
    written: dict[str, tuple[int, int]],
    report: ReindexReport,
    stories: set[str],
) -> None:
    """Copy what changed in the old index during the copy, unless the new index has a newer write."""
    for hits in _pages(es, old, batch_size):
        operations: list[dict[str, Any]] = []
        for hit in hits:
            if copied_at.get(hit["_id"]) == hit["_seq_no"]:
                continue
            source = _retagged(hit["_source"], retag, report, stories)
            if hit["_id"] in written:
                seq_no, term = written[hit["_id"]]
                operations += [
                    {
                        "index": {
                            "_index": new,
                            "_id": hit["_id"],
                            "if_seq_no": seq_no,
                            "if_primary_term": term,
                        }
                    },
                    source,
                ]
            else:
                operations += [{"create": {"_index": new, "_id": hit["_id"]}}, source]
        for result in _bulk(es, operations):
            status = result.get("status", 500)
            if status < 300:
                report.caught_up += 1
            elif status == 409:  # written through the alias after the swap: that write is newer
                report.kept_newer += 1
                LOGGER.info("kept the newer write of %s in %s", result["_id"], new)
            else:
                report.errors.append(f"{result['_id']}: {result.get('error')}")


def _tagger_retag() -> Retag:
    """Re-tag with the current tagger."""

    def retag(source: Mapping[str, Any]) -> dict[str, Any]:
        tags = tag_item(
            TagInput(
                id=str(source.get("canonical_url") or ""),
                title=source.get("title") or "",
                text=source.get("text") or "",
                url=source.get("url") or "",
                home_state=source.get("home_state"),
                language=source.get("language"),
            )
        )
        return tag_fields(tags)

    return retag


def reindex_command(args: argparse.Namespace) -> int:
    """``muniwatch reindex [--batch-size N]``: re-tag every item into a new index version."""
    settings = load_settings()
    es = make_client(settings)
    try:
        report = reindex_items(
            es, settings, retag=_tagger_retag(), now=datetime.now(UTC), batch_size=args.batch_size
        )
    except ReindexError as error:
        print(f"muniwatch reindex: {error}", file=sys.stderr)
        return 1
    print(
        f"{settings.index('items')}: {report.old_index} -> {report.new_index}; copied {report.copied} items "
        f"({report.retagged} re-tagged), caught up {report.caught_up} written during the copy, kept "
        f"{report.kept_newer} newer writes, updated {report.stories_updated} stories"
    )
    for problem in report.errors[:20]:
        print(f"  problem: {problem}", file=sys.stderr)
    print(
        f"the old index {report.old_index} is kept for a rollback; delete it with "
        f"`curl -X DELETE {without_credentials(settings.es_url)}/{report.old_index}` when satisfied"
    )
    return 0 if not report.errors else 1
