"""How item documents are written: one document per canonical URL, whatever happens.

``bulk_write_items`` writes a batch with ``_id = item_id(canonical_url)`` as partial updates with
upsert, so processing an item again updates the same document and keeps what other steps wrote
(``discovered_at``, ``source_ids``...). Per-item outcomes:

* 429 / 409 / 5xx for an item → retried with exponential backoff (``RetryPolicy``); still refused
  after the last attempt while others of the batch were written → quarantined like a rejection;
* any other rejection (mapping, bad value) → quarantined (stage ``index``) with Elasticsearch's
  reason, the item marked ``failed``, counted in the report; ``muniwatch replay`` re-writes it;
* the *whole request* refused as too large (413) or too heavy (429, indexing pressure) → the
  batch is split in halves until the document that causes it is alone; that one is quarantined
  and the others are written (one large item must not stop all indexing, run after run);
* Elasticsearch unreachable → the request is retried; still down after the policy's attempts →
  :class:`IndexingUnavailable`, so the task fails and its retry starts over (writes are idempotent).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from pipeline.models import Rejected, item_id
from pipeline.settings import Settings, without_credentials
from pipeline.store.indices import ensure_index
from pipeline.store.items import jsonable
from pipeline.store.quarantine import quarantine, register_replay

LOGGER = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({409, 429, 502, 503, 504})
# A whole bulk request refused with these is split (the request or one of its documents is too big).
SPLIT_STATUSES = frozenset({413, 429})
RETRY_ON_CONFLICT = 5
# A document this large refused (429) through every retry is set aside instead of failing the batch.
LARGE_DOCUMENT_BYTES = 1024 * 1024
_T = TypeVar("_T")


class IndexingUnavailable(RuntimeError):
    """Elasticsearch could not take the batch after every retry; nothing is counted as done."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: ``base_delay_s``, doubled per attempt, capped at ``max_delay_s``."""

    attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * (2**attempt)))


DEFAULT_RETRY = RetryPolicy()


@dataclass(kw_only=True)
class BulkReport:
    """What a ``bulk_write_items`` call did. ``failed_ids`` were quarantined, not written."""

    written_ids: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    retried: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    failed_ids: set[str] = field(default_factory=set)

    @property
    def written(self) -> int:
        return len(self.written_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "created": self.created,
            "updated": self.updated,
            "retried": self.retried,
            "failed": len(self.failed_ids),
            "errors": [f"{r.key}: {r.reason}" for r in self.rejected][:50],
        }


def _retrying(
    call: Callable[[], _T], policy: RetryPolicy, es_url: str, give_up_on: frozenset[int] = frozenset()
) -> _T:
    """Run ``call``, retried with backoff while Elasticsearch is unreachable or overloaded as a whole.
    An ApiError with a status in ``give_up_on`` is raised at once (the caller splits the request)."""
    problem = ""
    for attempt in range(policy.attempts):
        try:
            return call()
        except (TransportConnectionError, ConnectionTimeout) as error:
            problem = f"{type(error).__name__}: {error}"
        except ApiError as error:
            if error.status_code not in RETRYABLE_STATUSES or error.status_code in give_up_on:
                raise
            problem = f"HTTP {error.status_code}: {error.message}"
        if attempt + 1 < policy.attempts:
            LOGGER.warning(
                "Elasticsearch write failed (%s); retrying in %.1fs", problem, policy.delay(attempt)
            )
            time.sleep(policy.delay(attempt))
    raise IndexingUnavailable(
        f"Elasticsearch at {without_credentials(es_url)} did not accept the item batch after "
        f"{policy.attempts} attempts ({problem}); nothing in this batch is counted as indexed — "
        "the task can simply be run again"
    )


def _bulk(es: Elasticsearch, operations: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(es.bulk(operations=operations).body)


def _reason(error: Any) -> str:
    if isinstance(error, Mapping):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        return f"{text} (caused by {_reason(cause)})" if cause else text
    return str(error)


def bulk_write_items(
    es: Elasticsearch,
    settings: Settings,
    documents: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    retry: RetryPolicy = DEFAULT_RETRY,
    refresh: bool = True,
) -> BulkReport:
    """Write item documents idempotently (``_id = item_id(canonical_url)``); see the module docstring.

    Args:
        documents: from :func:`build_item_document` (any dict with ``canonical_url`` works);
            two documents for the same URL in one batch: the later one wins.
        now: stamps quarantine records and ``failed`` markers.
        retry: backoff for unreachable Elasticsearch and per-item 429/409/5xx.
        refresh: wait until the documents are searchable (stories and alerts read them next).

    Raises:
        IndexingUnavailable: Elasticsearch could not take (part of) the batch after all retries.
    """
    alias = settings.index("items")
    _retrying(lambda: ensure_index(es, settings, "items"), retry, settings.es_url)
    report = BulkReport()
    pending: dict[str, dict[str, Any]] = {}
    for document in documents:
        url = document.get("canonical_url")
        if not isinstance(url, str) or not url:
            report.rejected.append(
                Rejected(
                    stage="index",
                    key=f"no-canonical-url:{hashlib.sha256(repr(document).encode()).hexdigest()[:16]}",
                    reason="document has no canonical_url",
                    source_id=document.get("source_id"),
                    payload={"document": jsonable(document)},
                )
            )
            continue
        pending[item_id(url)] = jsonable(document)
    attempt = 0
    while pending:
        sent = pending
        results = _send(es, settings, sent, retry, report)
        retry_ids: dict[str, dict[str, Any]] = {}
        last_problem = ""
        for result in results:
            outcome = result["update"]
            doc_id, status = outcome["_id"], int(outcome.get("status", 500))
            if status < 300:
                report.written_ids.append(doc_id)
                report.created += outcome.get("result") == "created"
                report.updated += outcome.get("result") in ("updated", "noop")
            elif status in RETRYABLE_STATUSES:
                retry_ids[doc_id] = sent[doc_id]
                last_problem = _reason(outcome.get("error"))
            else:
                _set_aside(report, doc_id, sent[doc_id], _reason(outcome.get("error")))
        pending = retry_ids
        if pending:
            attempt += 1
            report.retried += len(pending)
            if attempt >= retry.attempts:
                if not report.written_ids:
                    raise IndexingUnavailable(
                        f"{len(pending)} of {len(documents)} items were still refused after "
                        f"{retry.attempts} attempts ({last_problem}); the task can simply be run again"
                    )
                # Elasticsearch took the others: these few fail alone, kept for replay.
                for doc_id, document in pending.items():
                    reason = f"still refused after {retry.attempts} attempts: {last_problem}"
                    _set_aside(report, doc_id, document, reason)
                break
            LOGGER.warning(
                "%d items refused (%s); retrying in %.1fs",
                len(pending),
                last_problem,
                retry.delay(attempt - 1),
            )
            time.sleep(retry.delay(attempt - 1))
    if report.rejected:
        _quarantine_rejected(es, settings, report.rejected, now)
    if refresh and report.written_ids:
        es.indices.refresh(index=alias)
    return report


def _set_aside(report: BulkReport, doc_id: str, document: dict[str, Any], reason: str) -> None:
    report.failed_ids.add(doc_id)
    report.rejected.append(
        Rejected(
            stage="index",
            key=document["canonical_url"],
            reason=reason,
            source_id=document.get("source_id"),
            payload={"item_id": doc_id, "document": document},
        )
    )


def _operations(alias: str, documents: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for doc_id, document in documents.items():
        operations.append(
            {"update": {"_index": alias, "_id": doc_id, "retry_on_conflict": RETRY_ON_CONFLICT}}
        )
        operations.append({"doc": document, "doc_as_upsert": True})
    return operations


def _send(
    es: Elasticsearch,
    settings: Settings,
    documents: dict[str, dict[str, Any]],
    retry: RetryPolicy,
    report: BulkReport,
) -> list[dict[str, Any]]:
    """One bulk request for ``documents``, split in halves while Elasticsearch refuses the request
    as a whole for its size (413, 429); a document refused even alone is set aside."""
    operations = _operations(settings.index("items"), documents)
    alone = len(documents) == 1
    try:
        response = _retrying(
            partial(_bulk, es, operations),
            retry,
            settings.es_url,
            SPLIT_STATUSES if not alone else frozenset({413}),
        )
    except ApiError as error:
        if error.status_code not in SPLIT_STATUSES:
            raise
        problem = f"HTTP {error.status_code}: {error.message}"
    except IndexingUnavailable as error:
        # A single document refused with 429 through every retry: set aside when it is large
        # (indexing pressure is about bytes); a small one means Elasticsearch is overloaded.
        if not alone or _size(operations) < LARGE_DOCUMENT_BYTES:
            raise
        problem = str(error)
    else:
        return list(response["items"])
    if not alone:
        ordered = list(documents.items())
        half = len(ordered) // 2
        LOGGER.warning("bulk request of %d items refused (%s); splitting it", len(ordered), problem)
        first = _send(es, settings, dict(ordered[:half]), retry, report)
        return first + _send(es, settings, dict(ordered[half:]), retry, report)
    ((doc_id, document),) = documents.items()
    reason = f"Elasticsearch refused the document even alone ({problem}); it is {_size(operations):,} bytes"
    _set_aside(report, doc_id, document, reason)
    return []


def _size(operations: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(op, ensure_ascii=False).encode("utf-8")) for op in operations)


def _quarantine_rejected(
    es: Elasticsearch, settings: Settings, rejected: list[Rejected], now: datetime
) -> None:
    quarantine(es, settings, rejected, now=now)
    markers: list[dict[str, Any]] = []
    for item in rejected:
        if item.payload.get("item_id"):
            markers.append(
                {
                    "update": {
                        "_index": settings.index("items"),
                        "_id": item.payload["item_id"],
                        "retry_on_conflict": RETRY_ON_CONFLICT,
                    }
                }
            )
            markers.append(
                {
                    "doc": {
                        "canonical_url": item.key,
                        "status": "failed",
                        "last_error": item.reason[:1000],
                        "updated_at": now.isoformat(),
                    },
                    "doc_as_upsert": True,
                }
            )
    if markers:
        response = es.bulk(operations=markers)
        if response.get("errors"):
            LOGGER.warning("could not mark some rejected items as failed: %s", response["items"][:3])


def _replay_index(es: Elasticsearch, settings: Settings, record: dict[str, Any]) -> bool:
    """Write the stored document again (after the mapping or the data was fixed)."""
    document = (record.get("payload") or {}).get("document")
    if not isinstance(document, Mapping):
        return False
    report = bulk_write_items(es, settings, [document], now=datetime.now(UTC))
    return not report.failed_ids and not report.rejected


register_replay("index", _replay_index)
