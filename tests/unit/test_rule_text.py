"""Rules match the same texts whether the texts are split into words up front or read lazily.

``LazyWords`` (what ``Rule.matches`` and ``RuleSet.match`` use) finds a phrase's first word with a
substring search and reads on from there; ``WordList`` splits every text into words first and is
the reference. Texts and rules are drawn from words that sit on the edges of the word rules:
possessives, mid-word joiners ("U.S.", "ICE.gov", "don't"), words inside words ("NOTICE"),
underscores and digits, capitals, and characters that lower-case oddly.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rules.language import And, Near, Not, Or, Phrase, Term, parse_rule
from pipeline.rules.words import LazyWords, WordList, split_words

pytestmark = pytest.mark.unit

_RULE_WORDS = ("ICE", "ice", "contract", "jail", "287(g)", "U.S", "sanctuary", "county", "city", "s", "a_b")
_TEXT_WORDS = (
    *_RULE_WORDS, "ICE's", "ICE’S", "ice's", "NOTICE", "police", "ICE.gov", "U.S.", "u.s", "don't", "O'Neil",
    "'s", "s's", "287", "(g)", "g", "_", "9", "Contract", "CONTRACTS", "jail's.", "İCE", "Σ", "ΑΣ", "é",
    ".", "..", "'", "’", ",", "—", "\n",
)  # fmt: skip
_SEPARATORS = (" ", " ", "", "  ", "\n", ". ", "'", ".")


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_TEXT_WORDS), max_size=30))
    return "".join(w + draw(st.sampled_from(_SEPARATORS)) for w in words)


def _trees() -> st.SearchStrategy[Any]:
    words = st.sampled_from(_RULE_WORDS)
    leaves = st.one_of(
        words.map(Term), st.lists(words, min_size=1, max_size=3).map(lambda ws: Phrase(" ".join(ws)))
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        spannable = st.recursive(
            leaves,
            lambda inner: st.one_of(
                st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs))),
                st.tuples(inner, inner, st.integers(0, 6)).map(lambda t: Near(*t)),
            ),
            max_leaves=4,
        )
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda cs: And(tuple(cs))),
            children.map(Not),
            spannable,
        )

    return st.recursive(leaves, extend, max_leaves=6)


def _same(tree: Any, texts_: list[str]) -> None:
    lazy, listed = LazyWords.of(texts_), WordList.of(texts_)
    assert tree.matches(lazy) == tree.matches(listed), (tree, texts_)


@settings(max_examples=600, deadline=None)
@given(_trees(), st.lists(texts(), min_size=1, max_size=3))
def test_lazy_words_match_as_the_word_list(tree: Any, texts_: list[str]) -> None:
    _same(tree, texts_)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_RULE_WORDS), st.sampled_from(_RULE_WORDS), st.integers(0, 4), texts())
def test_near_counts_the_same_words(left: str, right: str, distance: int, text: str) -> None:
    _same(Near(Term(left), Term(right), distance), [text])
    _same(Near(Phrase(f"{left} {right}"), Term(right), distance), ["x " + text, text])


@pytest.mark.parametrize(
    ("rule", "texts_", "expected"),
    [
        ("ICE", ["NOTICE of the ICE.gov site"], False),
        ("ICE", ["ICE's contract"], True),
        ("ICE contract", ["ICE’s contract"], True),
        ('"U.S contract"', ["the U.S. contract"], True),
        ('"U.S contract"', ["the U.S.A contract"], False),
        ('"U.S contract"', ["the U.S contract"], True),
        ("contract NEAR/2 jail", ["contract a b jail"], True),
        ("contract NEAR/1 jail", ["contract a b jail"], False),
        ("contract NEAR/5 jail", ["contract", "jail"], False),
        ("jail NEAR/0 contract", ["jail's. contract"], True),
        ("ICE", ["İCE and ice"], False),
        ("ice", ["ΑΣ..ice"], True),
        ("287(g)", ["a 287 (g) b", "287(g"], True),
    ],
)
def test_edge_cases(rule: str, texts_: list[str], expected: bool) -> None:
    parsed = parse_rule(rule)
    assert parsed.matches(*texts_) is expected
    assert parsed.root.matches(WordList.of(texts_)) is expected


def test_possessive_stays_when_it_is_the_whole_word() -> None:
    assert split_words("s's 's x's") == ["s", "s", "x"]
