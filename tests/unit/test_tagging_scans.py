"""The tagger's fast scans find exactly what the plain regex / substring scans they replace find.

Texts are drawn from a small vocabulary of the words, punctuation and quote marks the patterns
care about, so that near misses (words inside words, matches across quotes and sentence ends,
overlapping literals) come up often.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rules.words import at_word_start
from pipeline.tagging import event, literals, relevance, stance
from pipeline.tagging.lexicons import MultiPattern, PhraseMatcher
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


@given(
    st.text(alphabet="ab .…İ", max_size=30),
    st.lists(st.sampled_from(["a", "aa", "aba", "ab", " ", ". ", "…", "b a", "İ"]), max_size=4),
)
def test_literal_positions_is_every_occurrence(text: str, words: list[str]) -> None:
    expected = sorted({at for w in words for at in range(len(text)) if text.startswith(w, at)})
    assert literal_positions(text, words) == expected


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


# --- lexicon patterns: gates and start words skip only scans that find nothing ----------------

_LEXICON_PIECES = (
    "end", "ends", "ending", "ended", "its", "the", "contract", "agreement", "287(g)", "287 g", "ice",
    "with", "ice", "not", "to", "renew", "won't", "sign", "signed", "an", "left", "drop", "program",
    "approved", "a", "new", "ordinance", "vote", "cooperate", "sanctuary", "city", "cities", "illegal",
    "aliens", "alien", "defies", "defy", "federal", "law", "cruel", "harsh", "immigration", "give",
    "in", "into", "fear", "predators", "caves", "cave", "bow", "pressure", "racially", "profiling",
    "trust", "rebuild", "community", "dangerous", "unsafe", "xend", "endx", "_end", "stop", "abolish",
    "now", "supporters", "argue", "critics", "say", "ice's", "detainers", "homeland", "security",
)  # fmt: skip
_LEXICON_SEPARATORS = (" ", " ", " ", "", ", ", ". ", "\n", "-", "'")


@st.composite
def lexicon_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_LEXICON_PIECES), max_size=40))
    return "".join(w + draw(st.sampled_from(_LEXICON_SEPARATORS)) for w in words)


def _plain_multi(pattern: MultiPattern, text: str) -> list[tuple[int, int]]:
    found = sorted(
        (m.start(), -m.end())
        for _gates, regex, boundary, negatives in pattern.entries
        for m in regex.finditer(text)
        if MultiPattern._ok(text, m.start(), boundary, negatives)
    )
    out: list[tuple[int, int]] = []
    for start, neg_end in found:
        if not out or start >= out[-1][1]:
            out.append((start, -neg_end))
    return out


def _plain_phrases(matcher: PhraseMatcher, text: str) -> list[tuple[int, int, float]]:
    return sorted(
        (m.start(), m.end(), weight)
        for _gates, _starts, regex, weight in matcher.entries
        for m in regex.finditer(text)
        if at_word_start(text, m.start())
    )


_MULTI = (
    event._OBJECT,
    *event._PATTERNS.values(),
    relevance._IMMIGRATION_STRONG,
    relevance._IMMIGRATION,
    relevance._OTHER_SENSE,
    stance._NEG,
    stance._POS,
    stance._COOP,
    stance._LIMIT,
    stance._BALANCE,
)


@settings(max_examples=300, deadline=None)
@given(lexicon_texts())
def test_lexicon_patterns_find_what_a_plain_scan_finds(text: str) -> None:
    for pattern in _MULTI:
        assert pattern.spans(text) == _plain_multi(pattern, text)
    for matcher in (stance._ANTI, stance._PRO):
        assert matcher.finditer(text) == _plain_phrases(matcher, text)
