"""Poll sources, pass entries through the intake gate, enqueue candidates as *pending* items.

``poll_sources(es, settings, config, now=...)`` polls every enabled source that is due (or the
ids given, e.g. one Airflow task per ``group``): feeds through the project's HTTP client with
conditional GET, X accounts and searches through tweepy (``pipeline.sources.x``). Each entry the
intake gate admits (``pipeline.sources.gate``: every entry of a search source, entries of outlet
feeds whose title + summary touch the topic) becomes a pending item in ``{prefix}-items``
(``pipeline.sources.pending``); one another source or an earlier run already has is counted as a
duplicate and never fetched again. Entries the gate turns away are counted
(``off_topic``). A social post is an item of its own; the articles it links to are enqueued with it.

Per-source state and health go to ``{prefix}-sources`` (``pipeline.sources.state``). Entries that
cannot be used are counted and quarantined (stage ``poll``) with the reason. One source fails only
itself (``pipeline.failures``): whatever goes wrong while harvesting, counting or recording it
becomes that source's failure, and every other source's items and state are written. A source
enqueues at most ``max_new_items`` new items per poll (newest first, in feed order); the rest
are counted as ``deferred`` and the feed's validators are not kept, so the next poll reads it in
full and takes the next ones. Sources are polled
on a small thread pool; the HTTP client keeps per-host politeness across threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import RECORD_KINDS, PipelineConfig, SourceConfig
from pipeline.fetch.client import FetchError, SafeHTTPClient
from pipeline.models import Rejected
from pipeline.settings import Settings
from pipeline.sources.gate import IntakeGate
from pipeline.sources.harvest import Harvest, harvest_feed
from pipeline.sources.known import capped_new_items
from pipeline.sources.pending import Enqueued, enqueue, pending_documents
from pipeline.sources.record_polling import poll_record_source
from pipeline.sources.records import RecordPoll
from pipeline.sources.state import (
    SourceState,
    all_states,
    due,
    health_of,
    is_silent,
    load_states,
    record_failure,
    record_success,
    save_states,
)
from pipeline.sources.x import harvest_x, make_x_client
from pipeline.store.indices import ensure_index
from pipeline.store.quarantine import quarantine, register_replay

LOGGER = logging.getLogger(__name__)
# One line per source and poll (what ops read in a task log); `muniwatch run` silences it because
# its summary table says the same.
OUTCOME_LOGGER = logging.getLogger(f"{__name__}.outcome")

POLL_THREADS = 8
REASONS_KEPT = 10
NO_X_TOKEN = "no X bearer token (set MUNIWATCH_X_BEARER_TOKEN)"
X_KINDS = frozenset({"x_account", "x_search"})


@dataclass(kw_only=True)
class SourcePollResult:
    source_id: str
    kind: str
    polled: bool = False
    skipped: str | None = None
    entries: int = 0
    # Entries the gate admitted (candidates for fetching) and turned away (nothing on the topic).
    candidates: int = 0
    off_topic: int = 0
    # Candidates whose title + summary already match a watchlist rule.
    matched: int = 0
    new_items: int = 0
    # Items a record source (287(g) lists, Legistar) wrote already tagged and indexed: they skip
    # enrich, so the poll itself must announce them to the alerts step.
    indexed: int = 0
    duplicates: int = 0
    # New items over the source's ``max_new_items``: left in the feed for the next poll.
    deferred: int = 0
    rejected: int = 0
    not_modified: bool = False
    status: int | None = None
    error: str | None = None
    problem: str | None = None
    retry_after_s: float | None = None
    item_ids: list[str] = field(default_factory=list)
    # Why entries were rejected (the first few; all of them are in quarantine).
    rejected_reasons: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """A failed poll counts one; each unusable entry counts one."""
        return (1 if self.error else 0) + self.rejected


@dataclass(kw_only=True)
class PollReport:
    now: datetime
    sources: dict[str, SourcePollResult] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def item_ids(self) -> list[str]:
        return [i for result in self.sources.values() for i in result.item_ids]

    @property
    def new_items(self) -> int:
        return sum(r.new_items for r in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per-source figures (with ``errors`` counted) for XCom and the run summary."""
        sources = {}
        for source_id, result in sorted(self.sources.items()):
            row = asdict(result)
            row["errors"] = result.errors
            sources[source_id] = row
        return {
            "now": self.now.isoformat(),
            "polled": sum(r.polled for r in self.sources.values()),
            "skipped": sum(r.skipped is not None for r in self.sources.values()),
            "new_items": self.new_items,
            "indexed_records": sum(r.indexed for r in self.sources.values()),
            "item_ids": self.item_ids,
            "sources": sources,
            "warnings": self.warnings,
        }


# --- harvesting one source -------------------------------------------------------------------


def _harvest(
    source: SourceConfig,
    state: SourceState,
    *,
    now: datetime,
    client: SafeHTTPClient,
    x_client: Any,
    records: Callable[[SourceConfig, SourceState], RecordPoll] | None = None,
) -> Harvest | RecordPoll | FetchError:
    """Fetch and parse one source, on a worker thread. A failure is returned, not raised, so one
    source's trouble (even an unexpected one) never stops the others and is always recorded.
    Record sources (287(g) lists, Legistar) are polled and written whole by ``records``."""
    try:
        if source.kind in RECORD_KINDS and records is not None:
            return records(source, state)
        if source.kind == "rss":
            return harvest_feed(client, source, state)
        return harvest_x(x_client, source, state, now=now)
    except FetchError as error:
        return error
    except Exception as error:
        LOGGER.exception("polling %s failed unexpectedly", source.id)
        return FetchError(f"internal error while polling: {type(error).__name__}: {error}")


# --- all sources -----------------------------------------------------------------------------


def poll_sources(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    *,
    now: datetime,
    source_ids: Sequence[str] | None = None,
    force: bool = False,
    client: SafeHTTPClient | None = None,
    x_client: Any = None,
) -> PollReport:
    """Poll the enabled sources that are due (or only ``source_ids``); see the module docstring.

    Fetching runs on a thread pool; matching and writing then follow the configuration order,
    so when two sources carry the same article the one listed first is the item's ``source_id``,
    whatever the network timing.

    Args:
        now: the time of this poll (UTC); scheduling, backoff and stored times use it.
        source_ids: restrict to these sources (an Airflow task per group passes its group).
        force: ignore the per-source interval (``run --once``); a backoff after failures or a
            server's Retry-After is still honoured, and the report says until when.
        client: the HTTP client to use (a new one, closed at the end, if None).
        x_client: a tweepy ``Client`` (tests pass one talking to a fake X API); built from
            ``settings.x_bearer_token`` when None. Without a token X sources are skipped with
            one warning.
    """
    ensure_index(es, settings, "items")
    report = PollReport(now=now)
    wanted = set(source_ids) if source_ids is not None else None
    sources = [s for s in config.sources if s.enabled and (wanted is None or s.id in wanted)]
    if wanted is not None:
        unknown = sorted(wanted - {s.id for s in config.sources})
        if unknown:
            report.warnings.append(f"unknown source ids ignored: {', '.join(unknown)}")
    gate = IntakeGate.from_config(config)
    states = load_states(es, settings, [s.id for s in sources])

    x_sources = [s for s in sources if s.kind in X_KINDS]
    if x_sources and x_client is None:
        if settings.x_bearer_token:
            x_client = make_x_client(settings)
        else:
            message = f"X sources skipped ({', '.join(s.id for s in x_sources)}): {NO_X_TOKEN}"
            LOGGER.warning(message)
            report.warnings.append(message)

    to_poll: list[SourceConfig] = []
    for source in sources:
        reason = NO_X_TOKEN if source.kind in X_KINDS and x_client is None else None
        reason = reason or due(states[source.id], source, now, force=force)
        if reason is not None:
            report.sources[source.id] = SourcePollResult(
                source_id=source.id, kind=source.kind, skipped=reason
            )
        else:
            to_poll.append(source)

    own_client = client is None
    http = client or SafeHTTPClient(settings)

    def records(source: SourceConfig, state: SourceState) -> RecordPoll:
        return poll_record_source(es, settings, config, source, state, now=now, client=http)

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(POLL_THREADS, len(to_poll)))) as pool:
            harvests = list(
                pool.map(
                    lambda s: _harvest(
                        s, states[s.id], now=now, client=http, x_client=x_client, records=records
                    ),
                    to_poll,
                )
            )
    finally:
        if own_client:
            http.close()

    documents: list[tuple[str, str, dict[str, Any]]] = []
    for index, (source, harvest) in enumerate(zip(to_poll, harvests, strict=True)):
        result = report.sources[source.id] = SourcePollResult(
            source_id=source.id, kind=source.kind, polled=True
        )
        if isinstance(harvest, FetchError | RecordPoll):
            continue
        try:
            documents.extend(_admitted(source, harvest, result, gate, now))
        except Exception as error:  # this source fails alone (pipeline.failures)
            LOGGER.exception("source %s: its entries could not be processed", source.id)
            harvests[index] = FetchError(f"internal error on its entries: {type(error).__name__}: {error}")
    documents, deferred = capped_new_items(es, settings, to_poll, documents, now=now)
    for source_id, count in deferred.items():
        report.sources[source_id].deferred = count
    enqueued = enqueue(es, settings, documents)

    rejected: list[Rejected] = []
    for source, harvest in zip(to_poll, harvests, strict=True):
        result, state = report.sources[source.id], states[source.id]
        try:
            rejected.extend(_record(source, harvest, result, state, enqueued, now))
        except Exception as error:  # this source fails alone (pipeline.failures)
            LOGGER.exception("source %s: recording the poll failed", source.id)
            _failed(
                state, source, result, FetchError(f"internal error: {type(error).__name__}: {error}"), now
            )
    if rejected:
        quarantine(es, settings, rejected, now=now)
    save_states(es, settings, [states[s.id] for s in to_poll])
    for source in sources:
        log_outcome(report.sources[source.id])
    if report.new_items:
        # One refresh for the whole poll, so the enrich step that follows sees every new item.
        es.indices.refresh(index=settings.index("items"))
    return report


def _admitted(
    source: SourceConfig, harvest: Harvest, result: SourcePollResult, gate: IntakeGate, now: datetime
) -> list[tuple[str, str, dict[str, Any]]]:
    """The pending-item documents of the entries the intake gate admits, counted in ``result``."""
    documents: list[tuple[str, str, dict[str, Any]]] = []
    result.entries = len(harvest.entries) + len(harvest.rejected)
    for entry in harvest.entries:
        admission = gate.admit(source, entry)
        if admission.gate is None:
            result.off_topic += 1
            continue
        entry.matched_rules = admission.labels
        result.candidates += 1
        result.matched += bool(admission.labels)
        documents.extend((source.id, doc_id, doc) for doc_id, doc in pending_documents(entry, admission, now))
    return documents


def _record(
    source: SourceConfig,
    harvest: Harvest | FetchError | RecordPoll,
    result: SourcePollResult,
    state: SourceState,
    enqueued: dict[str, Enqueued],
    now: datetime,
) -> list[Rejected]:
    """Record one source's poll in its result and state; returns its entries to quarantine."""
    if isinstance(harvest, FetchError):
        _failed(state, source, result, harvest, now)
        return []
    if isinstance(harvest, RecordPoll):
        _record_polled(state, source, result, harvest, now)
        return []
    counts = enqueued.get(source.id, Enqueued())
    refused = harvest.rejected + counts.refused
    result.rejected_reasons = [r.reason for r in refused[:REASONS_KEPT]]
    result.status, result.not_modified, result.problem = (
        harvest.status,
        harvest.not_modified,
        harvest.problem,
    )
    result.new_items, result.duplicates, result.rejected = (
        len(counts.created),
        counts.duplicates,
        len(refused),
    )
    result.item_ids = counts.created
    # Entries left for the next poll: forget the validators, or a 304 would hide them.
    deferred = result.deferred > 0
    record_success(
        state, source, now=now, status=harvest.status, not_modified=harvest.not_modified,
        etag=None if deferred else harvest.etag, last_modified=None if deferred else harvest.last_modified,
        cursor=harvest.cursor,
        entry_times=[e.published_at for e in harvest.entries if e.published_at is not None],
        entries=result.entries, candidates=result.candidates, off_topic=result.off_topic,
        matched=result.matched, new_items=result.new_items,
        duplicates=result.duplicates, rejected=result.rejected, problem=harvest.problem,
    )  # fmt: skip
    return refused


def _failed(
    state: SourceState, source: SourceConfig, result: SourcePollResult, error: FetchError, now: datetime
) -> None:
    result.error, result.status, result.retry_after_s = error.reason, error.status, error.retry_after_s
    record_failure(state, source, now=now, reason=error.reason, status=error.status,
                   retry_after_s=error.retry_after_s)  # fmt: skip


def log_outcome(result: SourcePollResult) -> None:
    """What happened to one source in this poll, in one line (WARNING when it failed)."""
    if result.error:
        status = f" (HTTP {result.status})" if result.status else ""
        OUTCOME_LOGGER.warning("source %s: FAILED%s: %s", result.source_id, status, result.error)
    elif result.skipped:
        OUTCOME_LOGGER.info("source %s: skipped, %s", result.source_id, result.skipped)
    else:
        OUTCOME_LOGGER.info(
            "source %s: fetched %d entries%s, %d candidates, %d matched, %d new, %d duplicates, %d errors%s",
            result.source_id, result.entries, " (not modified)" if result.not_modified else "",
            result.candidates, result.matched, result.new_items, result.duplicates, result.errors,
            f"; {result.problem}" if result.problem else "",
        )  # fmt: skip


def _record_polled(
    state: SourceState, source: SourceConfig, result: SourcePollResult, poll: RecordPoll, now: datetime
) -> None:
    """A record source's figures: entries = rows or matters read, candidates = changes found,
    matched and new_items = items written (created or updated in place)."""
    result.status, result.not_modified, result.problem = poll.status, poll.not_modified, poll.problem
    result.entries, result.candidates = poll.entries, poll.changes
    result.matched = result.new_items = result.indexed = len(poll.item_ids)
    result.item_ids = poll.item_ids
    result.rejected_reasons = poll.rejected_reasons[:REASONS_KEPT]
    record_success(
        state, source, now=now, status=poll.status, not_modified=poll.not_modified, etag=poll.etag,
        last_modified=poll.last_modified, cursor=poll.cursor, entries=poll.entries,
        candidates=poll.changes, matched=result.matched, new_items=result.new_items, problem=poll.problem,
        rejected=len(poll.rejected_reasons),
    )  # fmt: skip
    result.rejected = len(poll.rejected_reasons)


def poll_group(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    group: str,
    *,
    now: datetime,
    force: bool = False,
    client: SafeHTTPClient | None = None,
) -> PollReport:
    """Poll the enabled sources of one ``group`` (one coarse Airflow task per group)."""
    ids = [s.id for s in config.sources if s.group == group]
    return poll_sources(es, settings, config, now=now, source_ids=ids, force=force, client=client)


def source_health(
    es: Elasticsearch, settings: Settings, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Health of every source that has state, for the ops view; ``now`` refreshes silent/health."""
    rows = []
    for state in all_states(es, settings):
        if now is not None:
            state.silent = is_silent(state, now)
            state.health = health_of(state, now)
        row = state.to_document()
        row.pop("entry_times", None)
        rows.append(row)
    return sorted(rows, key=lambda row: str(row["source_id"]))


def _replay_poll(es: Elasticsearch, settings: Settings, record: dict[str, Any]) -> bool:
    """Re-create an item Elasticsearch refused; entries without a usable link cannot be replayed."""
    payload = record.get("payload") or {}
    document, doc_id = payload.get("document"), payload.get("item_id")
    if not document or not doc_id:
        return False
    counts = enqueue(es, settings, [(record.get("source_id") or "", doc_id, document)])
    (outcome,) = counts.values()
    return bool(outcome.created or outcome.duplicates) and not outcome.refused


register_replay("poll", _replay_poll)
