"""Read one of ICE's 287(g) workbooks (participating or pending agencies) from bytes into clean rows.

ICE publishes the lists as Excel files and edits them by hand, so the reader takes the real-world
mess as normal: the header is found by its column names (a column was added between versions and
trailing empty columns come and go), blank rows are skipped, cells are stripped (``"Sweetwater
County "``), ``#N/A`` means empty, a cell naming two support models becomes two rows, state names
become USPS codes, and the same agency and model listed twice is one row. A row that cannot be
used (no agency, an unknown state or model) is returned as a rejection with its reason, never
silently dropped; a workbook without a required column is a :class:`WorkbookError` (nothing is
read from it). The workbook is parsed with python-calamine from the bytes the HTTP client fetched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from python_calamine import CalamineError, CalamineWorkbook

from pipeline.tagging.gazetteer import load_gazetteer, norm

ListName = Literal["participating", "pending"]

STATE = "STATE"
AGENCY = "LAW ENFORCEMENT AGENCY"
TYPE = "TYPE"
COUNTY = "COUNTY"
SUPPORT_TYPE = "SUPPORT TYPE"
SIGNED = "SIGNED"
REQUIRED_COLUMNS: dict[ListName, tuple[str, ...]] = {
    "participating": (STATE, AGENCY, TYPE, COUNTY, SUPPORT_TYPE, SIGNED),
    "pending": (STATE, AGENCY, TYPE, COUNTY, SUPPORT_TYPE),
}
# The three 287(g) support models, by the first word ICE's cells start with.
SUPPORT_MODELS = {
    "jail": "Jail Enforcement Model",
    "warrant": "Warrant Service Officer",
    "task": "Task Force Model",
}
# Cell values that mean "nothing here".
_EMPTY = frozenset({"", "#n/a", "#na", "n/a", "na", "none", "-"})
# "Jail Enforcement Model / Task Force Model", "... and ...", "...; ...": one row per model.
_MODEL_SPLIT = re.compile(r"\s*(?:/|;|,|&|\band\b|\n)\s*", re.IGNORECASE)
# Excel's day 0 for serial dates (with the 1900 leap-year bug folded in).
_EXCEL_EPOCH = date(1899, 12, 30)
# "05/082025", "7/72025": a slash lost between day and year (seen in the real files).
_LOST_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/?(\d{4})$")
# Rows looked at to find the header (a title line or two may sit above it).
_HEADER_SCAN = 10


class WorkbookError(ValueError):
    """The workbook cannot be read as a 287(g) list; the message says what is wrong and where."""


@dataclass(frozen=True, kw_only=True)
class AgencyRow:
    """One agency and support model on a list, as normalised values."""

    state: str  # USPS code
    agency: str  # as ICE writes it, whitespace collapsed
    agency_type: str  # ICE's TYPE: County, Municipality, State Agency ...
    county: str | None
    support_model: str
    date_signed: date | None = None


@dataclass(kw_only=True)
class ReadWorkbook:
    rows: list[AgencyRow] = field(default_factory=list)
    # "row 12: unknown state 'GAUM'": rows that could not be used (counted in the source's health;
    # the row stays in ICE's file and is read again with the next version).
    rejected: list[str] = field(default_factory=list)
    # Rows kept although a cell could not be read ("row 9: SIGNED '7/7/20255' is not a date").
    notes: list[str] = field(default_factory=list)
    blank_rows: int = 0


def clean(value: object) -> str | None:
    """A cell as text: stripped, single spaces, straight apostrophes; None for empty and ``#N/A``."""
    if value is None:
        return None
    text = " ".join(str(value).replace("’", "'").replace("\u00a0", " ").split())
    return None if text.lower() in _EMPTY else text


def support_models(cell: str) -> list[str]:
    """The support models a SUPPORT TYPE cell names (normal names, in order); ValueError if none."""
    found: list[str] = []
    for part in _MODEL_SPLIT.split(cell):
        word = part.strip().lower().split(" ")[0] if part.strip() else ""
        model = SUPPORT_MODELS.get(word)
        if model is None and part.strip():
            raise ValueError(f"unknown support type {cell!r}")
        if model and model not in found:
            found.append(model)
    if not found:
        raise ValueError(f"unknown support type {cell!r}")
    return found


def signed_date(value: object) -> date | None:
    """The SIGNED cell as a date: Excel dates, serial numbers and the usual text forms."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = clean(value)
    if text is None:
        return None
    lost = _LOST_SLASH.match(text)
    if lost:
        month, day, year = (int(part) for part in lost.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%B %d, %Y", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"SIGNED {text!r} is not a date")


def state_code(name: str) -> str:
    """``"NORTH CAROLINA"`` or ``"NC"`` → ``"NC"``; ValueError for anything else."""
    gazetteer = load_gazetteer()
    place = gazetteer.states_by_name.get(norm(name)) or gazetteer.state(name.strip())
    if place is None:
        raise ValueError(f"unknown state {name!r}")
    return place.state


def _header(rows: Sequence[Sequence[object]], list_name: ListName) -> tuple[int, dict[str, int]]:
    required = REQUIRED_COLUMNS[list_name]
    best: tuple[int, dict[str, int]] = (0, {})
    for number, row in enumerate(rows[:_HEADER_SCAN]):
        columns = {(clean(cell) or "").upper(): i for i, cell in enumerate(row) if clean(cell)}
        if AGENCY in columns:
            best = (number, columns)
            break
    number, columns = best
    missing = [name for name in required if name not in columns]
    if missing:
        found = ", ".join(columns) if columns else "no header row with LAW ENFORCEMENT AGENCY"
        raise WorkbookError(
            f"{list_name} agencies workbook: missing column(s) {', '.join(missing)} (found: {found})"
        )
    return number, columns


def read_workbook(body: bytes, list_name: ListName) -> ReadWorkbook:
    """Clean rows of the workbook's first sheet.

    Raises:
        WorkbookError: not a readable Excel file, or a required column is missing.
    """
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(body))
        if not book.sheet_names:
            raise WorkbookError(f"{list_name} agencies workbook has no sheet")
        table = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except CalamineError as error:
        raise WorkbookError(f"{list_name} agencies workbook cannot be read: {error}") from error
    except (ValueError, OSError) as error:  # calamine reports a zip that is not a workbook this way
        if isinstance(error, WorkbookError):
            raise
        raise WorkbookError(f"{list_name} agencies workbook cannot be read: {error}") from error
    header_row, columns = _header(table, list_name)
    result = ReadWorkbook()
    seen: set[tuple[str, str, str]] = set()
    for offset, raw in enumerate(table[header_row + 1 :]):
        number = header_row + offset + 2  # as Excel numbers rows

        def cell(name: str, raw: Sequence[object] = raw) -> object:
            index = columns.get(name)
            return raw[index] if index is not None and index < len(raw) else None

        if not any(clean(value) for value in raw):
            result.blank_rows += 1
            continue
        agency = clean(cell(AGENCY))
        try:
            if agency is None:
                raise ValueError("no LAW ENFORCEMENT AGENCY")
            state = state_code(clean(cell(STATE)) or "")
            models = support_models(clean(cell(SUPPORT_TYPE)) or "")
        except ValueError as error:
            result.rejected.append(f"row {number}: {error}")
            continue
        signed = None
        if list_name == "participating":
            try:
                signed = signed_date(cell(SIGNED))
            except ValueError as error:  # the agreement is listed all the same: keep it, undated
                result.notes.append(f"row {number}: {error}; kept without a date")
        for model in models:
            key = (state, norm(agency), model)
            if key in seen:
                continue  # the same agency and model listed twice
            seen.add(key)
            result.rows.append(
                AgencyRow(
                    state=state,
                    agency=agency,
                    agency_type=clean(cell(TYPE)) or "",
                    county=clean(cell(COUNTY)),
                    support_model=model,
                    date_signed=signed,
                )
            )
    return result
