"""The tagger's fast scans find exactly what the plain regex / substring scans they replace find.

Texts are drawn from a small vocabulary of the words, punctuation and quote marks the patterns
care about, so that near misses (words inside words, matches across quotes and sentence ends,
overlapping literals) come up often.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.tagging import literals
from pipeline.tagging.scan import StartScan, literal_positions

pytestmark = pytest.mark.unit

_PIECES = (
    "County", "county", "COUNTY", "Counties", "Parish", "Parishes", "Borough", "of", "Orange", "Cook",
    "St.", "Lake", "Xcounty", "Countyline", "said", "ICE", "ice", "not", "end", "ending", "texans",
    "arkansans", "kansans", "west virginians", "virginians", "south carolinians", "287(g)", "the",
    "Sheriff", "Dallas", "New", "York", "“", "”", '"', "‘", "’", ".", ",", ";", "?", "—", "(", ")",
    "_", "9", "é", "İ",
)  # fmt: skip
_SEPARATORS = (" ", " ", " ", "", "\n", "\n\n", "  ")


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_PIECES), max_size=40))
    return "".join(w + draw(st.sampled_from(_SEPARATORS)) for w in words)


def test_literal_positions_finds_overlapping_occurrences() -> None:
    assert literal_positions("aaaa", ["aa"]) == [0, 1, 2]
    assert literal_positions("arkansans", ["kansans", "ans"]) == [2, 3, 6]
    assert literal_positions("none here", ["xyz"]) == []


_SCANS = (
    (
        r"\b(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH|Counties|COUNTIES|Parishes)\b",
        StartScan(
            r"(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH|Counties|COUNTIES|Parishes)\b",
            ("Count", "COUNT", "Parish", "PARISH", "Borough", "BOROUGH"),
        ),
    ),
    (
        r"\b[Cc]ounty of ((?:[A-Z][A-Za-z'’.\-]*)(?: [A-Z][A-Za-z'’.\-]*){0,3})",
        StartScan(
            r"[Cc]ounty of ((?:[A-Z][A-Za-z'’.\-]*)(?: [A-Z][A-Za-z'’.\-]*){0,3})",
            ("County of ", "county of "),
        ),
    ),
)


@pytest.mark.parametrize(
    "text",
    [
        "Xcounty of County of Orange",
        "Cook County, Lake County and Orange Counties",
        "Countyline County of Cook",
        "county of county of Dallas",
        "",
    ],
)
def test_start_scan_matches_the_boundary_regex_on_tricky_texts(text: str) -> None:
    for plain, scan in _SCANS:
        expected = [(m.span(), m.groups()) for m in re.finditer(plain, text)]
        assert [(m.span(), m.groups()) for m in scan.finditer(text)] == expected


@given(texts())
def test_start_scan_matches_the_boundary_regex(text: str) -> None:
    for plain, scan in _SCANS:
        expected = [(m.span(), m.groups()) for m in re.finditer(plain, text)]
        assert [(m.span(), m.groups()) for m in scan.finditer(text)] == expected


def test_present_reports_registered_literals_only() -> None:
    literals.register(["kansans", "arkansans", "west virginians", "virginians"])
    found = literals.present("two arkansans and west virginians")
    assert {"kansans", "arkansans", "west virginians", "virginians"} <= found
    assert "qqzx-never-registered" not in literals.present("qqzx-never-registered")


@given(texts())
def test_automaton_and_substring_tests_agree(text: str) -> None:
    # Whichever way the literals are found (pyahocorasick or one `in` per literal), the same set.
    literals.register(["county", "count", "ounty of", "ice", "ce", "kansans", "arkansans", "’s", " of "])
    lower = text.lower()
    assert literals.scan(lower) == literals.scan_each(lower)
    assert literals.present(lower) == literals.scan_each(lower)
