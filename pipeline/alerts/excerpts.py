"""What an alert quotes: the lead article's first sentences, and the sentence a primary record
(a 287(g) list change, a council agenda item) reads as.

Lead sentences are the article's own opening — not its headline, byline, photo credit, "sign up"
box or dateline-only line — so a reporter sees what the piece says before opening it. Record
sentences follow the contract of ``source_kind`` "287g_list" / "legistar" items: an object
``record`` with {kind, change, list, agency, support_model, date_signed, matter_id, matter_file,
matter_name, matter_type, matter_status, body, intro_date, agenda_date, passed_date, url}.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pipeline.alerts.when import long_date
from pipeline.tagging.document import analyse

RECORD_KINDS = frozenset({"287g_list", "legistar"})
LEAD_MAX_CHARS = 360
# Only the start of a text is read: lead sentences are in its first paragraphs.
_READ_CHARS = 6000
_BOILERPLATE = re.compile(
    r"^(by|photo|image|credit|caption|file photo|updated|published|posted|share|advertisement|listen)\b"
    r"|sign up|subscribe|newsletter|click here|all rights reserved|cookies?\b|javascript|read more"
    r"|follow us|©|\(AP\) —$",
    re.I,
)
_MIN_SENTENCE_CHARS = 40


def lead_sentences(text: str | None, *, title: str = "", limit: int = 2) -> str | None:
    """The first one or two sentences of ``text`` that are the article's own prose (see module doc),
    at most LEAD_MAX_CHARS; None when there are none."""
    if not text or not text.strip():
        return None
    document = analyse(title=title, text=text[:_READ_CHARS])
    chosen: list[str] = []
    for sentence in document.sentences:
        words = " ".join(sentence.text.split())
        if sentence.is_headline or len(words) < _MIN_SENTENCE_CHARS or _BOILERPLATE.search(words):
            if chosen:
                break  # the lead is one run of prose; what follows boilerplate is another part
            continue
        if chosen and len(" ".join([*chosen, words])) > LEAD_MAX_CHARS:
            break
        chosen.append(words)
        if len(chosen) >= limit:
            break
    if not chosen:
        return None
    lead = " ".join(chosen)
    if len(lead) > LEAD_MAX_CHARS:
        lead = lead[: LEAD_MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return lead


def record_date(value: Any) -> date | None:
    """A record's date field (ISO date or date-time) as a date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def record_sentence(
    record: dict[str, Any] | None, *, state: str | None = None, title: str = ""
) -> str | None:
    """The record as one sentence, e.g. "Polk County Sheriff's Office (FL) signed a 287(g) Task Force
    Model agreement on 26 February 2025."; None for an item that carries no record."""
    if not record:
        return None
    if record.get("kind") == "legistar" or record.get("matter_file") or record.get("matter_id"):
        return _legistar_sentence(record, title)
    return _list_sentence(record, state)


def _list_sentence(record: dict[str, Any], state: str | None) -> str | None:
    agency = str(record.get("agency") or "").strip()
    if not agency:
        return None
    who = f"{agency} ({state})" if state and f"({state})" not in agency else agency
    model = str(record.get("support_model") or "").strip()
    agreement = f"a 287(g) {model} agreement" if model else "a 287(g) agreement"
    signed = record_date(record.get("date_signed"))
    change = record.get("change")
    if change == "removed":
        since = f", signed {long_date(signed)}" if signed else ""
        return (
            f"{who} is no longer listed as a participating agency on ICE's 287(g) list "
            f"({model or 'agreement'}{since})."
        )
    if change == "pending_added":
        return f"{who} appears on ICE's list of pending 287(g) requests ({agreement[2:]})."
    on = f" on {long_date(signed)}" if signed else ""
    verb = "added" if change == "support_model_added" else "signed"
    return f"{who} {verb} {agreement}{on}."


def _legistar_sentence(record: dict[str, Any], title: str) -> str:
    body = str(record.get("body") or "The legislative body").strip()
    name = str(record.get("matter_name") or title or "").strip()
    file = str(record.get("matter_file") or record.get("matter_id") or "").strip()
    what = " ".join(
        part for part in (f"File {file}" if file else "a matter", f"“{name}”" if name else "") if part
    )
    status = str(record.get("matter_status") or "").strip()
    passed = record_date(record.get("passed_date"))
    agenda = record_date(record.get("agenda_date"))
    introduced = record_date(record.get("intro_date"))
    if passed:
        return f"{body} passed {what} on {long_date(passed)}."
    if agenda:
        state = f" (status: {status})" if status else ""
        return f"{body} has {what} on its agenda of {long_date(agenda)}{state}."
    if introduced:
        state = f"; status: {status}" if status else ""
        return f"{what[0].upper()}{what[1:]} was introduced to {body} on {long_date(introduced)}{state}."
    return f"{body}: {what}" + (f", status {status}." if status else ".")
