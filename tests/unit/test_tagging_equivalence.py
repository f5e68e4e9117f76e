"""The jurisdiction step's whole-text scans decide each sentence exactly as searching it alone would.

``jurisdiction`` finds immigration and state-government words once per text (``document.analyse``
now searches each sentence plainly, so it needs no reference here); the plain
per-sentence searches they replace are written out here as the reference. Texts are drawn from
the words and marks where the two could part: quotes glued to words, sentence ends, paragraph
breaks inside "287 (g)", abbreviations, and characters that lower-case oddly (İ ı ſ K).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.tagging import jurisdiction, mentions
from pipeline.tagging.document import Document, analyse
from pipeline.tagging.gazetteer import load_gazetteer

pytestmark = pytest.mark.unit

_PIECES = (
    "said", "Said", "says", "according", "to", "according to", "called it", "see it as", "criticized",
    "Xsaid", "saidx", "spokeswoman", "aims to", "we", "our", "I", "my", "press release", "statement",
    "PRESS RELEASE", "ſtatement by", "From the Sheriff:", "news releaſe",
    "ICE", "ice", "Ice", "287", "(g)", "287(g)", "g", "detainers", "sanctuary", "immigration", "deport",
    "homeland security", "Gov.", "GOV", "governor", "Governor", "state's", "State’s", "12", "counties",
    "all", "of", "the", "state law", "State", "Legislature", "executive order", "Mr.", "U.S.", "Dr.",
    "Smith", "Calif.", "Sept.", "Wash.", "Washington.", "A.B.C.", "x.",
    ".", "!", "?", "…", "“", "”", '"', "‘", "’", "(", ")", "[", "]", "—", "İ", "ſ", "K", "ı",
    "é", "Σ",
)  # fmt: skip
_SEPARATORS = (" ", " ", " ", "", "\n", "\n\n", "  ", ". ", '." ')


@st.composite
def documents(draw: st.DrawFn) -> Document:
    words = draw(st.lists(st.sampled_from(_PIECES), max_size=60))
    body = "".join(w + draw(st.sampled_from(_SEPARATORS)) for w in words)
    title = draw(st.sampled_from(("", "Sheriff ends ICE contract", "Statement by the Governor")))
    url = draw(st.sampled_from(("", "https://example.org/news/press-release-ice.html")))
    return analyse(title=title, text=body, url=url)


def _check_topics(doc: Document) -> None:
    topics = jurisdiction._Topics(doc)
    for index, sentence in enumerate(doc.sentences):
        immigration = bool(jurisdiction._IMMIGRATION_RE.search(doc.lower, sentence.start, sentence.end))
        state_gov = bool(jurisdiction._STATE_GOV_RE.search(sentence.text))
        assert topics.immigration(index) == immigration, sentence.text
        assert topics.state_gov(index) == state_gov, sentence.text


@settings(max_examples=300)
@given(documents())
def test_topic_sentences_as_searched_one_by_one(doc: Document) -> None:
    _check_topics(doc)


@pytest.mark.parametrize(
    "body",
    [
        "The county ended 287\n(g) talks.\n\nICE said so.",
        "Officials said“no”to ICE. We said nothing.",
        "The Governor’s office said the state's 12 counties must comply. ICE agreed.",
        "İCE agents and the ſtate law were discussed by the governor. Deportations rose.",
        "Mr. Smith said the Gov. would sign it. According to\nthe sheriff, ICE left.",
    ],
)
def test_tricky_texts(body: str) -> None:
    doc = analyse(title="", text=body)
    _check_topics(doc)


# --- county names before "County": the last words, one space apart ------------------------------

_COUNTY_PIECES = (
    "Los", "Angeles", "Orange", "San", "Bernardino", "Cook", "St.", "Lucie", "Prince", "George's",
    "De", "Kalb", "Dallas", "Harris", "Miami-Dade", "O'Brien", "the", "and", ",", "County", "county",
    "COUNTY", "Parish", "Counties", "Borough", "of", "Xcounty",
)  # fmt: skip


def _reference_counties(doc: Document) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """County mentions before a suffix as mentions.find_counties found them before (sizes 4..1)."""
    from itertools import pairwise

    gaz = load_gazetteer()
    text = doc.text
    out = []
    for match in re.finditer(r"\b(?:County|COUNTY|Parish|PARISH|Borough|BOROUGH)\b", text):
        suffix = match.group().capitalize()
        head = text[max(0, match.start() - 160) : match.start()]
        words = list(re.finditer(r"[A-Za-z][A-Za-z'’.\-]*", head))
        for size in range(min(4, len(words)), 0, -1):
            chunk = words[-size:]
            gap_ok = all(head[a.end() : b.start()] == " " for a, b in pairwise(chunk))
            if not gap_ok or head[chunk[-1].end() :] != " ":
                continue
            name = " ".join(mentions.strip_token(w.group()) if w is chunk[-1] else w.group() for w in chunk)
            found = gaz.counties(f"{name} {suffix}")
            if found:
                start = match.start() - len(head) + chunk[0].start()
                out.append((start, match.end(), text[start : match.end()], tuple(p.key for p in found)))
                break
    return out


def _check_counties(body: str) -> None:
    doc = analyse(title="", text=body)
    found: list[mentions.Mention] = []
    mentions.find_counties(doc, load_gazetteer(), found, [])
    single = [
        (m.start, m.end, m.surface, tuple(p.key for p in m.candidates))
        for m in found
        if "list" not in m.cues and "gov" not in m.cues
    ]
    assert single == _reference_counties(doc)


_COUNTY_SEPARATORS = (" ", " ", " ", ", ", ",", "  ", "-", "\n", ". ")


@settings(max_examples=500)
@given(st.lists(st.tuples(st.sampled_from(_COUNTY_PIECES), st.sampled_from(_COUNTY_SEPARATORS)), max_size=30))
def test_county_names_as_found_before(pieces: list[tuple[str, str]]) -> None:
    _check_counties("".join(word + separator for word, separator in pieces))


@pytest.mark.parametrize(
    "body",
    [
        "Los, Angeles County",
        "in Los, Angeles County",
        "Los Angeles, Orange County",
        "San,Bernardino County and St. Lucie County",
        "Prince George's County, De Kalb County",
        "the  Cook County",
    ],
)
def test_county_names_on_tricky_texts(body: str) -> None:
    _check_counties(body)
