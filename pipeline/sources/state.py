"""Per-source poll state and health, one document per source in ``{prefix}-sources`` (``_id`` = id).

The poll writes its part (``save_states``), the enrich step its own (``record_enrich``: pages
fetched, candidates matched or kept as unmatched, candidates waiting for the next run's budget).

The state drives scheduling (due after ``interval``; after failures, exponential backoff that
honours ``Retry-After``) and conditional GET (ETag / Last-Modified, X ``since_id`` cursor); the
same document is the health ops read: last success, last error with its reason, consecutive
failures, entries and new items per poll, newest entry, usual cadence, and a ``silent`` flag
when a source has published nothing for much longer than it usually does.

A failing source is backed off, never disabled: its document keeps saying why.
All functions take ``now``; nothing here reads the clock.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import SourceConfig
from pipeline.models import parse_utc
from pipeline.settings import Settings
from pipeline.store.indices import ensure_index

LOGGER = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
MIN_BACKOFF = timedelta(minutes=1)
# Entry times kept to estimate the usual cadence.
ENTRY_TIMES_KEPT = 50
# Silent when nothing new for SILENT_FACTOR x the usual gap between entries, and at least this long.
SILENT_FACTOR = 6.0
SILENT_MIN = timedelta(hours=24)


@dataclass(kw_only=True)
class SourceState:
    source_id: str
    kind: str = ""
    name: str | None = None
    group: str | None = None
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
    last_poll_at: datetime | None = None
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    last_status: int | None = None
    problem: str | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = None
    retry_after_s: float | None = None
    entries_last_poll: int = 0
    candidates_last_poll: int = 0
    off_topic_last_poll: int = 0
    matched_last_poll: int = 0
    new_items_last_poll: int = 0
    duplicates_last_poll: int = 0
    rejected_last_poll: int = 0
    items_total: int = 0
    polls_total: int = 0
    not_modified_total: int = 0
    newest_entry_at: datetime | None = None
    usual_cadence_s: float | None = None
    entry_times: list[datetime] = field(default_factory=list)
    silent: bool = False
    health: str = "never_polled"
    updated_at: datetime | None = None
    # Written by the enrich step (``record_enrich``), never by a poll: what became of the
    # candidates. ``unmatched``: fetched, matched no watchlist rule on the full text, kept for
    # ``muniwatch rematch``; ``waiting``: left pending because the run's fetch budget was spent.
    last_enrich_at: datetime | None = None
    fetched_last_enrich: int = 0
    matched_last_enrich: int = 0
    unmatched_last_enrich: int = 0
    waiting_last_enrich: int = 0
    unmatched_total: int = 0

    def to_document(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["entry_times"] = [t.isoformat() for t in self.entry_times]
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in doc.items()}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> SourceState:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in doc.items():
            if key not in known:
                continue
            if key == "entry_times":
                value = [parse_utc(v) for v in value or []]
            elif key.endswith(("_at", "_until")) and isinstance(value, str):
                value = parse_utc(value)
            values[key] = value
        return cls(**values)


# --- scheduling ------------------------------------------------------------------------------


def due(state: SourceState, source: SourceConfig, now: datetime, *, force: bool = False) -> str | None:
    """None when the source should be polled now, else why not (for the report).

    ``force`` polls regardless of the interval (``muniwatch run --once``), but a backoff after
    failures or a server's ``Retry-After`` is still honoured: hammering a failing server or one
    that asked us to wait helps nobody, and the state says until when.
    """
    if state.backoff_until is not None and now < state.backoff_until:
        return (
            f"backing off until {state.backoff_until.isoformat()} after "
            f"{state.consecutive_failures} failure(s): {state.last_error or 'unknown error'}"
        )
    if force or state.last_poll_at is None:
        return None
    next_poll = state.last_poll_at + timedelta(seconds=source.interval)
    if now < next_poll:
        return f"not due until {next_poll.isoformat()}"
    return None


def backoff_delay(interval_s: int, failures: int, retry_after_s: float | None) -> timedelta:
    """interval x 2^(failures-1), kept within MIN_BACKOFF..MAX_BACKOFF; a longer Retry-After wins."""
    base = timedelta(seconds=interval_s) * (1 << min(max(0, failures - 1), 20))
    delay = min(max(base, MIN_BACKOFF), MAX_BACKOFF)
    if retry_after_s is not None:
        delay = max(delay, timedelta(seconds=min(retry_after_s, MAX_BACKOFF.total_seconds())))
    return delay


# --- cadence and silence ---------------------------------------------------------------------


def usual_cadence_s(entry_times: list[datetime]) -> float | None:
    """Median gap between consecutive entry times, or None with fewer than three entries."""
    ordered = sorted(set(entry_times))
    if len(ordered) < 3:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return float(statistics.median(gaps))


def is_silent(state: SourceState, now: datetime) -> bool:
    """Nothing new for much longer than usual (needs a known cadence and a newest entry)."""
    if state.newest_entry_at is None or state.usual_cadence_s is None:
        return False
    quiet_for = now - state.newest_entry_at
    return quiet_for > max(timedelta(seconds=state.usual_cadence_s * SILENT_FACTOR), SILENT_MIN)


def health_of(state: SourceState, now: datetime) -> str:
    if state.last_poll_at is None:
        return "never_polled"
    if state.consecutive_failures:
        return "failing"
    if is_silent(state, now):
        return "silent"
    if state.problem:
        return "degraded"
    return "ok"


# --- state transitions -----------------------------------------------------------------------


def record_success(
    state: SourceState,
    source: SourceConfig,
    *,
    now: datetime,
    status: int | None,
    not_modified: bool = False,
    etag: str | None = None,
    last_modified: str | None = None,
    cursor: str | None = None,
    entry_times: list[datetime] | None = None,
    entries: int = 0,
    candidates: int = 0,
    off_topic: int = 0,
    matched: int = 0,
    new_items: int = 0,
    duplicates: int = 0,
    rejected: int = 0,
    problem: str | None = None,
) -> SourceState:
    _describe(state, source)
    state.last_poll_at = now
    state.last_success_at = now
    state.last_status = status
    state.consecutive_failures = 0
    state.backoff_until = None
    state.retry_after_s = None
    state.polls_total += 1
    if not_modified:
        state.not_modified_total += 1
    else:
        state.etag, state.last_modified = etag, last_modified
        state.problem = problem
    if cursor is not None:
        state.cursor = cursor
    state.entries_last_poll = entries
    state.candidates_last_poll = candidates
    state.off_topic_last_poll = off_topic
    state.matched_last_poll = matched
    state.new_items_last_poll = new_items
    state.duplicates_last_poll = duplicates
    state.rejected_last_poll = rejected
    state.items_total += new_items
    if entry_times:
        merged = sorted(set(state.entry_times) | set(entry_times))
        state.entry_times = merged[-ENTRY_TIMES_KEPT:]
        state.newest_entry_at = merged[-1]
        state.usual_cadence_s = usual_cadence_s(state.entry_times)
    state.next_poll_at = now + timedelta(seconds=source.interval)
    return _finish(state, now)


def record_failure(
    state: SourceState,
    source: SourceConfig,
    *,
    now: datetime,
    reason: str,
    status: int | None = None,
    retry_after_s: float | None = None,
) -> SourceState:
    _describe(state, source)
    state.last_poll_at = now
    state.last_error_at = now
    state.last_error = reason[:1000]
    state.last_status = status
    state.retry_after_s = retry_after_s
    state.consecutive_failures += 1
    state.polls_total += 1
    state.entries_last_poll = state.matched_last_poll = state.new_items_last_poll = 0
    state.candidates_last_poll = state.off_topic_last_poll = 0
    state.duplicates_last_poll = state.rejected_last_poll = 0
    state.backoff_until = now + backoff_delay(source.interval, state.consecutive_failures, retry_after_s)
    state.next_poll_at = state.backoff_until
    return _finish(state, now)


def _describe(state: SourceState, source: SourceConfig) -> None:
    state.kind = source.kind
    state.name = source.name
    state.group = source.group
    if source.kind in ("x_account", "x_search"):
        state.url = source.handle or source.query
    else:
        state.url = source.legistar_base if source.kind == "legistar" else source.url


def _finish(state: SourceState, now: datetime) -> SourceState:
    state.silent = is_silent(state, now)
    state.health = health_of(state, now)
    state.updated_at = now
    return state


# --- storage ---------------------------------------------------------------------------------


def load_states(es: Elasticsearch, settings: Settings, source_ids: list[str]) -> dict[str, SourceState]:
    """Stored state for each id (a fresh one for sources never polled)."""
    ensure_index(es, settings, "sources")
    states = {sid: SourceState(source_id=sid) for sid in source_ids}
    if not source_ids:
        return states
    response = es.mget(index=settings.index("sources"), ids=source_ids)
    for doc in response["docs"]:
        if doc.get("found"):
            states[doc["_id"]] = SourceState.from_document({**doc["_source"], "source_id": doc["_id"]})
    return states


# Fields only the enrich step writes (``record_enrich``): a poll's write leaves them alone, so
# a poll and an enrich run at the same time never undo each other's figures.
ENRICH_FIELDS = frozenset(
    {"last_enrich_at", "fetched_last_enrich", "matched_last_enrich", "unmatched_last_enrich",
     "waiting_last_enrich", "unmatched_total"}
)  # fmt: skip


def save_states(es: Elasticsearch, settings: Settings, states: list[SourceState]) -> None:
    """Write the poll's part of several state documents in one bulk request (partial updates:
    the enrich step's figures are kept)."""
    if not states:
        return
    operations: list[dict[str, Any]] = []
    for state in states:
        try:
            doc = {k: v for k, v in state.to_document().items() if k not in ENRICH_FIELDS}
        except (OverflowError, ValueError, TypeError) as error:  # one state fails alone
            LOGGER.error("cannot save the state of source %s: %s", state.source_id, error)
            continue
        operations.append({"update": {"_index": settings.index("sources"), "_id": state.source_id}})
        operations.append({"doc": doc, "doc_as_upsert": True})
    if not operations:
        return
    # Each state is its own document: one refused is logged, the others are saved all the same.
    response = es.bulk(operations=operations)
    for result in response["items"] if response.get("errors") else []:
        if result["update"].get("error"):
            LOGGER.error(
                "cannot save the state of source %s: %s", result["update"]["_id"], result["update"]["error"]
            )


@dataclass(kw_only=True)
class EnrichCounts:
    """What one enrich run did with one source's candidates."""

    fetched: int = 0
    matched: int = 0
    unmatched: int = 0
    waiting: int = 0


def record_enrich(
    es: Elasticsearch, settings: Settings, counts: dict[str, EnrichCounts], *, now: datetime
) -> None:
    """Add an enrich run's figures to the sources' health (``unmatched_total`` accumulates)."""
    if not counts:
        return
    ensure_index(es, settings, "sources")
    ids = sorted(counts)
    found = es.mget(index=settings.index("sources"), ids=ids, source_includes=["unmatched_total"])["docs"]
    totals = {
        d["_id"]: int((d.get("_source") or {}).get("unmatched_total") or 0) for d in found if d.get("found")
    }
    operations: list[dict[str, Any]] = []
    for source_id in ids:
        figures = counts[source_id]
        doc = {
            "source_id": source_id,
            "last_enrich_at": now.isoformat(),
            "fetched_last_enrich": figures.fetched,
            "matched_last_enrich": figures.matched,
            "unmatched_last_enrich": figures.unmatched,
            "waiting_last_enrich": figures.waiting,
            "unmatched_total": totals.get(source_id, 0) + figures.unmatched,
        }
        operations.append({"update": {"_index": settings.index("sources"), "_id": source_id}})
        operations.append({"doc": doc, "doc_as_upsert": True})
    _bulk(es, operations, "record the enrich figures of")


def _bulk(es: Elasticsearch, operations: list[dict[str, Any]], what: str) -> None:
    response = es.bulk(operations=operations)
    if response.get("errors"):
        failed = [i["update"] for i in response["items"] if i["update"].get("error")]
        raise RuntimeError(f"could not {what} {len(failed)} source(s): {failed[0].get('error')}")


def all_states(es: Elasticsearch, settings: Settings) -> list[SourceState]:
    ensure_index(es, settings, "sources")
    es.indices.refresh(index=settings.index("sources"))
    response = es.search(index=settings.index("sources"), query={"match_all": {}}, size=10_000)
    return [
        SourceState.from_document({**hit["_source"], "source_id": hit["_id"]})
        for hit in response["hits"]["hits"]
    ]
