"""Polling a primary-record source: one of ICE's 287(g) workbooks, or a Legistar client's matters.

``poll_record_source`` is what ``pipeline.sources.polling`` calls for the kinds in
``pipeline.config.RECORD_KINDS``, on the same thread pool as feeds and with the same SSRF-safe
client (conditional GET for the workbooks). It returns what the poll found and wrote; the caller
records health and state as for any source. A problem with the source (unreachable, a workbook
without a required column) raises :class:`FetchError` with the reason: the source is marked failing,
nothing is written, and the stored version stays the last good one.

287(g) lists: the first poll stores the version as the baseline and makes no items; each later
version is diffed against the stored one (``pipeline.sources.ice287g``), its changes become items
(``pipeline.sources.records``), and only then is it stored, so a poll that dies half-way makes the
same items (same ids) when run again. An identical version (re-saved, reordered) changes nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, time

from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig
from pipeline.fetch.client import FetchError, SafeHTTPClient
from pipeline.models import item_id
from pipeline.settings import Settings
from pipeline.sources import ice287g
from pipeline.sources.legistar import poll_legistar
from pipeline.sources.records import (
    RecordItem,
    RecordPoll,
    load_version,
    pending_keys,
    save_version,
    version_hash,
    write_record_items,
)
from pipeline.sources.state import SourceState
from pipeline.sources.workbook import ListName, ReadWorkbook, WorkbookError, read_workbook

LOGGER = logging.getLogger(__name__)

# Where ICE publishes the lists (the link an item about a list change carries besides the file).
ICE_287G_PAGE = "https://www.ice.gov/identify-and-arrest/287g"
# Record sources fetch in parallel (the poll's thread pool) but write one at a time: two lists
# changing the same county's story, or creating the records index, must not race.
_WRITE_LOCK = threading.Lock()


def poll_record_source(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    source: SourceConfig,
    state: SourceState,
    *,
    now: datetime,
    client: SafeHTTPClient,
) -> RecordPoll:
    """Poll one record source (see the module docstring). Raises FetchError for a source problem."""
    if source.kind == "legistar":
        return poll_legistar(es, settings, config, source, state, now=now, client=client, lock=_WRITE_LOCK)
    return poll_287g_list(es, settings, source, state, now=now, client=client)


def poll_287g_list(
    es: Elasticsearch,
    settings: Settings,
    source: SourceConfig,
    state: SourceState,
    *,
    now: datetime,
    client: SafeHTTPClient,
) -> RecordPoll:
    assert source.url is not None and source.record_list is not None
    list_name = source.record_list
    fetched = client.get(source.url, etag=state.etag, last_modified=state.last_modified, expect="any")
    poll = RecordPoll(status=fetched.status, etag=fetched.etag or state.etag,
                      last_modified=fetched.last_modified or state.last_modified)  # fmt: skip
    if fetched.not_modified:
        poll.not_modified = True
        return poll
    try:
        read = read_workbook(fetched.body, list_name)
    except WorkbookError as error:
        raise FetchError(str(error), url=source.url, status=fetched.status) from error
    with _WRITE_LOCK:
        return _diff_and_write(es, settings, source, list_name, read, poll, now)


def _diff_and_write(
    es: Elasticsearch,
    settings: Settings,
    source: SourceConfig,
    list_name: ListName,
    read: ReadWorkbook,
    poll: RecordPoll,
    now: datetime,
) -> RecordPoll:
    rows = ice287g.snapshot(read.rows)
    poll.entries = len(rows)
    poll.rejected_reasons = read.rejected
    troubles = read.rejected + read.notes
    if troubles:
        poll.problem = f"{len(troubles)} row(s) not usable as they are: {'; '.join(troubles[:3])}"
    stored = load_version(es, settings, source.id)
    if stored is None:
        save_version(es, settings, source.id, list_name=list_name, rows=rows, now=now)
        LOGGER.info(
            "%s: first version stored as the baseline (%d rows), nothing alerted", source.id, len(rows)
        )
        return poll
    new_hash = version_hash(rows)
    if stored.get("version_hash") == new_hash:
        return poll  # the same list, re-saved or reordered
    old_rows = stored.get("rows") or {}
    changes = ice287g.diff(old_rows, rows, list_name)
    poll.changes = len(changes.changes)
    # A new agreement whose request was pending is a request granted (the pending source may
    # have been polled first in this run: rows that just left the pending list count too).
    was_pending = pending_keys(es, settings) if list_name == "participating" else set()
    items = [_list_item(source, change, new_hash, now, was_pending) for change in changes.changes]
    ids = [item_id(item.canonical_url) for item in items]
    report = write_record_items(es, settings, items, now=now, new_ids=set(ids))
    if report.failed_ids:
        # Keep the stored version: the next poll diffs again and writes the refused items again.
        raise FetchError(f"{len(report.failed_ids)} list-change items were refused by Elasticsearch "
                         "(quarantined); the list version is not stored", url=source.url or "")  # fmt: skip
    poll.item_ids = report.written_ids
    poll.new_items = report.created
    poll.updated_items = report.updated
    left = sorted(set(old_rows) - set(rows))
    save_version(es, settings, source.id, list_name=list_name, rows=rows, now=now, left_keys=left)
    LOGGER.info("%s: %d changes (%d renamed agencies, %d pending requests gone)",
                source.id, poll.changes, len(changes.renamed), changes.pending_removed)  # fmt: skip
    return poll


def _list_item(
    source: SourceConfig, change: ice287g.Change, new_hash: str, now: datetime, was_pending: set[str]
) -> RecordItem:
    assert source.url is not None
    row = change.row
    jurisdiction = change.jurisdiction
    title = ice287g.headline(change)
    details = [
        f"Source: ICE's 287(g) {change.list_name} agencies list ({ICE_287G_PAGE}).",
        f"Agency: {row.agency} ({row.agency_type or 'type not given'}), {row.state}.",
        f"Support model: {row.support_model}.",
    ]
    if row.county:
        details.append(f"County given by ICE: {row.county}.")
    if row.date_signed:
        details.append(f"Date signed: {ice287g.long_date(row.date_signed)}.")
    key = ice287g.row_key(row)
    granted = change.change in ("added", "support_model_added") and key in was_pending
    if granted:
        details.append("The agency's request was on ICE's pending list: the request was granted.")
    if change.change == "removed":
        details.append("ICE's list gives no reason for an agency that is no longer listed.")
    # Noon UTC: the same calendar day in every US time zone the e-mail reads dates in.
    signed_at = datetime.combine(row.date_signed, time(12), tzinfo=UTC) if row.date_signed else None
    published = signed_at if change.change in ("added", "support_model_added") and signed_at else now
    return RecordItem(
        canonical_url=f"{source.url}#{change.change}:{key}:{new_hash[:16]}",
        url=source.url,
        title=title,
        text=" ".join([title + ".", *details]),
        source_id=source.id,
        source_kind="287g_list",
        published_at=published,
        jurisdiction=jurisdiction.to_dict(),
        event=change.event,
        evidence=title,
        record={
            "kind": "287g_list",
            "change": change.change,
            "list": change.list_name,
            "agency": row.agency,
            "agency_type": row.agency_type or None,
            "county": row.county,
            "support_model": row.support_model,
            "date_signed": row.date_signed.isoformat() if row.date_signed else None,
            "from_pending": True if granted else None,
            "url": source.url,
        },
    )
