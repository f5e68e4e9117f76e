"""The ``legistar`` source kind: a city's or county's matters (legislation) from Legistar's Web API.

Per poll: the matters modified since the source's cursor (OData ``$filter`` on
``MatterLastModifiedUtc``, ``$orderby`` it, ``$top``/``$skip`` paging) through the SSRF-safe client;
the watchlist rules on each matter's title, name and type; one item per matching matter
(``canonical_url`` = the matter's public page, so it is updated in place), with the jurisdiction from
the source's configuration. A later change of status (introduced → on agenda → passed / failed /
withdrawn) updates the item and its story; only a change of consequence — the matter passed or
failed — puts it back on the alerts queue, under an ``alert_key`` of its own so that the story is
alerted once more for it, and once only. The cursor moves to the newest ``MatterLastModifiedUtc``
seen; the first poll looks back ``FIRST_POLL_LOOKBACK``.

Many clients leave ``MatterAgendaDate`` empty and put the matter on a meeting instead: for a matching,
undecided matter without it, the poll reads the meetings (``/events``, at most ``MAX_EVENTS``) from the
matter's introduction on and takes the date of the first whose ``/eventitems`` list it. Only matters
modified since the cursor are looked up: a meeting added later without touching the matter is not seen.
If ``/events`` fails, the matters are written without that date and the poll notes the problem.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from elasticsearch import Elasticsearch

from pipeline.config import PipelineConfig, SourceConfig
from pipeline.fetch.client import FetchError, SafeHTTPClient
from pipeline.models import Event, item_id, parse_utc
from pipeline.rules.language import RuleSet
from pipeline.settings import Settings
from pipeline.sources.ice287g import configured_jurisdiction
from pipeline.sources.records import RecordItem, RecordPoll, existing_items, write_record_items
from pipeline.sources.state import SourceState

PAGE_SIZE = 100
MAX_PAGES = 50
FIRST_POLL_LOOKBACK = timedelta(days=30)
# Meetings read per poll for agenda dates (each costs one /eventitems request).
MAX_EVENTS = 40
# Statuses (MatterStatusName, which each client words its own way) that are a decision.
_PASSED = re.compile(r"\b(passed|adopted|approved|enacted|carried|ratified)\b", re.IGNORECASE)
_FAILED = re.compile(r"\b(failed|defeated|rejected|denied|died|vetoed)\b", re.IGNORECASE)
_TERMINATE = re.compile(r"\b(terminat\w*|rescind\w*|end(?:ing)?|cancel\w*|withdraw\w* from)\b", re.IGNORECASE)
_AGREEMENT = re.compile(
    r"\b(agreement|contract|memorandum|287\(g\)|intergovernmental|MOA|MOU)\b", re.IGNORECASE
)
_POLICY = re.compile(r"\b(ordinance|policy|sanctuary|welcoming)\b", re.IGNORECASE)


def outcome(status: str | None, passed_date: str | None) -> str | None:
    """ "passed", "failed" or None (still open, withdrawn, or a status that decides nothing)."""
    if status and _FAILED.search(status):
        return "failed"
    if (status and _PASSED.search(status)) or passed_date:
        return "passed"
    return None


def event_of(title: str, decided: str | None) -> Event:
    """The event a matter records: a proposal until it passes; then what the title says it does."""
    if decided != "passed":
        return "vote_or_proposal"
    if _TERMINATE.search(title):
        return "terminate"
    if _AGREEMENT.search(title):
        return "sign_or_join"
    if _POLICY.search(title):
        return "policy_change"
    return "vote_or_proposal"


def _date(value: Any) -> str | None:
    parsed = parse_utc(value) if isinstance(value, str) and value.strip() else None
    return parsed.date().isoformat() if parsed else None


def _name(matter: dict[str, Any]) -> str | None:
    """The matter's name, or its title where the name is only the title cut short (as many clients'
    are): the e-mail quotes it whole."""
    name = str(matter.get("MatterName") or "").strip()
    title = str(matter.get("MatterTitle") or "").strip()
    if title and (not name or (title.startswith(name) and len(title) > len(name))):
        return title
    return name or None


def matters(client: SafeHTTPClient, base: str, since: str) -> Iterator[dict[str, Any]]:
    """Every matter modified at or after ``since`` (``YYYY-MM-DDTHH:MM:SS``, UTC), page by page."""
    query = f"MatterLastModifiedUtc ge datetime'{since}'"
    for page in range(MAX_PAGES):
        url = (
            f"{base}/matters?$filter={quote(query)}&$orderby={quote('MatterLastModifiedUtc asc')}"
            f"&$top={PAGE_SIZE}&$skip={page * PAGE_SIZE}"
        )
        fetched = client.get(url, expect="any")
        try:
            rows = json.loads(fetched.body)
        except ValueError as error:
            raise FetchError(
                f"Legistar answered with something that is not JSON: {error}", url=url
            ) from error
        if not isinstance(rows, list):
            raise FetchError("Legistar's /matters answer is not a list of matters", url=url)
        yield from (row for row in rows if isinstance(row, dict))
        if len(rows) < PAGE_SIZE:
            return


def _json_list(client: SafeHTTPClient, url: str, what: str) -> list[dict[str, Any]]:
    fetched = client.get(url, expect="any")
    try:
        rows = json.loads(fetched.body)
    except ValueError as error:
        raise FetchError(f"Legistar's {what} answer is not JSON: {error}", url=url) from error
    if not isinstance(rows, list):
        raise FetchError(f"Legistar's {what} answer is not a list", url=url)
    return [row for row in rows if isinstance(row, dict)]


def event_agenda_dates(client: SafeHTTPClient, base: str, matter_ids: set[str], since: str) -> dict[str, str]:
    """Matter id → the date (``YYYY-MM-DD``) of the first meeting from ``since`` on whose agenda lists
    it: ``/events`` (filtered on ``EventDate``), then each event's ``/eventitems``. For matters
    whose ``MatterAgendaDate`` is empty, as many clients leave it."""
    query = f"EventDate ge datetime'{since}'"
    url = f"{base}/events?$filter={quote(query)}&$orderby={quote('EventDate asc')}&$top={MAX_EVENTS}"
    found: dict[str, str] = {}
    for event in _json_list(client, url, "/events")[:MAX_EVENTS]:
        if found.keys() >= matter_ids:
            break
        day, event_id = _date(event.get("EventDate")), event.get("EventId")
        if not day or not isinstance(event_id, int):
            continue
        for entry in _json_list(client, f"{base}/events/{event_id}/eventitems", "/eventitems"):
            matter = entry.get("EventItemMatterId")
            if matter is not None and str(matter) in matter_ids:
                found.setdefault(str(matter), day)
    return found


def matter_page(source: SourceConfig, matter: dict[str, Any]) -> str:
    """The matter's public page on the client's Legistar site (the link an item carries)."""
    guid = matter.get("MatterGuid") or ""
    return f"https://{source.client}.legistar.com/LegislationDetail.aspx?ID={matter['MatterId']}&GUID={guid}"


def poll_legistar(
    es: Elasticsearch,
    settings: Settings,
    config: PipelineConfig,
    source: SourceConfig,
    state: SourceState,
    *,
    now: datetime,
    client: SafeHTTPClient,
    lock: threading.Lock | None = None,
) -> RecordPoll:
    """Poll one Legistar client (see the module docstring). Raises FetchError for a source problem."""
    assert source.jurisdiction is not None
    since = state.cursor or (now - FIRST_POLL_LOOKBACK).strftime("%Y-%m-%dT%H:%M:%S")
    found = list(matters(client, source.legistar_base, since))
    poll = RecordPoll(entries=len(found), status=200, cursor=since)
    stamps = [str(m["MatterLastModifiedUtc"]) for m in found if m.get("MatterLastModifiedUtc")]
    if stamps:
        poll.cursor = max(stamps)[:19]
    rules = RuleSet.from_watchlists(config.watchlists)
    place = source.jurisdiction
    jurisdiction = configured_jurisdiction(place.name, place.type, place.state).to_dict()
    matching: list[tuple[dict[str, Any], list[str]]] = []
    for matter in found:
        if not isinstance(matter.get("MatterId"), int | str) or matter.get("MatterId") in ("", None):
            # Counted in the source's health; the matter is read again once Legistar serves it whole.
            poll.rejected_reasons.append(f"matter without a MatterId: {str(matter)[:200]}")
            continue
        texts = [str(matter.get(k) or "") for k in ("MatterTitle", "MatterName", "MatterTypeName")]
        labels = rules.match(*texts)
        if labels:
            matching.append((matter, labels))
    undated = {str(m["MatterId"]) for m, _ in matching if not m.get("MatterAgendaDate") and
               outcome(m.get("MatterStatusName"), m.get("MatterPassedDate")) is None}  # fmt: skip
    agendas: dict[str, str] = {}
    if undated:
        # Meetings from the earliest introduction of those matters on (else the first poll's look-back).
        intros = [_date(m.get("MatterIntroDate")) for m, _ in matching if str(m["MatterId"]) in undated]
        first = min((d for d in intros if d), default=(now - FIRST_POLL_LOOKBACK).date().isoformat())
        try:
            agendas = event_agenda_dates(client, source.legistar_base, undated, f"{first}T00:00:00")
        except FetchError as error:
            # The matters are still good; their agenda date is looked for again on the next poll.
            poll.problem = f"agenda dates from /events not read: {error}"
    with lock or nullcontext():
        pages = {item_id(matter_page(source, m)): m for m, _ in matching}
        stored = existing_items(es, settings, list(pages))
        items: list[RecordItem] = []
        for matter, labels in matching:
            previous = (stored.get(item_id(matter_page(source, matter))) or {}).get("record")
            agenda = agendas.get(str(matter["MatterId"]))
            item = _matter_item(source, matter, labels, jurisdiction, previous, now, agenda)
            if item is not None:
                items.append(item)
        poll.changes = len(items)
        new_ids = {i for i in pages if i not in stored}
        report = write_record_items(es, settings, items, now=now, new_ids=new_ids)
    if report.failed_ids:
        raise FetchError(f"{len(report.failed_ids)} matter items were refused by Elasticsearch (quarantined)")
    poll.item_ids = report.written_ids
    return poll


def _matter_item(
    source: SourceConfig,
    matter: dict[str, Any],
    labels: list[str],
    jurisdiction: dict[str, Any],
    previous: dict[str, Any] | None,
    now: datetime,
    event_agenda: str | None = None,
) -> RecordItem | None:
    """The item for a matter, or None when nothing that matters changed since the stored one."""
    status = str(matter.get("MatterStatusName") or "") or None
    record: dict[str, Any] = {
        "kind": "legistar",
        "matter_id": str(matter["MatterId"]),
        "matter_file": matter.get("MatterFile"),
        "matter_name": _name(matter),
        "matter_type": matter.get("MatterTypeName"),
        "matter_status": status,
        "body": matter.get("MatterBodyName"),
        "intro_date": _date(matter.get("MatterIntroDate")),
        "agenda_date": _date(matter.get("MatterAgendaDate")) or event_agenda,
        "passed_date": _date(matter.get("MatterPassedDate")),
        "last_modified": matter.get("MatterLastModifiedUtc"),
        "url": matter_page(source, matter),
    }
    decided = outcome(status, record["passed_date"])
    alert, alert_key = True, None
    if previous is None:
        record["change"] = "matter_added"
    else:
        watched = ("matter_status", "agenda_date", "passed_date")
        if all((previous.get(k) or None) == record[k] for k in watched):
            return None
        record["change"] = "status_changed"
        record["previous_status"] = previous.get("matter_status")
        before = outcome(previous.get("matter_status"), previous.get("passed_date"))
        # Only a decision (passed, failed) is worth a second alert; it is alerted once.
        alert = decided is not None and decided != before
        alert_key = f"legistar:{record['matter_id']}:{decided}" if alert else previous.get("alert_key")
    record["alert_key"] = alert_key
    title_text = str(matter.get("MatterTitle") or matter.get("MatterName") or "")
    body = record["body"] or "council"
    where = f"{jurisdiction['name']} ({jurisdiction['state']})"
    verb = {"passed": "passed", "failed": "failed"}.get(decided or "", f"status: {status or 'introduced'}")
    title = f"{where} {body} {record['matter_file'] or ''}: {title_text} — {verb}".replace("  ", " ")
    dates = [f"{label} {record[key]}" for key, label in
             (("intro_date", "introduced"), ("agenda_date", "on the agenda"), ("passed_date", "passed"))
             if record[key]]  # fmt: skip
    text = (
        f"{title}. {record['matter_type'] or 'Matter'} {record['matter_file'] or record['matter_id']} "
        f"of the {body}, {where}: {title_text}. Status: {status or 'not given'}"
        + (f" ({', '.join(dates)})" if dates else "")
        + f". Source: {record['url']}"
    )
    when = record["passed_date"] or record["agenda_date"] or record["intro_date"]
    # Noon UTC: the same calendar day in every US time zone the e-mail reads dates in.
    published = datetime.fromisoformat(when).replace(hour=12, tzinfo=UTC) if when else now
    return RecordItem(
        canonical_url=record["url"],
        url=record["url"],
        title=title,
        text=text,
        source_id=source.id,
        source_kind="legistar",
        published_at=published,
        jurisdiction=jurisdiction,
        event=event_of(title_text, decided),
        record=record,
        alert=alert,
        evidence=status or "",
        matched_rules=labels,
    )
