"""The 287(g) lists: an agency's jurisdiction, and what changed between two versions of a list.

A list version is a set of rows keyed by (state, agency, support model). The agency part of the key
is a normal form of the name (``"City of Miami Springs Police Department"`` and ``"Miami Springs
Police Department"`` are one agency). Diffing two versions gives added and removed keys; a removed
row and an added row that are the same agreement under a reworded name (same state, model and
date signed, and the same city or county, or a name that differs only a little: "Ft. Myers" →
"Fort Myers", "Idaho State Police" → "Idaho State Police Department") are paired as a rename, which
ends nothing and starts nothing. What is left are the changes:

* participating list: ``added`` (a new agreement: ``sign_or_join``), ``support_model_added`` (an
  agency already on the list adds a model: ``renew_or_expand``), ``removed`` (no longer listed:
  ``terminate``; ICE gives no reason);
* pending list: ``pending_added`` (a new request: ``vote_or_proposal``); a request leaving the
  pending list is counted (``pending_removed``) but is no item: it was granted (and shows up on
  the participating list) or withdrawn, and the list does not say which.

The jurisdiction comes from the row: "X County Sheriff's Office" → X County; "Y Police Department",
"City of Y Police Department" → the city Y; a state agency → the state; otherwise ICE's COUNTY cell.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.models import Event
from pipeline.sources.workbook import AgencyRow, ListName
from pipeline.tagging.gazetteer import load_gazetteer, norm, slug

# Agency name → its jurisdiction. Order matters: the first pattern that matches wins.
_COUNTY_AGENCY = re.compile(r"^(?P<name>.+?\b(?:county|parish|borough))(?:'s)?\b.*$", re.IGNORECASE)
_CITY_PREFIX = re.compile(r"^(?:the\s+)?(?P<kind>city|town|village|township|borough)\s+of\s+", re.IGNORECASE)
_CITY_AGENCY = re.compile(
    r"^(?P<name>.+?)\s+(?:borough\s+|city\s+|town\s+|village\s+)?"
    r"(?:police(?:\s+services)?\s+department|police\s+departent|police|department\s+of\s+public\s+safety|"
    r"public\s+safety\s+department|marshal'?s?\s+office)\b",
    re.IGNORECASE,
)
_TOWN_WORDS = ("township", "borough", "village", "town")
# "Arnaudville Police Department, LA": a state code after a comma is not part of the name.
_STATE_SUFFIX = re.compile(r",\s*[A-Za-z]{2}$")
_PUNCT = re.compile(r"[^a-z0-9' ]+")
_ABBREVIATIONS = ((r"\bft\.?\s", "fort "), (r"\bst\.\s", "saint "), (r"\bmt\.?\s", "mount "))
# Two agency names whose distinctive words are closer than this (difflib ratio) are one agency
# reworded. Only the distinctive words count: "Milam County Sheriff's Office" and "Dallam County
# Sheriff's Office" share most letters and are two agencies.
RENAME_SIMILARITY = 0.8
_GENERIC_WORDS = frozenset(
    ("sheriff's", "sheriffs", "sheriff", "office", "department", "departent", "police", "services",
     "service", "patrol", "county", "parish", "borough", "city", "town", "village", "of", "the")
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Jurisdiction:
    name: str
    type: str  # city | county | town | state
    state: str
    key: str
    lat: float | None = None
    lon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "state": self.state, "key": self.key}
        if self.lat is not None and self.lon is not None:
            out["lat"], out["lon"] = self.lat, self.lon
        return out


def agency_key(agency: str) -> str:
    """Normal form of an agency name: lower case, no "City of", no ", LA", Ft./St. spelled out."""
    text = _STATE_SUFFIX.sub("", norm(agency))
    text = _CITY_PREFIX.sub("", text)
    for pattern, replacement in _ABBREVIATIONS:
        text = re.sub(pattern, replacement, text)
    return " ".join(_PUNCT.sub(" ", text).split())


def jurisdiction_of(row: AgencyRow) -> Jurisdiction:
    """The jurisdiction an agency row is about (see the module docstring); never guessed from text."""
    gazetteer = load_gazetteer()
    state_place = gazetteer.state(row.state)
    agency = _STATE_SUFFIX.sub("", row.agency.strip())
    state_name = state_place.name if state_place else row.state
    if row.agency_type.lower().startswith("state") or norm(agency).startswith(norm(state_name) + " state"):
        return _state(row.state)
    county = _COUNTY_AGENCY.match(agency)
    if county and not _CITY_PREFIX.match(agency):
        return _county(county.group("name"), row.state)
    kind = _CITY_PREFIX.match(agency)
    bare = _CITY_PREFIX.sub("", agency)
    city = _CITY_AGENCY.match(bare)
    if city and not row.agency_type.lower().startswith("county"):
        name = city.group("name").strip()
        town = (kind is not None and kind.group("kind").lower() != "city") or any(
            name.lower().endswith(" " + word) for word in _TOWN_WORDS
        )
        return _place(name, row.state, "town" if town else "city")
    if row.county:
        return _county(row.county, row.state)
    return _state(row.state)


def _state(code: str) -> Jurisdiction:
    place = load_gazetteer().state(code)
    if place is None:
        return Jurisdiction(name=code, type="state", state=code, key=f"us-{code.lower()}")
    return Jurisdiction(
        name=place.name, type="state", state=code, key=place.key, lat=place.lat, lon=place.lon
    )


def _county(name: str, state: str) -> Jurisdiction:
    name = " ".join(name.split())
    name = re.sub(r"(?i)\bcounty$", "County", name)
    for place in load_gazetteer().counties(name):
        if place.state == state:
            return Jurisdiction(
                name=place.name, type="county", state=state, key=place.key, lat=place.lat, lon=place.lon
            )
    base = re.sub(r"(?i)\s+county$", "", name)
    return Jurisdiction(name=name, type="county", state=state, key=f"us-{state.lower()}-county-{slug(base)}")


def _place(name: str, state: str, kind: str) -> Jurisdiction:
    gazetteer = load_gazetteer()
    for variant in (name, re.sub(r"(?i)\s+(?:township|borough|village|town)$", "", name)):
        for place in gazetteer.places(variant):
            if place.state == state:
                return Jurisdiction(
                    name=place.name, type=place.type, state=state, key=place.key, lat=place.lat, lon=place.lon
                )
    return Jurisdiction(name=name, type=kind, state=state, key=f"us-{state.lower()}-{kind}-{slug(name)}")


# --- versions and their differences ------------------------------------------------------------


def row_key(row: AgencyRow) -> str:
    return f"{row.state}|{agency_key(row.agency)}|{row.support_model}"


def snapshot(rows: Iterable[AgencyRow]) -> dict[str, dict[str, Any]]:
    """A list version as stored: row key → the row's fields (JSON-ready, order-free)."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        out.setdefault(
            row_key(row),
            {
                "state": row.state,
                "agency": row.agency,
                "agency_type": row.agency_type,
                "county": row.county,
                "support_model": row.support_model,
                "date_signed": row.date_signed.isoformat() if row.date_signed else None,
            },
        )
    return out


def row_of(stored: Mapping[str, Any]) -> AgencyRow:
    signed = stored.get("date_signed")
    return AgencyRow(
        state=str(stored["state"]),
        agency=str(stored["agency"]),
        agency_type=str(stored.get("agency_type") or ""),
        county=stored.get("county"),
        support_model=str(stored["support_model"]),
        date_signed=date.fromisoformat(signed) if signed else None,
    )


@dataclass(frozen=True, kw_only=True)
class Change:
    """One change of a list: what happened to which row."""

    change: str  # added | support_model_added | removed | pending_added
    event: Event
    row: AgencyRow
    list_name: ListName

    @property
    def jurisdiction(self) -> Jurisdiction:
        return jurisdiction_of(self.row)


@dataclass(kw_only=True)
class Diff:
    changes: list[Change] = field(default_factory=list)
    # (old agency name, new agency name) pairs taken as one agreement under a reworded name.
    renamed: list[tuple[str, str]] = field(default_factory=list)
    pending_removed: int = 0


def _same_agreement(old: AgencyRow, new: AgencyRow, list_name: ListName) -> float:
    """How sure we are that ``new`` is ``old`` reworded (0: not the same)."""
    if old.state != new.state or old.support_model != new.support_model:
        return 0.0
    if list_name == "participating" and old.date_signed != new.date_signed:
        return 0.0
    ratio = difflib.SequenceMatcher(None, _distinctive(old.agency), _distinctive(new.agency)).ratio()
    if ratio >= RENAME_SIMILARITY:
        return ratio
    # A county's agreement moved from the sheriff to the county board (same county, model, date):
    # the same agreement. Two different state agencies are not, however alike their dates.
    old_place, new_place = jurisdiction_of(old), jurisdiction_of(new)
    if old_place.type != "state" and old_place.key == new_place.key and list_name == "participating":
        return 0.5
    return 0.0


def _distinctive(agency: str) -> str:
    words = [word for word in agency_key(agency).split() if word not in _GENERIC_WORDS]
    return " ".join(words) or agency_key(agency)


def diff(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]], list_name: ListName
) -> Diff:
    """The changes from version ``old`` to ``new`` (both from :func:`snapshot`), in key order."""
    result = Diff()
    added = {key: row_of(new[key]) for key in sorted(set(new) - set(old))}
    removed = {key: row_of(old[key]) for key in sorted(set(old) - set(new))}
    scored = (
        (_same_agreement(old_row, new_row, list_name), old_key, new_key)
        for old_key, old_row in removed.items()
        for new_key, new_row in added.items()
    )
    pairs = sorted((pair for pair in scored if pair[0] > 0), key=lambda pair: (-pair[0], pair[1], pair[2]))
    for _, old_key, new_key in pairs:
        if old_key in removed and new_key in added:
            result.renamed.append((removed.pop(old_key).agency, added.pop(new_key).agency))
    if list_name == "pending":
        result.changes = [
            Change(change="pending_added", event="vote_or_proposal", row=row, list_name=list_name)
            for row in added.values()
        ]
        result.pending_removed = len(removed)
        return result
    agencies_before = {(row_of(r).state, agency_key(str(r["agency"]))) for r in old.values()}
    for row in added.values():
        known = (row.state, agency_key(row.agency)) in agencies_before
        result.changes.append(
            Change(
                change="support_model_added" if known else "added",
                event="renew_or_expand" if known else "sign_or_join",
                row=row,
                list_name=list_name,
            )
        )
    result.changes.extend(
        Change(change="removed", event="terminate", row=row, list_name=list_name) for row in removed.values()
    )
    return result


# --- the words of an item ----------------------------------------------------------------------


def long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def headline(change: Change) -> str:
    """One sentence that reads like the record, e.g. "Polk County Sheriff's Office (FL) signed a
    287(g) Task Force Model agreement on 26 February 2025"."""
    row = change.row
    who = f"{row.agency} ({row.state})"
    on = f" on {long_date(row.date_signed)}" if row.date_signed else ""
    if change.change == "added":
        return f"{who} signed a 287(g) {row.support_model} agreement{on}"
    if change.change == "support_model_added":
        return f"{who} added a 287(g) {row.support_model} agreement{on}"
    if change.change == "removed":
        signed = f", signed {long_date(row.date_signed)}" if row.date_signed else ""
        return f"{who} is no longer listed among 287(g) participating agencies ({row.support_model}{signed})"
    return f"{who} requested a 287(g) {row.support_model} agreement (pending with ICE)"


def configured_jurisdiction(name: str, kind: str, state: str) -> Jurisdiction:
    """A jurisdiction named in configuration (a Legistar client's), with the gazetteer's key."""
    if kind == "state":
        return _state(state)
    if kind == "county":
        return _county(name, state)
    return _place(name, state, kind)
