"""Enrich pending items: fetch → extract → re-match rules on the full text → tag → cluster → index.

Polling leaves each new matching entry in ``{prefix}-items`` as a *pending* document. This step
takes them in batches, oldest first:

* I/O (fetching pages) runs on a thread pool; the shared client keeps per-host politeness.
* CPU (trafilatura extraction, rule matching, tagging) runs in :func:`analyse_page`, a pure
  function of plain data, on a process pool when the batch is large enough to pay for it.
* The batch is clustered into stories and written with one bulk request; the items become
  ``status: indexed`` and ``alert_status: pending`` for the alerts step.

A transient fetch failure (timeout, 5xx, 429) leaves the item pending for the next run, up to
``MAX_ATTEMPTS``; anything else marks it ``failed`` and quarantines it with the reason, from where
``muniwatch replay`` puts it back in the queue.
"""

from __future__ import annotations

import gc
import logging
import os
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig
from pipeline.models import Rejected
from pipeline.rules.language import RuleSet
from pipeline.settings import Settings
from pipeline.store.indices import ensure_indices
from pipeline.store.quarantine import quarantine, register_replay
from pipeline.stories.fingerprints import fingerprint

if TYPE_CHECKING:
    from pipeline.stories.clustering import KnownItems

LOGGER = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_ATTEMPTS = 3
# Fetches are latency-bound (a slow site, a 40 ms delayed ACK): enough in flight to keep the
# worker processes fed; the client's per-host pacing still applies (max_connections is 32).
FETCH_THREADS = 32
# Batches fetched and analysed ahead of the one being clustered and written.
PREFETCH_BATCHES = 2
# Below this many pages per batch, starting worker processes costs more than it saves.
MIN_PAGES_FOR_PROCESSES = 24


@dataclass(kw_only=True)
class EnrichReport:
    indexed: int = 0
    relevant: int = 0
    failed: int = 0
    retry_later: int = 0
    stories: int = 0
    item_ids: list[str] = field(default_factory=list)
    sources: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed,
            "relevant": self.relevant,
            "failed": self.failed,
            "retry_later": self.retry_later,
            "stories": self.stories,
            "item_ids": self.item_ids,
            "sources": {sid: dict(counts) for sid, counts in self.sources.items()},
            "errors": self.errors[:50],
        }


# --- the CPU part: a pure function of plain data -----------------------------------------------


@lru_cache(maxsize=8)
def _rules(rule_pairs: tuple[tuple[str, str], ...]) -> RuleSet:
    return RuleSet(rule_pairs)


def analyse_page(
    *,
    item: dict[str, Any],
    html: bytes | None,
    final_url: str,
    rule_pairs: tuple[tuple[str, str], ...],
) -> dict[str, Any]:
    """Extract (pages) or take the post text (posts), match rules on the full text, tag.

    Returns ``{"ok": True, "article": {...}, "tags": {...}, "matched_rules": [...]}`` or
    ``{"ok": False, "stage": "extract", "reason": "..."}``. Plain dicts in and out, so it runs the
    same in this process or in a worker process.
    """
    from pipeline.fetch.extract import extract_article
    from pipeline.tagging import TagInput, tag_item

    post = item.get("post") or None
    article: dict[str, Any]
    if html is None:
        title = item.get("title") or ""
        text = (post or {}).get("text") or item.get("summary") or title
        article = {
            "title": title,
            "text": text,
            "published_at": item.get("published_at"),
            "author": (post or {}).get("author"),
            "site_name": None,
            "language": None,
        }
    else:
        extracted = extract_article(html, final_url)
        if not extracted.has_article:
            return {"ok": False, "stage": "extract", "reason": extracted.reason or "no article text found"}
        article = {
            "title": extracted.title or item.get("title") or "",
            "text": extracted.text,
            "published_at": (
                extracted.published_at.isoformat() if extracted.published_at else item.get("published_at")
            ),
            "author": extracted.author,
            "site_name": extracted.site_name,
            "language": extracted.language,
        }
    title, text = str(article["title"] or ""), str(article["text"] or "")
    matched = list(dict.fromkeys([*item.get("matched_rules", []), *_rules(rule_pairs).match(title, text)]))
    print_ = fingerprint(title, text)
    tags = tag_item(
        TagInput(
            id=item["_id"],
            title=title,
            text=text,
            url=final_url,
            home_state=item.get("home_state"),
            language=article["language"],
        )
    )
    return {
        "ok": True,
        "article": article,
        "tags": tags.to_json_dict(),
        "matched_rules": matched,
        "minhash": list(print_.minhash),
        "lsh_bands": list(print_.bands),
    }


# (pending item, page body or None for a post, final URL, watchlist rules, the run's ``now``)
_Work = tuple[dict[str, Any], bytes | None, str, tuple[tuple[str, str], ...], datetime]


def _analyse_args(args: _Work) -> dict[str, Any]:
    """``analyse_page`` plus the item document (``story_id`` still empty): everything per-item and
    CPU-bound happens in the worker, so the main process only clusters and does I/O."""
    from pipeline.store.items import build_item_document

    item, html, final_url, rule_pairs, now = args
    try:
        outcome = analyse_page(item=item, html=html, final_url=final_url, rule_pairs=rule_pairs)
        if outcome["ok"]:
            outcome["final_url"] = final_url
            outcome["document"] = build_item_document(item, outcome, story_id="", now=now)
        return outcome
    except Exception as error:  # one bad page must not sink the batch
        LOGGER.exception("analysis failed for %s", final_url)
        return {"ok": False, "stage": "extract", "reason": f"{type(error).__name__}: {error}"}


def _warm_up() -> None:
    """Load trafilatura and the gazetteer here, before the pool forks: workers inherit them warm."""
    import trafilatura  # noqa: F401

    from pipeline.tagging.gazetteer import load_gazetteer

    load_gazetteer()


@contextmanager
def _cpu_pool(pages: int, processes: int | None) -> Iterator[Executor | None]:
    """One pool for the whole run (not one per batch: starting workers costs more than a batch)."""
    workers = processes if processes is not None else (os.cpu_count() or 1)
    if workers <= 1 or pages < MIN_PAGES_FOR_PROCESSES:
        yield None
        return
    _warm_up()
    # Everything alive now (trafilatura, the gazetteer, the caller's objects) leaves the cyclic
    # garbage collector's view for the run: each full collection no longer walks the gazetteer
    # (~60 ms a time, several per 1,000 pages), and the forked workers do not touch (and so copy)
    # those pages when they collect. Reference counting still frees them; ``unfreeze`` hands
    # them back at the end.
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    finally:
        gc.unfreeze()


# --- the I/O part ------------------------------------------------------------------------------


def pending_items(
    es: Elasticsearch, settings: Settings, *, size: int, exclude: Sequence[str]
) -> list[dict[str, Any]]:
    response = es.search(
        index=settings.index("items"),
        query={
            "bool": {
                "filter": [{"term": {"status": "pending"}}],
                "must_not": [{"ids": {"values": list(exclude)}}] if exclude else [],
            }
        },
        sort=[{"discovered_at": {"order": "asc", "missing": "_first"}}, {"canonical_url": "asc"}],
        size=size,
    )
    return [{"_id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def _fetch(client: Any, item: dict[str, Any]) -> tuple[dict[str, Any], Any, Exception | None]:
    try:
        return item, client.get(item["url"], expect="html"), None
    except Exception as error:
        return item, None, error


def _is_transient(error: Exception) -> bool:
    from pipeline.fetch.client import is_transient

    return is_transient(error)


def enrich_pending(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    *,
    now: datetime,
    max_items: int = 2000,
    batch_size: int = BATCH_SIZE,
    processes: int | None = None,
    client: Any = None,
) -> EnrichReport:
    """Process pending items until none are left (or ``max_items``); see the module docstring."""
    from pipeline.fetch.client import SafeHTTPClient
    from pipeline.stories.clustering import KnownItems

    ensure_indices(es, settings)
    report = EnrichReport()
    report.stories += repair_missing_stories(es, settings, now=now)
    rule_pairs = tuple(config.rules)
    client = client or SafeHTTPClient(settings)
    taken = 0
    # Items taken in this run that may still be pending in the index (in flight, to retry, or
    # failed without a refresh yet); indexed ones are refreshed out of the pending set, so the
    # exclusion stays a few hundred ids instead of growing with the run.
    exclude: set[str] = set()
    known = KnownItems()
    backlog = es.count(index=settings.index("items"), query={"term": {"status": "pending"}})["count"]
    with (
        ThreadPoolExecutor(max_workers=FETCH_THREADS) as io_pool,
        ThreadPoolExecutor(max_workers=1) as stager,
        _cpu_pool(min(backlog, max_items), processes) as cpu_pool,
    ):

        def next_batch() -> Future[_Staged] | None:
            nonlocal taken
            if taken >= max_items:
                return None
            size = min(batch_size, max_items - taken)
            batch = pending_items(es, settings, size=size, exclude=sorted(exclude))
            if not batch:
                return None
            taken += len(batch)
            exclude.update(item["_id"] for item in batch)
            return stager.submit(_stage_batch, batch, rule_pairs, now, client, io_pool, cpu_pool)

        # Batches N+1.. N+PREFETCH_BATCHES are fetched and analysed while batch N is clustered and
        # written: the worker processes do not sit idle during the Elasticsearch round trips.
        staged: deque[Future[_Staged]] = deque()
        while True:
            while len(staged) <= PREFETCH_BATCHES and (upcoming := next_batch()) is not None:
                staged.append(upcoming)
            if not staged:
                break
            indexed_before = len(report.item_ids)
            _finish_batch(es, settings, staged.popleft().result(), now, report, known)
            exclude.difference_update(report.item_ids[indexed_before:])
    if report.indexed:
        # Story documents are written without a refresh per batch; one here makes them searchable.
        es.indices.refresh(index=settings.index("stories"))
    return report


def repair_missing_stories(es: Elasticsearch, settings: Settings, *, now: datetime) -> int:
    """Write the story documents that a crash between the item write and ``update_stories`` left
    out (items point at a story that does not exist). Only items not alerted yet are looked at."""
    from pipeline.stories.clustering import update_stories

    response = es.search(
        index=settings.index("items"),
        query={"bool": {"filter": [{"term": {"status": "indexed"}}, {"term": {"alert_status": "pending"}}]}},
        aggs={"stories": {"terms": {"field": "story_id", "size": 10_000}}},
        size=0,
    )
    story_ids = [bucket["key"] for bucket in response["aggregations"]["stories"]["buckets"]]
    if not story_ids:
        return 0
    found = es.mget(index=settings.index("stories"), ids=story_ids, source=False)["docs"]
    missing = [doc["_id"] for doc in found if not doc.get("found")]
    if missing:
        LOGGER.warning("writing %d story documents missing after an interrupted run", len(missing))
        update_stories(es, settings, missing, now=now)
    return len(missing)


@dataclass(kw_only=True)
class _Staged:
    """A fetched batch: the pages, their analyses (futures when on the pool), the fetch failures."""

    work: list[_Work]
    analyses: list[Future[dict[str, Any]]] | None
    failures: list[tuple[dict[str, Any], Exception]]


def _stage_batch(
    batch: list[dict[str, Any]],
    rule_pairs: tuple[tuple[str, str], ...],
    now: datetime,
    client: Any,
    io_pool: ThreadPoolExecutor,
    cpu_pool: Executor | None,
) -> _Staged:
    """Fetch a batch; each page goes to the CPU pool as soon as it arrives. No writes here."""
    staged = _Staged(work=[], analyses=[] if cpu_pool is not None else None, failures=[])
    for item in batch:
        if item.get("post"):
            staged.work.append((item, None, item["url"], rule_pairs, now))
    if cpu_pool is not None and staged.analyses is not None:
        staged.analyses += [cpu_pool.submit(_analyse_args, args) for args in staged.work]
    to_fetch = [item for item in batch if not item.get("post")]
    for item, result, error in io_pool.map(lambda i: _fetch(client, i), to_fetch):
        if error is not None:
            staged.failures.append((item, error))
            continue
        staged.work.append((item, result.body, result.final_url, rule_pairs, now))
        if cpu_pool is not None and staged.analyses is not None:
            staged.analyses.append(cpu_pool.submit(_analyse_args, staged.work[-1]))
    return staged


def _finish_batch(es: Elasticsearch, settings: Settings, staged: _Staged, now: datetime,
                  report: EnrichReport, known: KnownItems | None = None) -> None:  # fmt: skip
    """Record fetch failures, collect the analyses, cluster into stories, write the batch."""
    from pipeline.store.items import bulk_write_items
    from pipeline.stories.clustering import assign_stories, update_stories

    for item, error in staged.failures:
        _fetch_failed(es, settings, item, error, now, report)
    work = staged.work
    if staged.analyses is None:
        analysed = list(map(_analyse_args, work))
    else:
        analysed = [future.result() for future in staged.analyses]

    ready: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for (item, *_), outcome in zip(work, analysed, strict=True):
        if outcome["ok"]:
            ready.append((item, outcome))
        else:
            _give_up(es, settings, item, outcome["stage"], outcome["reason"], now, report)
    if not ready:
        return
    story_ids = assign_stories(
        es, settings, [_story_input(item, outcome) for item, outcome in ready], now=now, known=known
    )
    documents = []
    for item, outcome in ready:
        document = outcome["document"]
        document["story_id"] = story_ids[item["_id"]]
        documents.append(document)
    written = bulk_write_items(es, settings, documents, now=now)
    # The bulk write refreshed the items; story documents become searchable at the end of the run.
    update_stories(es, settings, sorted(set(story_ids.values())), now=now, refresh=False, refresh_items=False)
    report.stories += len(set(story_ids.values()))
    for item, outcome in ready:
        if item["_id"] in written.failed_ids:
            report.failed += 1
            report.sources[item.get("source_id") or "unknown"]["errors"] += 1
            continue
        report.indexed += 1
        report.item_ids.append(item["_id"])
        report.relevant += bool(outcome["tags"]["relevant"])
        report.sources[item.get("source_id") or "unknown"]["indexed"] += 1


def _story_input(item: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
    tags = outcome["tags"]
    document = outcome["document"]
    return {
        "item_id": item["_id"],
        "title": outcome["article"]["title"],
        "text": outcome["article"]["text"],
        "jurisdiction_key": (tags.get("jurisdiction") or {}).get("key"),
        "event": tags.get("event"),
        "relevant": tags.get("relevant", False),
        "published_at": outcome["article"].get("published_at") or item.get("published_at"),
        # The links as the item document stores them (``post.linked_urls``).
        "linked_urls": (document.get("post") or {}).get("linked_urls") or [],
        "canonical_url": item.get("canonical_url"),
        "minhash": outcome["minhash"],
        "lsh_bands": outcome["lsh_bands"],
    }


def _fetch_failed(
    es: Elasticsearch,
    settings: Settings,
    item: dict[str, Any],
    error: Exception,
    now: datetime,
    report: EnrichReport,
) -> None:
    attempts = int(item.get("attempts") or 0) + 1
    reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
    if _is_transient(error) and attempts < MAX_ATTEMPTS:
        es.update(
            index=settings.index("items"),
            id=item["_id"],
            doc={"attempts": attempts, "last_error": str(reason)[:1000], "updated_at": now},
        )
        report.retry_later += 1
        report.sources[item.get("source_id") or "unknown"]["errors"] += 1
        report.errors.append(f"{item['url']}: {reason} (will retry)")
        return
    _give_up(es, settings, item, "fetch", str(reason), now, report, attempts=attempts)


def _give_up(
    es: Elasticsearch,
    settings: Settings,
    item: dict[str, Any],
    stage: str,
    reason: str,
    now: datetime,
    report: EnrichReport,
    attempts: int | None = None,
) -> None:
    attempts = attempts or int(item.get("attempts") or 0) + 1
    es.update(
        index=settings.index("items"),
        id=item["_id"],
        doc={"status": "failed", "attempts": attempts, "last_error": reason[:1000], "updated_at": now},
    )
    quarantine(
        es,
        settings,
        [
            Rejected(
                stage=stage,
                key=item["canonical_url"],
                reason=reason,
                source_id=item.get("source_id"),
                payload={"item_id": item["_id"]},
            )
        ],
        now=now,
    )
    report.failed += 1
    report.sources[item.get("source_id") or "unknown"]["errors"] += 1
    report.errors.append(f"{item['url']}: {reason}")


def _requeue(es: Elasticsearch, settings: Settings, record: dict[str, Any]) -> bool:
    """Replay of a fetch/extract failure: put the item back in the queue for the next enrich run."""
    item_id = (record.get("payload") or {}).get("item_id")
    if not item_id:
        return False
    es.update(
        index=settings.index("items"),
        id=item_id,
        doc={"status": "pending", "attempts": 0, "updated_at": datetime.now(UTC)},
    )
    return True


register_replay("fetch", _requeue)
register_replay("extract", _requeue)
