"""The lexicon scans try a branch only where its literal prefix occurs, and find exactly what trying
every branch's regex at every position finds (the reference is written out here)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.tagging import event, relevance, stance
from pipeline.tagging.features import ON_OWN_VOICE, ON_TEXT
from pipeline.tagging.lexicons import PhraseMatcher, WordPattern, at_word_start, required_prefixes

pytestmark = pytest.mark.unit

PATTERNS: dict[str, WordPattern] = {
    **{f"relevance.{n}": p for n, p in vars(relevance).items() if isinstance(p, WordPattern)},
    **{f"stance.{n}": p for n, p in vars(stance).items() if isinstance(p, WordPattern)},
    **{f"event.{n}": p for n, p in vars(event).items() if isinstance(p, WordPattern)},
    **{f"event.{n}": p for n, p in event._PATTERNS.items()},
}
MATCHERS: dict[str, PhraseMatcher] = {"anti": stance._ANTI, "pro": stance._PRO}

# Words the lexicons start with, the same inside other words, and what separates them.
_PIECES = (
    "terminate",
    "terminated",
    "unterminated",
    "end",
    "ends",
    "ending",
    "blend",
    "the",
    "contract",
    "agreement",
    "with",
    "ice",
    "ICE",
    "I.C.E.",
    "NOTICE",
    "287(g)",
    "287 (g)",
    "287g",
    "not",
    "won't",
    "renew",
    "renewed",
    "sign",
    "signed",
    "resign",
    "vote",
    "voted",
    "to",
    "new",
    "policy",
    "change",
    "sanctuary",
    "city",
    "county",
    "sheriff",
    "illegal",
    "aliens",
    "immigrants",
    "immigration",
    "deport",
    "deported",
    "fear",
    "mongering",
    "fear-mongering",
    "rule",
    "of",
    "law",
    "caves",
    "caved",
    "bow",
    "bows",
    "pressure",
    "give",
    "giving",
    "in",
    "into",
    "community",
    "trust",
    "abuses",
    "protect",
    "unfortunately",
    "detainers",
    "honor",
    "raid",
    "raided",
    "arrested",
    "12",
    "strengthen",
    "cooperation",
    "keep",
    "safe",
    "from",
    "criminal",
    "predators",
    "_",
    "x",
    "é",
    "alien",
    "detainer",
    "immigrant",
    "hold",
    "holds",
)
_GLUE = (" ", " ", " ", "", "-", ", ", ". ", "\n", "'", "’", '"', "(")


def reference_spans(pattern: WordPattern, text: str) -> list[tuple[int, int]]:
    """``WordPattern.spans`` with every branch tried at every position (no literal index)."""
    found = []
    for regex, boundary, negatives in pattern.branches:
        for start in range(len(text)):
            if boundary and not at_word_start(text, start):
                continue
            if any(text[max(0, start - len(n)) : start] == n for n in negatives):
                continue
            match = regex.match(text, start)
            if match is not None:
                found.append((start, -match.end()))
    out: list[tuple[int, int]] = []
    for start, neg_end in sorted(found):
        if not out or start >= out[-1][1]:
            out.append((start, -neg_end))
    return out


def reference_phrases(matcher: PhraseMatcher, text: str) -> list[tuple[int, int, float]]:
    out = [
        (start, match.end(), weight)
        for (regex, _boundary, _negatives), weight in zip(matcher.branches, matcher.weights, strict=True)
        for start in range(len(text))
        if at_word_start(text, start) and (match := regex.match(text, start)) is not None
    ]
    return sorted(out)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_GLUE)), min_size=1, max_size=40))
def test_literal_index_finds_what_every_branch_finds(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + glue for word, glue in parts)
    for lowered in (text, text.lower()):
        for name, pattern in PATTERNS.items():
            assert pattern.spans(lowered) == reference_spans(pattern, lowered), name
        for name, matcher in MATCHERS.items():
            assert matcher.finditer(lowered) == reference_phrases(matcher, lowered), name


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_GLUE)), min_size=1, max_size=40))
def test_one_pass_for_many_lexicons_finds_what_each_finds_alone(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + glue for word, glue in parts).lower()
    for lexicons in (ON_TEXT, ON_OWN_VOICE):
        found = lexicons.scan(text)
        for member in lexicons.members:
            if isinstance(member, PhraseMatcher):
                assert found.phrases(member) == member.finditer(text)
            else:
                assert isinstance(member, WordPattern)
                assert found.spans(member) == member.spans(text)
                assert found.count(member) == member.count(text)
                assert found.search(member) == member.search(text)


def test_a_branch_without_a_literal_start_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'\\\\w\+ ice' starts with no literal"):
        WordPattern(r"\bsheriff|\w+ ice")


def test_a_lexicon_outside_the_set_is_named_not_missed() -> None:
    with pytest.raises(ValueError, match="not in this set"):
        ON_OWN_VOICE.scan("the sheriff").spans(relevance._LOCAL_ACTOR)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_GLUE)), min_size=1, max_size=40))
def test_ice_as_a_word_is_counted_like_the_plain_regex(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + glue for word, glue in parts)
    assert relevance._ICE_CAPS.count(text) == len(re.findall(r"\bICE\b|\bI\.C\.E\.", text))


@pytest.mark.parametrize(
    ("pattern", "prefixes"),
    [
        ("terminat\\w+", ("terminat",)),
        ("renew\\w*", ("renew",)),
        ("ab?c", ("a",)),  # an optional character is not required
        ("287\\s?\\(", ("287",)),
        ("(?:abus\\w+)\\b", ("abus",)),
        ("(?:won't|will not|refus\\w+ to) renew", ("won't", "will not", "refus")),
        ("defies|defying federal", ("defies", "defying federal")),
        ("(?:(?:strengthen|build)\\w* trust)", ("strengthen", "build")),
        ("(?:ab)?c", ()),  # an optional group: nothing is required
        ("(?:a|b*)c", ()),  # one alternative may be empty
        ("\\w+ ice", ()),
        # a group of plain alternatives is read through: fewer places to try the branch at
        ("(?:with|to) ICE\\b", ("with ICE", "to ICE")),
        ("ice (?:contract|program)s?", ("ice contract", "ice program")),
        (
            "(?:has|have) been (?:mixed|split)",
            ("has been mixed", "has been split", "have been mixed", "have been split"),
        ),
        ("(?:a|b)+c", ("a", "b")),  # the group may repeat: its literals end there
        ("x(?:a|b)?c", ("x",)),
    ],
)
def test_required_prefixes(pattern: str, prefixes: tuple[str, ...]) -> None:
    assert required_prefixes(pattern) == prefixes
