"""Enrich pending items: fetch → extract → watchlist rules on the full text → tag → cluster → index.

Polling leaves each candidate in ``{prefix}-items`` as a *pending* document. This step takes
them in batches, oldest first:

* I/O (fetching pages) runs on a thread pool; the shared client keeps per-host politeness, and
  each source's ``fetch_budget`` caps the pages fetched for it per run: the rest stay pending for
  the next run and are counted (``waiting``).
* CPU (trafilatura extraction, rule matching, tagging) runs in :mod:`pipeline.analysis`, pure
  functions of plain data, on a process pool when the batch is large enough to pay for it.
* The watchlist rules decide on the full text. Matching items are clustered into stories and
  written with one bulk request (``status: indexed``, ``alert_status: pending`` for the alerts
  step); the others are kept with their text (``status: unmatched``), counted per source, for
  ``muniwatch rematch``; their URL is never fetched again.

A transient fetch failure (timeout, 5xx, 429) leaves the item pending for the next run, up to
``MAX_ATTEMPTS``; anything else marks it ``failed`` and quarantines it with the reason, from where
``muniwatch replay`` puts it back in the queue.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.analysis import AnalysedPage, AnalysisFailure, PageWork, RulePairs, analyse_work
from pipeline.config import PipelineConfig
from pipeline.fetch.client import SafeHTTPClient, is_transient
from pipeline.models import Rejected
from pipeline.settings import Settings
from pipeline.sources.state import EnrichCounts, record_enrich
from pipeline.store.bulk import bulk_write_items
from pipeline.store.indices import ensure_indices
from pipeline.store.pending import FetchBudget, count_waiting, needs_fetch, pending_items, source_of
from pipeline.store.quarantine import quarantine, register_replay
from pipeline.stories.clustering import KnownItems, StoryCandidate, assign_stories, update_stories

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
    """What one enrich run did. Per source (``sources``): ``fetched`` pages, candidates
    ``matched`` (full text) or ``unmatched`` (kept), ``waiting`` for the next run's budget,
    ``indexed``, ``errors``."""

    indexed: int = 0
    relevant: int = 0
    unmatched: int = 0
    waiting: int = 0
    failed: int = 0
    retry_later: int = 0
    stories: int = 0
    item_ids: list[str] = field(default_factory=list)
    # The stories this run wrote items into (sorted, no repeats): the Kibana link of the run.
    story_ids: list[str] = field(default_factory=list)
    sources: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed,
            "relevant": self.relevant,
            "unmatched": self.unmatched,
            "waiting": self.waiting,
            "failed": self.failed,
            "retry_later": self.retry_later,
            "stories": self.stories,
            "item_ids": self.item_ids,
            "story_ids": self.story_ids,
            "sources": {sid: dict(counts) for sid, counts in self.sources.items()},
            "errors": self.errors[:50],
        }


# --- the CPU pool ------------------------------------------------------------------------------


def _warm_up() -> None:
    """Load trafilatura and the gazetteer here, before the pool forks: workers inherit them warm."""
    import trafilatura  # noqa: F401

    from pipeline.tagging.gazetteer import load_gazetteer

    load_gazetteer()


@contextmanager
def _cpu_pool(pages: int, processes: int | None) -> Iterator[Executor | None]:
    """One pool for the whole run (not one per batch: starting workers costs more than a batch)."""
    workers = processes if processes is not None else (os.cpu_count() or 1)
    # A daemonic process may not start children: a task under the CeleryExecutor runs in one (the
    # worker's pool processes are daemonic), and a pool there failed every try of a large run.
    if workers <= 1 or pages < MIN_PAGES_FOR_PROCESSES or multiprocessing.current_process().daemon:
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


def _fetch(client: Any, item: dict[str, Any]) -> tuple[dict[str, Any], Any, Exception | None]:
    try:
        return item, client.get(item["url"], expect="html"), None
    except Exception as error:
        return item, None, error


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
    item_ids: Sequence[str] | None = None,
) -> EnrichReport:
    """Process pending items until none are left (or ``max_items``); see the module docstring.

    Args:
        now: the run's time (stored times, stories' windows).
        max_items: items taken in this run at most; the rest wait for the next.
        processes: worker processes for extraction and tagging (default: one per core).
        client: the HTTP client (a ``SafeHTTPClient`` from ``settings`` when None).
        item_ids: only these pending items (``muniwatch rematch`` passes the promoted ones).
    """
    ensure_indices(es, settings)
    report = EnrichReport()
    report.stories += repair_missing_stories(es, settings, now=now)
    rule_pairs = tuple(config.rules)
    client = client or SafeHTTPClient(settings)
    budget = FetchBudget(config)
    taken = 0
    # Items taken in this run that may still be pending in the index (in flight, to retry, or
    # failed without a refresh yet); written ones are refreshed out of the pending set, so the
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
            while taken < max_items:
                size = min(batch_size, max_items - taken)
                found = pending_items(
                    es, settings, size=size, exclude=sorted(exclude), spent=sorted(budget.spent)
                )
                if not found:
                    return None
                # Items over their source's budget stay pending (``spent`` keeps them out of the
                # next query); a batch made only of such items is skipped, not returned empty.
                batch = [item for item in found if budget.take(item)]
                if batch:
                    taken += len(batch)
                    exclude.update(item["_id"] for item in batch)
                    return stager.submit(_stage_batch, batch, rule_pairs, now, client, io_pool, cpu_pool)
            return None

        # Batches N+1.. N+PREFETCH_BATCHES are fetched and analysed while batch N is clustered and
        # written: the worker processes do not sit idle during the Elasticsearch round trips.
        staged: deque[Future[_Staged]] = deque()
        while True:
            while len(staged) <= PREFETCH_BATCHES and (upcoming := next_batch()) is not None:
                staged.append(upcoming)
            if not staged:
                break
            done = _finish_batch(es, settings, staged.popleft().result(), now, report, known)
            exclude.difference_update(done)
    for source, waiting in count_waiting(es, settings, budget.spent).items():
        report.sources[source]["waiting"] += waiting
        report.waiting += waiting
    if report.indexed:
        # Story documents are written without a refresh per batch; one here makes them searchable.
        es.indices.refresh(index=settings.index("stories"))
    record_enrich(es, settings, _health_counts(report), now=now)
    return report


def _health_counts(report: EnrichReport) -> dict[str, EnrichCounts]:
    return {
        source: EnrichCounts(
            fetched=counts["fetched"],
            matched=counts["matched"],
            unmatched=counts["unmatched"],
            waiting=counts["waiting"],
        )
        for source, counts in report.sources.items()
        if source != "unknown"
    }


def repair_missing_stories(es: Elasticsearch, settings: Settings, *, now: datetime) -> int:
    """Write the story documents that a crash between the item write and ``update_stories`` left
    out (items point at a story that does not exist). Only items not alerted yet are looked at."""
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

    work: list[PageWork]
    analyses: list[Future[AnalysedPage | AnalysisFailure]] | None
    failures: list[tuple[dict[str, Any], Exception]]


def _stage_batch(
    batch: list[dict[str, Any]],
    rule_pairs: RulePairs,
    now: datetime,
    client: Any,
    io_pool: ThreadPoolExecutor,
    cpu_pool: Executor | None,
) -> _Staged:
    """Fetch a batch; each page goes to the CPU pool as soon as it arrives. No writes here."""
    staged = _Staged(work=[], analyses=[] if cpu_pool is not None else None, failures=[])
    for item in batch:
        if not needs_fetch(item):  # posts and kept texts: nothing to fetch
            staged.work.append(
                PageWork(item=item, html=None, final_url=item["url"], rule_pairs=rule_pairs, now=now)
            )
    if cpu_pool is not None and staged.analyses is not None:
        staged.analyses += [cpu_pool.submit(analyse_work, work) for work in staged.work]
    to_fetch = [item for item in batch if needs_fetch(item)]
    for item, result, error in io_pool.map(lambda i: _fetch(client, i), to_fetch):
        if error is not None:
            staged.failures.append((item, error))
            continue
        staged.work.append(
            PageWork(item=item, html=result.body, final_url=result.final_url, rule_pairs=rule_pairs, now=now)
        )
        if cpu_pool is not None and staged.analyses is not None:
            staged.analyses.append(cpu_pool.submit(analyse_work, staged.work[-1]))
    return staged


def _finish_batch(es: Elasticsearch, settings: Settings, staged: _Staged, now: datetime,
                  report: EnrichReport, known: KnownItems | None = None) -> list[str]:  # fmt: skip
    """Record fetch failures, collect the analyses, cluster the matching items into stories,
    write the batch (matching and unmatched items in one bulk request). Returns the ids that
    left the pending set."""
    aside = _SetAside()
    try:
        return _finish_staged(es, settings, staged, now, report, known, aside)
    finally:
        aside.flush(es, settings, now)


def _finish_staged(
    es: Elasticsearch, settings: Settings, staged: _Staged, now: datetime,
    report: EnrichReport, known: KnownItems | None, aside: _SetAside,
) -> list[str]:  # fmt: skip
    for item, error in staged.failures:
        report.sources[source_of(item)]["fetched"] += 1
        _fetch_failed(aside, item, error, now, report)
    if staged.analyses is None:
        analysed = list(map(analyse_work, staged.work))
    else:
        analysed = [future.result() for future in staged.analyses]

    ready: list[tuple[dict[str, Any], AnalysedPage]] = []
    for work, outcome in zip(staged.work, analysed, strict=True):
        report.sources[source_of(work.item)]["fetched"] += work.html is not None
        if isinstance(outcome, AnalysisFailure):
            _give_up(aside, work.item, outcome.stage, outcome.reason, now, report)
        else:
            ready.append((work.item, outcome))
    if not ready:
        return []
    matching = [outcome for _, outcome in ready if outcome.analysis.matched]
    story_ids = assign_stories(es, settings, [_story_candidate(o) for o in matching], now=now, known=known)
    documents = []
    for item, outcome in ready:
        story = {"story_id": story_ids[item["_id"]]} if outcome.analysis.matched else {}
        documents.append({**outcome.document, **story})
    written = bulk_write_items(es, settings, documents, now=now)
    # The bulk write refreshed the items; story documents become searchable at the end of the run.
    touched = sorted(set(story_ids.values()))
    if touched:
        update_stories(es, settings, touched, now=now, refresh=False, refresh_items=False)
    report.stories += len(touched)
    report.story_ids = sorted({*report.story_ids, *touched})
    done: list[str] = []
    for item, outcome in ready:
        counts = report.sources[source_of(item)]
        if item["_id"] in written.failed_ids:
            report.failed += 1
            counts["errors"] += 1
            continue
        done.append(item["_id"])
        if not outcome.analysis.matched:
            report.unmatched += 1
            counts["unmatched"] += 1
            continue
        report.indexed += 1
        report.item_ids.append(item["_id"])
        report.relevant += bool((outcome.analysis.tags or {}).get("relevant"))
        counts["matched"] += 1
        counts["indexed"] += 1
    return done


def _story_candidate(outcome: AnalysedPage) -> StoryCandidate:
    """What clustering needs, taken from the built document (its fingerprint is computed once)."""
    article, tags, document = outcome.analysis.article, outcome.analysis.tags or {}, outcome.document
    return StoryCandidate(
        item_id=article.id,
        title=article.title,
        text=article.text,
        jurisdiction_key=(tags.get("jurisdiction") or {}).get("key"),
        event=tags.get("event"),
        relevant=bool(tags.get("relevant")),
        published_at=article.published_at or article.entry.published_at,
        # The links as the item document stores them (``post.linked_urls``).
        linked_urls=list((document.get("post") or {}).get("linked_urls") or []),
        minhash=document["minhash"],
        lsh_bands=document["lsh_bands"],
    )


@dataclass(kw_only=True)
class _SetAside:
    """A batch's failed items, written together at the end of the batch (pipeline.failures):
    one bulk update for their status, one bulk quarantine — not two requests per dead link."""

    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def flush(self, es: Elasticsearch, settings: Settings, now: datetime) -> None:
        if self.updates:
            operations: list[dict[str, Any]] = []
            for item_id, fields in self.updates:
                operations.append({"update": {"_index": settings.index("items"), "_id": item_id}})
                operations.append({"doc": {**fields, "updated_at": now.isoformat()}})
            response = es.bulk(operations=operations)
            if response.get("errors"):
                LOGGER.warning("could not record some failed items: %s", response["items"][:3])
        if self.rejected:
            quarantine(es, settings, self.rejected, now=now)
        self.updates, self.rejected = [], []


def _fetch_failed(
    aside: _SetAside,
    item: dict[str, Any],
    error: Exception,
    now: datetime,
    report: EnrichReport,
) -> None:
    attempts = int(item.get("attempts") or 0) + 1
    reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
    if is_transient(error) and attempts < MAX_ATTEMPTS:
        aside.updates.append((item["_id"], {"attempts": attempts, "last_error": str(reason)[:1000]}))
        report.retry_later += 1
        report.sources[source_of(item)]["errors"] += 1
        report.errors.append(f"{item['url']}: {reason} (will retry)")
        return
    _give_up(aside, item, "fetch", str(reason), now, report, attempts=attempts)


def _give_up(
    aside: _SetAside,
    item: dict[str, Any],
    stage: str,
    reason: str,
    now: datetime,
    report: EnrichReport,
    attempts: int | None = None,
) -> None:
    attempts = attempts or int(item.get("attempts") or 0) + 1
    aside.updates.append(
        (item["_id"], {"status": "failed", "attempts": attempts, "last_error": reason[:1000]})
    )
    aside.rejected.append(
        Rejected(
            stage=stage,
            key=item["canonical_url"],
            reason=reason,
            source_id=item.get("source_id"),
            payload={"item_id": item["_id"]},
        )
    )
    report.failed += 1
    report.sources[source_of(item)]["errors"] += 1
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
