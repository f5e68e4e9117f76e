"""The look-ups that keep tagging time linear in the text's length give the answers of the plain scans
they replaced (a long post once took 41 s to tag: a loop over every span or state per mention)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.tagging import document, jurisdiction, mentions, ranker
from pipeline.tagging.document import _ABBREV_END_RE, _ABBREV_MAX_CHARS, analyse, find_quotes
from pipeline.tagging.gazetteer import load_gazetteer
from pipeline.tagging.jurisdiction import choose_jurisdiction
from pipeline.tagging.lexicons import word_start_matches
from pipeline.tagging.mentions import TakenSpans
from pipeline.tagging.places import find_places

pytestmark = pytest.mark.unit


def _overlaps_any(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)


def test_taken_spans_answer_like_a_scan_of_every_span() -> None:
    rng = random.Random(3)
    for _ in range(300):
        spans = []
        for _ in range(rng.randint(0, 12)):
            a = rng.randint(0, 60)
            spans.append((a, a + rng.randint(0, 15)))  # nested, touching and empty spans too
        taken = TakenSpans(spans)
        for start in range(0, 70, 3):
            for end in (start, start + 1, start + 4, start + 20):
                assert taken.overlaps(start, end) == _overlaps_any(spans, start, end), (spans, start, end)


PARAGRAPH = (
    'Sheriff Lopez said the deal "keeps everyone safe." The county ended its contract. '
    "“We will not hold anyone for ICE,” the board wrote, and critics said “it is late.” "
    "Is that enough? Residents packed the hall. The clerk read “critics said no” aloud."
)


def test_each_copy_of_a_repeated_paragraph_keeps_its_sentences_voices() -> None:
    single = analyse(title="", text=PARAGRAPH)
    repeated = analyse(title="", text="\n\n".join([PARAGRAPH] * 40))
    voices = [(s.text, s.attributed, s.voice) for s in single.sentences]
    # "said" inside a quote does not make the last sentence someone else's words
    assert [attributed for _text, attributed, _voice in voices] == [True, False, True, False, False, False]
    assert [(s.text, s.attributed, s.voice) for s in repeated.sentences] == voices * 40


def test_abbreviation_check_on_a_split_points_last_characters_agrees_with_the_whole_sentence() -> None:
    rng = random.Random(5)
    tokens = ["U.S.", "Calif.", "A.B.C.D.", "Gov.", "J.", "Dr.", "x.", "said.", "W. Va.", "Sept.", "(D.C."]
    for _ in range(2000):
        sentence = " ".join(rng.choice(tokens) for _ in range(rng.randint(1, 5)))
        text = rng.choice(["", "The ", "on "]) + sentence
        end = len(text)
        whole = _ABBREV_END_RE.search(text, 0, end) is not None
        assert (_ABBREV_END_RE.search(text, max(0, end - _ABBREV_MAX_CHARS), end) is not None) == whole, text


_TOPIC_PIECES = (
    "ice",
    "justice",
    "287",
    "(g)",
    "g",
    "287(g)",
    "detainer",
    "detainers",
    "sanctuary",
    "immigrant",
    "deported",
    "homeland security",
    "the",
    "Sheriff",
    "county",
    "ICE",
)
_TOPIC_GLUE = (" ", " ", ". ", "\n", "\n\n", ", ", '"', " “", "” ")


@settings(max_examples=200, deadline=None)
@example(parts=[("the", " "), ("287", "\n"), ("(g)", " "), ("the", " ")])  # a span across paragraphs
@given(
    st.lists(st.tuples(st.sampled_from(_TOPIC_PIECES), st.sampled_from(_TOPIC_GLUE)), min_size=1, max_size=30)
)
def test_immigration_sentences_from_the_lexicon_spans_are_those_of_the_regex(
    parts: list[tuple[str, str]],
) -> None:
    text = "".join(word + glue for word, glue in parts)
    doc = analyse(title="", text=text)
    spans = jurisdiction._IMMIGRATION.spans(doc.lower)
    regex = jurisdiction._IMMIGRATION_RE
    assert jurisdiction._sentences_matching(doc, regex, doc.lower, spans) == jurisdiction._sentences_matching(
        doc, regex, doc.lower
    )


_COUNTY_PIECES = (
    "County",
    "county",
    "Xcounty",
    "County of",
    "county of",
    "Kern",
    "Los Angeles",
    "Counties",
    "Parish",
    "parishes",
    "of",
    "Census Area",
    "COUNTY",
    "McKinley",
    "_County",
    "éCounty",
)


@settings(max_examples=200, deadline=None)
@example(parts=[("Xcounty of", " "), ("County of", " "), ("Kern", ".")])  # a refused match hides none
@given(
    st.lists(
        st.tuples(st.sampled_from(_COUNTY_PIECES), st.sampled_from(_TOPIC_GLUE)), min_size=1, max_size=30
    )
)
def test_word_start_matches_are_those_of_the_pattern_led_by_a_word_boundary(
    parts: list[tuple[str, str]],
) -> None:
    text = "".join(word + glue for word, glue in parts)
    for core in (mentions._COUNTY_SUFFIX_RE, mentions._COUNTY_OF_RE):
        led = re.compile(r"\b" + core.pattern)
        assert [m.span(0) for m in word_start_matches(core, text)] == [m.span(0) for m in led.finditer(text)]
        assert [m.groups() for m in word_start_matches(core, text)] == [
            m.groups() for m in led.finditer(text)
        ]


_QUOTE_PIECES = ("‘", "’", "“", "”", '"', "a", "word", "x‘", "é", "_", "it’s", "O’Brien", "12")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_QUOTE_PIECES), st.sampled_from((*_TOPIC_GLUE, ""))), max_size=30))
def test_quotes_are_those_of_the_pattern_led_by_the_lookbehind(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + glue for word, glue in parts)
    lookbehind_first = re.compile(
        r"“[^”\n]*(?:”|$)|\"[^\"\n]*(?:\"|$)|(?<!\w)‘[^’\n]{0,120}?’(?![A-Za-z])", re.MULTILINE
    )
    assert find_quotes(text) == [m.span() for m in lookbehind_first.finditer(text)]


_VOICE_PIECES = (
    "said",
    "Said",
    "resaid",
    "says",
    "according to",
    "according",
    "called it",
    "called",
    "fear that",
    "aims to",
    "spokeswoman",
    "describes",
    "We",
    "the board",
    "U.S.",
    "Gov.",
    "It",
    "12",
)
_VOICE_GLUE = (" ", " ", ". ", "! ", "? ", "… ", '." ', "\n", "\n\n", ", ", '"', " “", "” ", ".” ")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_VOICE_PIECES), st.sampled_from(_VOICE_GLUE)), max_size=30))
def test_sentences_split_and_attributed_as_by_the_regexes_searched_sentence_by_sentence(
    parts: list[tuple[str, str]],
) -> None:
    """The split scans to each final mark (not a lookbehind tried at every position), and the
    attribution words are found in one scan of the text: the same sentences, the same voices."""
    text = "".join(word + glue for word, glue in parts)
    split_after_mark = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        pieces, cursor = [], start
        for split in split_after_mark.finditer(text, start, end):
            if not _ABBREV_END_RE.search(text, max(cursor, split.start() - _ABBREV_MAX_CHARS), split.start()):
                pieces.append((cursor, split.start()))
                cursor = split.end()
        pieces.append((cursor, end))
        expected = [(a, b) for a, b in pieces if text[a:b].strip()]
        assert document._split_sentences(text, start, end) == expected
    doc = analyse(title="", text=text)
    assert [s.attributed for s in doc.sentences if s.text] == [
        bool(document._ATTRIBUTION_RE.search(doc.masked_lower[s.start : s.end]))
        for s in doc.sentences
        if s.text
    ]


_GOVERNMENT_PIECES = (
    "sheriff",
    "sheriff's",
    "sheriff’s",
    "sheriffs",
    "jail",
    "jails",
    "county commission",
    "county commissioners",
    "board of supervisors",
    "city council",
    "council member",
    "council members",
    "mayor",
    "mayoral",
    "police department",
    "police",
    "xjail",
    "parish",
    "the",
    "sb",
    "h.b.",
    "12",
    "counties",
    "statewide",
    "gov.",
    "governor",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_GOVERNMENT_PIECES), st.sampled_from(_TOPIC_GLUE)), max_size=30))
def test_ranker_government_words_from_one_lexicon_scan_are_those_of_the_regexes(
    parts: list[tuple[str, str]],
) -> None:
    text = "".join(word + glue for word, glue in parts).lower()
    found = ranker._LOCAL_WORDS.scan(text)
    for words, lexicon in (
        (ranker.COUNTY_WORDS, ranker._COUNTY_WORDS),
        (ranker.CITY_WORDS, ranker._CITY_WORDS),
    ):
        assert [a for a, _ in found.spans(lexicon)] == [m.start() for m in re.finditer(words, text)]
    # The state words' bill numbers now share the other branches' "\b": the same matches.
    two_branches = ranker._STATE_WORDS_RE.pattern.replace(
        r"|[sh]\.?b\.? ?\d+)\b", r")\b|\b[sh]\.?b\.? ?\d+\b"
    )
    assert two_branches != ranker._STATE_WORDS_RE.pattern
    assert [m.span() for m in ranker._STATE_WORDS_RE.finditer(text)] == [
        m.span() for m in re.finditer(two_branches, text)
    ]


def test_state_government_words_are_read_when_a_state_is_a_candidate() -> None:
    """The ranker looks for state-government words only when a state is a candidate (their features
    are multiplied by is_state): a state acting still gets them, a city or county never does."""
    gaz = load_gazetteer()
    doc = analyse(
        title="Texas lawmakers pass SB 4",
        text="AUSTIN, Texas — Texas lawmakers passed SB 4, which makes every sheriff honor ICE detainers. "
        "Governor Greg Abbott signed it; the Austin City Council voted against it.",
    )
    finding = find_places(doc, gaz)
    candidates = choose_jurisdiction(doc, finding, gaz.states_by_code).candidates
    rows = dict(
        zip(
            (c.place.kind for c in candidates),
            ranker.candidate_features(doc, finding, candidates),
            strict=True,
        )
    )
    column = ranker.FEATURES.index("state_x_state_words")
    assert rows["state"][column] > 0
    assert rows["place"][column] == 0
