"""ICE's 287(g) workbooks: reading the real files, the agency's jurisdiction, and the diff of versions.

The real workbooks (eight versions, May-July 2025) are read at test time from the shared folder;
the tests that need them skip when it is absent. Small workbooks are written by tests.support.xlsx.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import pytest

from pipeline.sources.ice287g import diff, headline, jurisdiction_of, snapshot
from pipeline.sources.workbook import AgencyRow, ListName, WorkbookError, read_workbook
from tests.support.shared_sources import ICE_287G
from tests.support.xlsx import xlsx_bytes

REAL = ICE_287G
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real ICE workbooks not available")
PARTICIPATING = ["05292025am", "06272025am", "07092025am", "07182025pm"]
PENDING = ["05302025pm", "06272025am", "07092025am", "07182025pm"]
HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA"]


def _real(list_name: ListName, stamp: str) -> dict[str, dict[str, object]]:
    body = (REAL / f"{list_name}Agencies{stamp}.xlsx").read_bytes()
    return snapshot(read_workbook(body, list_name).rows)


def _row(
    agency: str, agency_type: str = "Municipality", county: str | None = None, state: str = "FL"
) -> AgencyRow:
    return AgencyRow(
        state=state,
        agency=agency,
        agency_type=agency_type,
        county=county,
        support_model="Task Force Model",
        date_signed=date(2025, 2, 26),
    )


@needs_real
def test_the_real_participating_versions_in_order_give_exactly_the_changed_rows() -> None:
    versions = [_real("participating", stamp) for stamp in PARTICIPATING]
    counts = [
        Counter(c.change for c in diff(a, b, "participating").changes)
        for a, b in itertools.pairwise(versions)
    ]
    # 635 -> 737 -> 806 -> 832 rows; figures checked by hand against the files.
    assert counts == [
        Counter(added=92, support_model_added=10, removed=1),
        Counter(added=64, support_model_added=8, removed=1),
        Counter(added=28, support_model_added=2, removed=4),
    ]
    june_july = diff(versions[1], versions[2], "participating")
    removed = {c.row.agency for c in june_july.changes if c.change == "removed"}
    # "City of Miami Springs Police Department" -> "Miami Springs Police Department" and the
    # sheriff -> department of corrections in Okaloosa County are rewordings, not ends.
    assert removed == {"Walworth County Sheriff's Office"}
    assert (
        "Okaloosa County Sheriff's Office",
        "Okaloosa County Department of Corrections",
    ) in june_july.renamed
    july = diff(versions[2], versions[3], "participating")
    renamed = dict(july.renamed)
    assert renamed["Indiatlantic Police Department"] == "Indialantic Police Department"
    assert renamed["Idaho State Police"] == "Idaho State Police Department"
    assert renamed["Escambia County Sheriff's Office"] == "Escambia County Board of County Commissioners"
    ended = {c.row.agency for c in july.changes if c.change == "removed"}
    assert "Jackson County Sheriff's Office" in ended and "Ft. Myers Police Department" not in ended


@needs_real
def test_the_real_pending_versions_give_new_requests_and_similar_names_stay_apart() -> None:
    versions = [_real("pending", stamp) for stamp in PENDING]
    diffs = [diff(a, b, "pending") for a, b in itertools.pairwise(versions)]
    assert [len(d.changes) for d in diffs] == [36, 5, 9]
    assert all(
        c.change == "pending_added" and c.event == "vote_or_proposal" for d in diffs for c in d.changes
    )
    # "Milam County Sheriff's Office" leaving and "Dallam County Sheriff's Office" arriving are two agencies.
    assert diffs[0].renamed == []
    assert "Dallam County Sheriff's Office" in {c.row.agency for c in diffs[0].changes}


@needs_real
def test_a_reordered_resaved_copy_of_a_real_version_changes_nothing() -> None:
    body = (REAL / "participatingAgencies07092025am.xlsx").read_bytes()
    original = read_workbook(body, "participating").rows
    shuffled = sorted(original, key=lambda r: (r.support_model, r.agency[::-1]))
    rewritten = xlsx_bytes(
        [[*HEADER, "ADDENDUM"]]
        + [
            [
                r.state if r.state != "FL" else "FLORIDA",
                r.agency + "  ",
                r.agency_type,
                r.county or "#N/A",
                r.support_model,
                r.date_signed,
                "link",
                None,
            ]
            for r in shuffled
        ]
    )
    again = snapshot(read_workbook(rewritten, "participating").rows)
    assert diff(snapshot(original), again, "participating").changes == []


def test_the_reader_takes_blank_rows_spaces_na_and_two_models_in_one_cell() -> None:
    body = xlsx_bytes(
        [
            ["Agreements as of 1 July"],
            HEADER,
            [None] * 7,
            [
                "FLORIDA",
                "Polk County Sheriff's Office ",
                "County",
                "#N/A",
                "Jail Enforcement Model / Task Force Model ",
                date(2025, 2, 26),
                "link",
            ],
            [
                "NORTH CAROLINA",
                "Gaston County Sheriff’s Office",
                "County",
                "Gaston County ",
                "Warrant Service Officer",
                "05/082025",
                "link pending",
            ],
            [
                "GUAM",
                "Nowhere Police Department",
                "Municipality",
                None,
                "Task Force Model",
                date(2025, 1, 1),
                "link",
            ],
        ]
    )
    read = read_workbook(body, "participating")
    assert [(r.state, r.agency, r.county, r.support_model) for r in read.rows] == [
        ("FL", "Polk County Sheriff's Office", None, "Jail Enforcement Model"),
        ("FL", "Polk County Sheriff's Office", None, "Task Force Model"),
        ("NC", "Gaston County Sheriff's Office", "Gaston County", "Warrant Service Officer"),
    ]
    assert read.rows[2].date_signed == date(2025, 5, 8)
    assert read.blank_rows == 1
    assert read.rejected == ["row 6: unknown state 'GUAM'"]


def test_a_workbook_without_a_required_column_is_a_clear_error() -> None:
    body = xlsx_bytes(
        [
            ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE"],
            ["FLORIDA", "Polk County Sheriff's Office", "County", "Polk County", "Task Force Model"],
        ]
    )
    with pytest.raises(WorkbookError, match=r"participating agencies workbook: missing column\(s\) SIGNED"):
        read_workbook(body, "participating")
    with pytest.raises(WorkbookError, match="cannot be read"):
        read_workbook(b"<html>not a workbook</html>", "pending")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            _row("Polk County Sheriff's Office", "County", "Polk County"),
            ("Polk County", "county", "us-fl-county-polk"),
        ),
        (
            _row("Plaquemines Parish Sheriff's Office", "County", state="LA"),
            ("Plaquemines Parish", "county", "us-la-county-plaquemines-parish"),
        ),
        (
            _row("City of Miami Springs Police Department"),
            ("Miami Springs", "city", "us-fl-city-miami-springs"),
        ),
        (_row("Hialeah Police Department"), ("Hialeah", "city", "us-fl-city-hialeah")),
        (_row("Florida Highway Patrol", "State Agency"), ("Florida", "state", "us-fl-state-florida")),
        (
            _row("Arkansas State Police Department", "Municipality", "Pulaski County", state="AR"),
            ("Arkansas", "state", "us-ar-state-arkansas"),
        ),
        (
            _row("Escambia County Board of County Commissioners", "County", "Escambia County"),
            ("Escambia County", "county", "us-fl-county-escambia"),
        ),
        (
            _row("Lee County Port Authority Police", "County", "Lee County"),
            ("Lee County", "county", "us-fl-county-lee"),
        ),
    ],
)
def test_the_jurisdiction_comes_from_the_agency(row: AgencyRow, expected: tuple[str, str, str]) -> None:
    place = jurisdiction_of(row)
    assert (place.name, place.type, place.key) == expected


def test_a_change_reads_like_the_record() -> None:
    new = snapshot([_row("Polk County Sheriff's Office", "County", "Polk County")])
    (change,) = diff({}, new, "participating").changes
    assert headline(change) == (
        "Polk County Sheriff's Office (FL) signed a 287(g) Task Force Model agreement on 26 February 2025"
    )
    (ended,) = diff(new, {}, "participating").changes
    assert ended.event == "terminate" and "no longer listed" in headline(ended)
