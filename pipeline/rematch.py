"""``muniwatch rematch``: run the current watchlist rules over the kept texts, promote what matches.

A candidate whose full text matched no watchlist rule is kept in ``{prefix}-items`` with its
text (``status: unmatched``, see :mod:`pipeline.analysis`). After a rule change, this command
reads those texts back, matches the current rules, and sends the ones that now match through the
usual enrich path from the stored text — tagged, clustered, indexed, alerted by the next alerts
run — without fetching a page again. The others stay kept; nothing is deleted.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.config import PipelineConfig
from pipeline.enrich import EnrichReport, enrich_pending
from pipeline.rules.language import RuleSet
from pipeline.settings import Settings, load_settings
from pipeline.store.client import make_client
from pipeline.store.indices import ensure_indices
from pipeline.tasks import ConfigPaths

BULK_CHUNK = 500


@dataclass(kw_only=True)
class RematchReport:
    scanned: int = 0
    promoted_ids: list[str] = field(default_factory=list)
    enrich: EnrichReport | None = None

    @property
    def promoted(self) -> int:
        return len(self.promoted_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "promoted": self.promoted,
            "still_unmatched": self.scanned - self.promoted,
            "enrich": self.enrich.to_dict() if self.enrich else None,
        }


def rematch_unmatched(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    *,
    now: datetime,
    dry_run: bool = False,
    processes: int | None = None,
) -> RematchReport:
    """Match ``config``'s watchlists over every kept text; enrich the ones that match now.

    Args:
        dry_run: only count what would be promoted; change nothing.
        processes: worker processes for the enrich step (default: one per core).
    """
    ensure_indices(es, settings)
    alias = settings.index("items")
    es.indices.refresh(index=alias)
    rules = RuleSet.from_watchlists(config.watchlists)
    report = RematchReport()
    updates: list[dict[str, Any]] = []
    for hit in helpers.scan(
        es,
        index=alias,
        query={"query": {"term": {"status": "unmatched"}}},
        _source=["title", "text"],
        size=500,
    ):
        report.scanned += 1
        source = hit["_source"]
        labels = rules.match(str(source.get("title") or ""), str(source.get("text") or ""))
        if not labels:
            continue
        report.promoted_ids.append(hit["_id"])
        updates.append(
            {
                "_op_type": "update",
                "_index": alias,
                "_id": hit["_id"],
                "doc": {
                    "status": "pending",
                    "matched_rules": labels,
                    "watchlists": RuleSet.watchlists_of(labels),
                    "attempts": 0,
                    "updated_at": now.isoformat(),
                },
            }
        )
    if dry_run or not updates:
        return report
    helpers.bulk(es, updates, chunk_size=BULK_CHUNK, refresh=True)
    report.enrich = enrich_pending(
        es, settings, config, now=now, item_ids=report.promoted_ids, processes=processes
    )
    return report


def rematch_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    paths = ConfigPaths(sources=args.sources, watchlists=args.watchlists, subscriptions=args.subscriptions)
    es = make_client(settings)
    report = rematch_unmatched(es, settings, paths.load(), now=datetime.now(UTC), dry_run=args.dry_run)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    verb = "would be promoted" if args.dry_run else "promoted"
    print(f"kept texts scanned: {report.scanned}; {verb}: {report.promoted}; "
          f"still unmatched: {report.scanned - report.promoted}")  # fmt: skip
    if report.enrich is not None:
        enriched = report.enrich
        print(f"indexed: {enriched.indexed} (relevant: {enriched.relevant}), stories: {enriched.stories}, "
              f"failed: {enriched.failed}; alerts go out with the next alerts run")  # fmt: skip
    return 0 if report.enrich is None or not report.enrich.failed else 1
