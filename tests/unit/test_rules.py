"""Watchlist rules: behaviour from tests/fixtures/rules/cases.yaml, plus property-based parser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rules.language import (
    And,
    Near,
    Not,
    Or,
    Phrase,
    Rule,
    RuleSet,
    RuleSyntaxError,
    Term,
    parse_rule,
)

pytestmark = pytest.mark.unit

CASES = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "cases.yaml").read_text(encoding="utf-8")
)


def _texts(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _match_cases() -> list[Any]:
    params = []
    for case in CASES["matches"]:
        for text in case.get("match", []):
            params.append(pytest.param(case["rule"], text, True, id=f"{case['rule']} ~ {text}"))
        for text in case.get("no_match", []):
            params.append(pytest.param(case["rule"], text, False, id=f"{case['rule']} !~ {text}"))
    return params


@pytest.mark.parametrize(("rule", "text", "expected"), _match_cases())
def test_rule_matches_as_the_fixture_says(rule: str, text: str | list[str], expected: bool) -> None:
    assert parse_rule(rule).matches(*_texts(text)) is expected


@pytest.mark.parametrize("case", [pytest.param(c, id=repr(c["rule"])) for c in CASES["errors"]])
def test_bad_rule_names_position_and_problem(case: dict[str, Any]) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_rule(case["rule"])
    assert raised.value.position == case["position"]
    assert case["says"] in str(raised.value)
    if case["position"] is not None:
        assert f"position {case['position']}" in str(raised.value)


def test_rule_syntax_error_is_a_value_error() -> None:
    # config.py reports ValueErrors from validators as configuration errors.
    assert issubclass(RuleSyntaxError, ValueError)


def test_precedence_not_then_near_then_and_then_or() -> None:
    assert parse_rule("a b NOT c OR d").root == Or((And((Term("a"), Term("b"), Not(Term("c")))), Term("d")))
    assert parse_rule("NOT a NEAR/3 b").root == Not(Near(Term("a"), Term("b"), 3))
    assert parse_rule("a NEAR/2 b NEAR/3 c").root == Near(Near(Term("a"), Term("b"), 2), Term("c"), 3)
    assert parse_rule("(a OR b) c").root == And((Or((Term("a"), Term("b"))), Term("c")))


def test_term_with_parentheses_inside_is_one_term() -> None:
    assert parse_rule("287(g)").root == Term("287(g)")
    assert parse_rule("(287(g) OR detainer)").root == Or((Term("287(g)"), Term("detainer")))
    assert parse_rule("x (y)").root == And((Term("x"), Term("y")))


def test_ruleset_labels_name_watchlist_and_rule_in_order() -> None:
    class Watchlist:
        def __init__(self, id: str, rules: list[str]) -> None:
            self.id, self.rules = id, rules

    rules = RuleSet.from_watchlists(
        [
            Watchlist("ice", ['"ICE contract"', "287(g)", "ICE AND jail"]),
            Watchlist("sanctuary", ["sanctuary NEAR/5 city"]),
        ]
    )
    assert len(rules) == 4
    labels = rules.match("Glendale ends ICE contract", "The city jail no longer holds detainees for ICE.")
    assert labels == ['ice: "ICE contract"', "ice: ICE AND jail"]
    assert RuleSet.watchlists_of(labels) == ["ice"]
    assert rules.match("ice storm hits city jail") == []
    assert rules.match("Sanctuary city vote", "287(g) renewal") == [
        "ice: 287(g)",
        "sanctuary: sanctuary NEAR/5 city",
    ]


def test_texts_are_kept_apart_for_phrases_and_near() -> None:
    rule = parse_rule('"ICE contract"')
    assert not rule.matches("Council debates ICE", "contract renewal")
    assert parse_rule("ICE AND contract").matches("Council debates ICE", "contract renewal")


def test_es_query_shape() -> None:
    query = parse_rule('ICE AND sanctuary NEAR/5 (city OR "county board") NOT rink').to_es_query(["text"])
    must = query["bool"]["must"]
    # A word in capitals is looked up in the case-preserving subfield (the analyzed field lowercases).
    assert must[0] == {"terms": {"text.cased": ["ICE", "ICE's", "ICE'S", "ICE’s", "ICE’S"]}}
    near = must[1]["span_near"]
    assert near["slop"] == 5 and near["in_order"] is False
    assert near["clauses"][0] == {"span_term": {"text": "sanctuary"}}
    assert near["clauses"][1]["span_or"]["clauses"][1]["span_near"]["slop"] == 0
    assert must[2] == {"bool": {"must_not": [{"match_phrase": {"text": {"query": "rink"}}}]}}
    two_fields = parse_rule("ICE").to_es_query(["title", "text"])
    assert two_fields["bool"]["minimum_should_match"] == 1
    assert len(two_fields["bool"]["should"]) == 2
    with pytest.raises(ValueError):
        parse_rule("ICE").to_es_query([])


# --- property-based ----------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["ICE", "ice", "jail", "county", "287(g)", "détention", "U.S.", "sanctuary", "DHS", "x1", "a_b", "O'Neil"]
)


def _trees() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        _WORDS.map(Term),
        st.lists(_WORDS, min_size=1, max_size=3).map(lambda ws: Phrase(" ".join(ws))),
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        spannable = st.recursive(
            leaves,
            lambda inner: st.one_of(
                st.lists(inner, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs))),
                st.tuples(inner, inner, st.integers(0, 10)).map(lambda t: Near(*t)),
            ),
            max_leaves=4,
        )
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda cs: And(tuple(cs))),
            st.lists(children, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs))),
            children.map(Not),
            spannable,
        )

    return st.recursive(leaves, extend, max_leaves=8)


def _flat(node: Any) -> Any:
    """Nested And(And(..)) / Or(Or(..)) mean the same as flat ones; the parser builds flat ones."""
    if isinstance(node, And | Or):
        children: list[Any] = []
        for child in map(_flat, node.children):
            children.extend(child.children if type(child) is type(node) else (child,))
        return type(node)(tuple(children))
    if isinstance(node, Not):
        return Not(_flat(node.child))
    if isinstance(node, Near):
        return Near(_flat(node.left), _flat(node.right), node.distance)
    return node


@settings(max_examples=300, deadline=None)
@given(_trees())
def test_rendered_tree_parses_back_to_the_same_tree(tree: Any) -> None:
    rule = Rule(text="", root=tree)
    assert parse_rule(str(rule)).root == _flat(tree)


_RULE_ALPHABET = st.sampled_from(
    [*'()"“” \t', "AND", "OR", "NOT", "NEAR/3", "NEAR", "and", "ICE", "jail", "287(g)", "-", "é", "'"]
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_RULE_ALPHABET, max_size=14).map(" ".join)))
def test_parser_fails_only_with_rule_syntax_error_and_round_trips(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RuleSyntaxError as error:
        assert str(error)
        return
    again = parse_rule(str(rule))
    assert again == rule
    assert str(again) == str(rule)
    # Matching never crashes either, and agrees between the original and the canonical form.
    sample = "ICE jail county 287(g) détention NOT and " + text
    assert rule.matches(sample) == again.matches(sample)
    assert isinstance(rule.to_es_query(["text"]), dict)
